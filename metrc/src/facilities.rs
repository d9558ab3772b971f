//! `GET /facilities/v2/`: the wire shape, read tolerantly.
//!
//! METRC adds fields over the years (2024's answers lack `FacilityId`, `Email`,
//! `License.EmployeeLicenseNumber` …), so every field is optional and unknown ones are ignored. We
//! need only the license number (and the name, to show what a key reaches).

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct FacilityWire {
    #[serde(rename = "Name", default)]
    name: Option<String>,
    #[serde(rename = "DisplayName", default)]
    display_name: Option<String>,
    #[serde(rename = "License", default)]
    license: Option<LicenseWire>,
}

#[derive(Debug, Deserialize)]
struct LicenseWire {
    #[serde(rename = "Number", default)]
    number: Option<String>,
}

/// A facility a key reaches: its license number exactly as METRC returns it (trimmed), and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachedFacility {
    pub license_number: String,
    pub name: String,
}

/// Reads a facilities answer. `None` when the body is not a JSON array of objects; elements without a
/// license number are skipped (they cannot match a license).
pub fn parse(body: &[u8]) -> Option<Vec<ReachedFacility>> {
    let list: Vec<FacilityWire> = serde_json::from_slice(body).ok()?;
    Some(
        list.into_iter()
            .filter_map(|f| {
                let number = f.license?.number?.trim().to_owned();
                if number.is_empty() {
                    return None;
                }
                let name = f.display_name.or(f.name).unwrap_or_default();
                Some(ReachedFacility {
                    license_number: number,
                    name: name.trim().to_owned(),
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The element shape METRC documents for 2026.
    const SHAPE_2026: &str = r#"[{
        "FacilityId": 2, "HireDate": "0001-01-01", "IsOwner": false, "IsManager": true,
        "IsFinancialContact": false, "Email": null, "Occupations": [],
        "Name": "Dispensary LLC", "Alias": "Med Store", "DisplayName": "Med Store",
        "CredentialedDate": "2012-08-15", "SupportActivationDate": null, "SupportExpirationDate": null,
        "FacilityType": { "IsMedical": true, "IsRetail": true, "IsHemp": false,
                          "CanSellToConsumers": true, "CanSellToPatients": true },
        "License": { "Number": "402-X0002", "EmployeeLicenseNumber": "402-X0002",
                     "StartDate": "2012-08-15", "EndDate": "2015-11-15", "LicenseType": "Medical Dispensary" },
        "AllowTransferOfOnHoldPackages": null, "AllowTransferOfOnRecallPackages": null
    }]"#;

    /// 2024's shape: no FacilityId, Email, EmployeeLicenseNumber or AllowTransferOf… fields.
    const SHAPE_2024: &str = r#"[{
        "HireDate": "0001-01-01", "IsOwner": false, "IsManager": true, "Occupations": [],
        "Name": "Dispensary LLC", "Alias": "Med Store", "DisplayName": "Med Store",
        "CredentialedDate": "2012-08-15", "SupportActivationDate": null, "SupportExpirationDate": null,
        "FacilityType": { "IsMedical": true },
        "License": { "Number": " SF-SBX-CO-3-8002 ", "StartDate": "2012-08-15", "EndDate": "2015-11-15",
                     "LicenseType": "Medical Dispensary" }
    }]"#;

    #[test]
    fn the_2026_shape_reads() {
        assert_eq!(
            parse(SHAPE_2026.as_bytes()),
            Some(vec![ReachedFacility {
                license_number: "402-X0002".into(),
                name: "Med Store".into()
            }])
        );
    }

    #[test]
    fn the_2024_shape_reads_and_numbers_are_trimmed() {
        let got = parse(SHAPE_2024.as_bytes()).expect("parses");
        assert_eq!(got[0].license_number, "SF-SBX-CO-3-8002");
    }

    #[test]
    fn missing_and_null_fields_are_tolerated() {
        let body = r#"[{"License": {"Number": "A-1"}}, {"Name": "no license"}, {"License": null},
                       {"License": {"Number": null}}, {"License": {"Number": "  "}}, {}]"#;
        let got = parse(body.as_bytes()).expect("parses");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].license_number, "A-1");
        assert_eq!(got[0].name, "");
    }

    #[test]
    fn an_empty_list_is_a_key_that_reaches_nothing() {
        assert_eq!(parse(b"[]"), Some(vec![]));
    }

    #[test]
    fn bodies_that_are_not_a_list_of_facilities_are_refused() {
        for body in [
            "",
            "{}",
            "null",
            "[1, 2]",
            "[{\"License\": 5}]",
            "<html>",
            "[{\"Name\": ",
        ] {
            assert_eq!(parse(body.as_bytes()), None, "{body:?}");
        }
    }

    proptest! {
        #[test]
        fn no_body_makes_the_parser_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&body);
        }

        #[test]
        fn no_json_shaped_text_makes_the_parser_panic(body in r#"[\[\]{}",:A-Za-z0-9 ]{0,200}"#) {
            let _ = parse(body.as_bytes());
        }
    }
}
