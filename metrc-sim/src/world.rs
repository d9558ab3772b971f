//! What the simulator knows: per state, the vendor keys, the user keys and the facilities each reaches.
//!
//! Written from METRC's documentation (docs/metrc.md in the shared reference), not from our client, so
//! that the two cannot agree on a mistake.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One METRC instance (one state).
#[derive(Debug, Clone, Default)]
pub struct StateWorld {
    pub vendor_keys: BTreeSet<String>,
    /// User keys, live and revoked.
    pub user_keys: BTreeMap<String, UserKey>,
    /// Facilities by license number.
    pub facilities: BTreeMap<String, Facility>,
    /// The state's package adjustment reasons.
    pub adjust_reasons: Vec<AdjustReason>,
    /// Packages by (license number, label).
    pub packages: BTreeMap<(String, String), crate::reports::Package>,
    /// Sales receipts accepted, in order.
    pub receipts: Vec<crate::reports::Recorded>,
    /// Package adjustments accepted, in order.
    pub adjustments: Vec<crate::reports::Recorded>,
    /// The last id handed out for an accepted object.
    pub last_id: u64,
}

/// A package adjustment reason, as `GET /packages/v2/adjust/reasons` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustReason {
    pub name: String,
    pub requires_note: bool,
    pub requires_waste_weight: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKey {
    /// License numbers of the facilities this key's METRC user can reach.
    pub facilities: BTreeSet<String>,
    pub revoked: bool,
}

/// A facility (license) as METRC describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    pub license_number: String,
    pub name: String,
    pub license_type: String,
}

/// Why a request is refused with 401. (The body stays empty, as METRC's does.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    MissingOrMalformed,
    UnknownVendorKey,
    UnknownUserKey,
    RevokedUserKey,
    /// A license-scoped call for a license the key does not reach.
    LicenseNotReached,
}

impl StateWorld {
    /// The facilities a vendor key and user key pair reaches, or why the pair is refused.
    pub fn authenticate(&self, vendor: &str, user: &str) -> Result<&UserKey, AuthFailure> {
        if !self.vendor_keys.contains(vendor) {
            return Err(AuthFailure::UnknownVendorKey);
        }
        match self.user_keys.get(user) {
            None => Err(AuthFailure::UnknownUserKey),
            Some(key) if key.revoked => Err(AuthFailure::RevokedUserKey),
            Some(key) => Ok(key),
        }
    }

    /// The `GET /facilities/v2/` body for a key: METRC's 2026 element shape.
    pub fn facilities_json(&self, key: &UserKey) -> serde_json::Value {
        let list: Vec<serde_json::Value> = key
            .facilities
            .iter()
            .filter_map(|number| self.facilities.get(number))
            .enumerate()
            .map(|(i, f)| facility_json(i + 1, f))
            .collect();
        serde_json::Value::Array(list)
    }
}

impl StateWorld {
    /// The adjustment reasons in METRC's shape.
    pub fn adjust_reasons_json(&self) -> Vec<serde_json::Value> {
        self.adjust_reasons
            .iter()
            .map(|r| {
                serde_json::json!({
                    "Name": r.name,
                    "RequiresNote": r.requires_note,
                    "RequiresWasteWeight": r.requires_waste_weight,
                    "RequiresImmatureWasteWeight": false,
                    "RequiresMatureWasteWeight": false,
                })
            })
            .collect()
    }
}

/// METRC's active units of measure (`GET /unitsofmeasure/v2/active`): a bare array.
pub fn units_json() -> serde_json::Value {
    let unit = |kind: &str, name: &str, abbreviation: &str| serde_json::json!({ "QuantityType": kind, "Name": name, "Abbreviation": abbreviation });
    serde_json::Value::Array(vec![
        unit("CountBased", "Each", "ea"),
        unit("WeightBased", "Ounces", "oz"),
        unit("WeightBased", "Pounds", "lb"),
        unit("WeightBased", "Grams", "g"),
        unit("WeightBased", "Milligrams", "mg"),
        unit("WeightBased", "Kilograms", "kg"),
    ])
}

/// METRC's v2 list envelope. `page` is (1-based number, size); `None` is one page of everything.
pub fn paged(records: Vec<serde_json::Value>, page: Option<(usize, usize)>) -> serde_json::Value {
    let total = records.len();
    let (number, size) = page.unwrap_or((1, total.max(1)));
    let data: Vec<serde_json::Value> = records
        .into_iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .collect();
    serde_json::json!({
        "Data": data,
        "Total": total,
        "TotalRecords": total,
        "PageSize": size,
        "RecordsOnPage": data.len(),
        "Page": number,
        "CurrentPage": number,
        "TotalPages": total.div_ceil(size),
    })
}

/// One element of `GET /facilities/v2/`, with the fields METRC's 2026 documentation lists.
fn facility_json(id: usize, f: &Facility) -> serde_json::Value {
    serde_json::json!({
        "FacilityId": id,
        "HireDate": "0001-01-01",
        "IsOwner": false,
        "IsManager": true,
        "IsFinancialContact": false,
        "Email": null,
        "Occupations": [],
        "Name": f.name,
        "Alias": f.name,
        "DisplayName": f.name,
        "CredentialedDate": "2024-01-15",
        "SupportActivationDate": null,
        "SupportExpirationDate": null,
        "FacilityType": {
            "IsMedical": false,
            "IsRetail": true,
            "IsHemp": false,
            "CanSellToConsumers": true,
            "CanSellToPatients": false,
            "CanSellToCaregivers": false,
            "CanSellToExternalPatients": false,
            "CanTransferFromExternalFacilities": false,
            "CanGrowPlants": false,
            "CanCreateOpeningBalancePackages": false,
            "CanReportHarvestSchedules": false,
            "CanReportPatientCheckIns": false
        },
        "License": {
            "Number": f.license_number,
            "EmployeeLicenseNumber": f.license_number,
            "StartDate": "2024-01-15",
            "EndDate": "2027-01-14",
            "LicenseType": f.license_type
        },
        "AllowTransferOfOnHoldPackages": null,
        "AllowTransferOfOnRecallPackages": null
    })
}

/// A recorded receipt as `GET /sales/v2/receipts/external/{number}` returns it.
pub fn receipt_json(receipt: &crate::reports::Recorded) -> serde_json::Value {
    let body = &receipt.body;
    let lines = body["Transactions"].as_array().cloned().unwrap_or_default();
    let total: f64 = lines.iter().filter_map(|l| l["TotalAmount"].as_f64()).sum();
    serde_json::json!({
        "Id": receipt.id,
        "ReceiptNumber": format!("{:010}", receipt.id),
        "ExternalReceiptNumber": body["ExternalReceiptNumber"],
        "SalesDateTime": body["SalesDateTime"],
        "SalesCustomerType": body["SalesCustomerType"],
        "TotalPackages": lines.len(),
        "TotalPrice": total,
        "Transactions": lines,
        "IsFinal": false,
        "ArchivedDate": null,
        "RecordedDateTime": "2026-01-01T00:00:00+00:00",
        "RecordedByUserName": null,
        "LastModified": "2026-01-01T00:00:00+00:00",
    })
}
