//! Reporting: the sales and adjustments a user records, the rules both sides run on them, and how a
//! report's journey to METRC reads (its status, the key it went under, what METRC said).
//!
//! Quantities and amounts travel as typed text and are parsed here, so "1,5" or "abc" is a field error
//! with a sentence, never a deserialization failure.

use crate::LicenseNumber;
use crate::api::FieldError;
use serde::{Deserialize, Serialize};

/// METRC's units (`GET /unitsofmeasure/v2/active`), by name.
pub const UNITS: [&str; 6] = [
    "Each",
    "Ounces",
    "Pounds",
    "Grams",
    "Milligrams",
    "Kilograms",
];

/// METRC's `SalesCustomerType` values.
pub const CUSTOMER_TYPES: [&str; 5] = [
    "Consumer",
    "Patient",
    "Caregiver",
    "ExternalPatient",
    "NonResidentConsumer",
];

/// The longest adjustment note METRC accepts.
pub const MAX_NOTE_CHARS: usize = 200;
/// The most lines one receipt may have (bounds the work of one request).
pub const MAX_TRANSACTIONS: usize = 100;
/// The longest package label we accept (METRC's are 24 characters).
pub const MAX_LABEL_CHARS: usize = 64;

/// One line of a sale, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRequest {
    pub package_label: String,
    pub quantity: String,
    pub unit: String,
    pub total_amount: String,
}

/// `POST /api/sales`: a sale at one of the organization's licenses, by the signed-in user. Its `Debug`
/// never shows the patient's license number (personal data).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleRequest {
    pub license_id: i64,
    pub customer_type: String,
    pub transactions: Vec<TransactionRequest>,
    /// Required for a sale to a patient; empty otherwise.
    #[serde(default)]
    pub patient_license_number: String,
}

impl std::fmt::Debug for SaleRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleRequest")
            .field("license_id", &self.license_id)
            .field("customer_type", &self.customer_type)
            .field("transactions", &self.transactions)
            .field(
                "patient_license_number",
                &crate::redacted(&self.patient_license_number),
            )
            .finish()
    }
}

/// A checked line of a sale.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub package_label: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub total_amount: f64,
}

/// A sale that passed the rules. Its `Debug` never shows the patient's license number.
#[derive(Clone, PartialEq)]
pub struct Sale {
    pub license_id: i64,
    pub customer_type: &'static str,
    pub transactions: Vec<Transaction>,
    /// Personal data: stored to be sent, never logged.
    pub patient_license_number: Option<String>,
}

impl std::fmt::Debug for Sale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sale")
            .field("license_id", &self.license_id)
            .field("customer_type", &self.customer_type)
            .field("transactions", &self.transactions)
            .field(
                "patient_license_number",
                &self.patient_license_number.as_deref().map(crate::redacted),
            )
            .finish()
    }
}

fn label_field(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let label = raw.trim();
    if label.is_empty() {
        errors.push(FieldError::new(field, "Enter the package label."));
    } else if label.chars().count() > MAX_LABEL_CHARS
        || !label.chars().all(|c| c.is_ascii_alphanumeric())
    {
        errors.push(FieldError::new(
            field,
            "A package label has letters and digits only, e.g. 1A4402R0010100000000001.",
        ));
    }
    label.to_owned()
}

fn unit_field(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> Option<&'static str> {
    let unit = UNITS.iter().copied().find(|u| *u == raw.trim());
    if unit.is_none() {
        errors.push(FieldError::new(field, "Choose a unit from the list."));
    }
    unit
}

/// A decimal number as typed: digits with at most one `.`, optionally signed when `signed`.
fn number_field(
    field: &str,
    raw: &str,
    what: &str,
    signed: bool,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let text = raw.trim();
    let digits = text.strip_prefix('-').filter(|_| signed).unwrap_or(text);
    let well_formed = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.len() <= 15;
    let value = well_formed.then(|| text.parse::<f64>().ok()).flatten();
    if value.is_none() {
        errors.push(FieldError::new(
            field,
            format!("Enter the {what} as a number, e.g. 3.5."),
        ));
    }
    value
}

impl SaleRequest {
    pub fn parse(&self) -> Result<Sale, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer_type = CUSTOMER_TYPES
            .iter()
            .copied()
            .find(|t| *t == self.customer_type.trim());
        if customer_type.is_none() {
            errors.push(FieldError::new(
                "customer_type",
                "Choose the customer type.",
            ));
        }
        if self.transactions.is_empty() {
            errors.push(FieldError::new(
                "transactions",
                "Add at least one package to the sale.",
            ));
        } else if self.transactions.len() > MAX_TRANSACTIONS {
            errors.push(FieldError::new(
                "transactions",
                format!("A sale has at most {MAX_TRANSACTIONS} lines."),
            ));
        }
        let patient = self.patient_license_number.trim();
        if customer_type == Some("Patient") && patient.is_empty() {
            errors.push(FieldError::new(
                "patient_license_number",
                "Enter the patient's license number.",
            ));
        } else if patient.chars().count() > MAX_LABEL_CHARS
            || !patient
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            errors.push(FieldError::new(
                "patient_license_number",
                "A patient license number has letters, digits and dashes only.",
            ));
        }
        let mut transactions = Vec::new();
        for (i, t) in self.transactions.iter().take(MAX_TRANSACTIONS).enumerate() {
            let field = |name: &str| format!("transactions[{i}].{name}");
            let package_label = label_field(&field("package_label"), &t.package_label, &mut errors);
            let quantity = number_field(
                &field("quantity"),
                &t.quantity,
                "quantity",
                false,
                &mut errors,
            );
            if quantity.is_some_and(|q| q <= 0.0) {
                errors.push(FieldError::new(
                    &field("quantity"),
                    "A quantity sold is more than 0.",
                ));
            }
            let unit = unit_field(&field("unit"), &t.unit, &mut errors);
            let total_amount = number_field(
                &field("total_amount"),
                &t.total_amount,
                "total amount",
                false,
                &mut errors,
            );
            if let (Some(quantity), Some(unit), Some(total_amount)) = (quantity, unit, total_amount)
            {
                transactions.push(Transaction {
                    package_label,
                    quantity,
                    unit,
                    total_amount,
                });
            }
        }
        match (customer_type, errors.is_empty()) {
            (Some(customer_type), true) => Ok(Sale {
                license_id: self.license_id,
                customer_type,
                transactions,
                patient_license_number: (!patient.is_empty()).then(|| patient.to_owned()),
            }),
            _ => Err(errors),
        }
    }
}

/// `POST /api/adjustments`: a package adjustment at one of the organization's licenses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdjustmentRequest {
    pub license_id: i64,
    pub package_label: String,
    /// The signed change, e.g. "-2.5".
    pub quantity: String,
    pub unit: String,
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    pub license_id: i64,
    pub package_label: String,
    pub quantity: f64,
    pub unit: &'static str,
    pub reason: String,
    pub date: String,
    /// `None` when left empty.
    pub note: Option<String>,
}

/// Whether `raw` is a calendar date written `YYYY-MM-DD`.
fn is_date(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return false;
    };
    let number = |s: &str, len: usize| {
        (s.len() == len && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (Some(y), Some(m), Some(d)) = (number(y, 4), number(m, 2), number(d, 2)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (2000..=2100).contains(&y) && (1..=days).contains(&d)
}

impl AdjustmentRequest {
    pub fn parse(&self) -> Result<Adjustment, Vec<FieldError>> {
        let mut errors = Vec::new();
        let package_label = label_field("package_label", &self.package_label, &mut errors);
        let quantity = number_field("quantity", &self.quantity, "quantity", true, &mut errors);
        if quantity == Some(0.0) {
            errors.push(FieldError::new(
                "quantity",
                "An adjustment changes the quantity: enter how much, with a minus sign for a loss.",
            ));
        }
        let unit = unit_field("unit", &self.unit, &mut errors);
        let reason = self.reason.trim().to_owned();
        if reason.is_empty() || reason.chars().count() > 100 || reason.chars().any(char::is_control)
        {
            errors.push(FieldError::new("reason", "Choose the reason."));
        }
        let date = self.date.trim().to_owned();
        if !is_date(&date) {
            errors.push(FieldError::new("date", "Enter the date as YYYY-MM-DD."));
        }
        let note = self.note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            errors.push(FieldError::new(
                "note",
                format!("A note has at most {MAX_NOTE_CHARS} characters."),
            ));
        }
        match (quantity, unit, errors.is_empty()) {
            (Some(quantity), Some(unit), true) => Ok(Adjustment {
                license_id: self.license_id,
                package_label,
                quantity,
                unit,
                reason,
                date,
                note: (!note.is_empty()).then(|| note.to_owned()),
            }),
            _ => Err(errors),
        }
    }
}

/// Sale or adjustment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Sale,
    Adjustment,
}

impl ReportKind {
    pub fn code(self) -> &'static str {
        match self {
            ReportKind::Sale => "sale",
            ReportKind::Adjustment => "adjustment",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [ReportKind::Sale, ReportKind::Adjustment]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// Where a report is on its way to METRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Waiting to be sent (or to be sent again after METRC was unavailable).
    Pending,
    /// METRC has it.
    Sent,
    /// Not sent, and not sent automatically until something changes: no usable key, or METRC refused a
    /// row (its message says why).
    Held,
    /// An adjustment that may or may not have reached METRC: someone must check in METRC.
    OutcomeUnknown,
    /// An admin decided it will not be sent (with a reason).
    Dismissed,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 5] = [
        ReportStatus::Pending,
        ReportStatus::Sent,
        ReportStatus::Held,
        ReportStatus::OutcomeUnknown,
        ReportStatus::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ReportStatus::Pending => "pending",
            ReportStatus::Sent => "sent",
            ReportStatus::Held => "held",
            ReportStatus::OutcomeUnknown => "outcome_unknown",
            ReportStatus::Dismissed => "dismissed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        ReportStatus::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// Why a report is held, as METRC's status and message or our own reason. The sentences the product
/// names ("401 Unauthorized", "No access to {license}", "No credential for {license}").
pub mod reasons {
    pub const UNAUTHORIZED: &str = "401 Unauthorized";
    pub const OUTCOME_UNKNOWN: &str = "Outcome unknown — check METRC";
    pub const PERMISSION_MISSING: &str = "METRC permission missing for this action";
    pub const KEY_UNREADABLE: &str = "Stored key cannot be read — an operator must act";

    pub fn no_access(license: &str) -> String {
        format!("No access to {license}")
    }

    pub fn no_credential(license: &str) -> String {
        format!("No credential for {license}")
    }
}

/// Why a report is held. Written to the store as its sentence ([`HoldReason::text`]) and what it waits
/// for ([`HoldReason::held_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    /// The user's own key is invalid: what METRC answered a report sent with it.
    Unauthorized,
    /// The user's own key no longer reaches this license.
    NoAccess(LicenseNumber),
    /// No key covers the license: no credential of the user's, and no default key reaching it.
    NoCredential(LicenseNumber),
    /// The stored key cannot be opened by this server (its server key is gone from `CREDENTIAL_KEYS`, or
    /// the row is damaged): an operator must act, not the user.
    KeyUnreadable,
    /// METRC took the key but refused the call: a permission is missing in METRC.
    PermissionMissing,
    /// METRC refused the report's content: its own messages.
    Refused(String),
}

impl HoldReason {
    /// The sentence stored and shown.
    pub fn text(&self) -> String {
        match self {
            HoldReason::Unauthorized => reasons::UNAUTHORIZED.to_owned(),
            HoldReason::NoAccess(license) => reasons::no_access(license.as_str()),
            HoldReason::NoCredential(license) => reasons::no_credential(license.as_str()),
            HoldReason::KeyUnreadable => reasons::KEY_UNREADABLE.to_owned(),
            HoldReason::PermissionMissing => reasons::PERMISSION_MISSING.to_owned(),
            HoldReason::Refused(messages) => messages.clone(),
        }
    }

    /// What the report waits for: a usable key (it goes again by itself once one covers it), or a person
    /// to fix or dismiss it.
    pub fn held_for(&self) -> HeldFor {
        match self {
            HoldReason::Unauthorized
            | HoldReason::NoAccess(_)
            | HoldReason::NoCredential(_)
            | HoldReason::KeyUnreadable => HeldFor::Key,
            HoldReason::PermissionMissing | HoldReason::Refused(_) => HeldFor::Fix,
        }
    }
}

/// What a held report waits for, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldFor {
    /// A usable key.
    Key,
    /// A person.
    Fix,
}

impl HeldFor {
    pub fn code(self) -> &'static str {
        match self {
            HeldFor::Key => "key",
            HeldFor::Fix => "fix",
        }
    }
}

/// The key a report went (or was to go) under: never which key, only whose kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyUsed {
    /// The recorder's own credential.
    Credential,
    /// The organization's default key for the state.
    Default,
}

impl KeyUsed {
    pub fn code(self) -> &'static str {
        match self {
            KeyUsed::Credential => "credential",
            KeyUsed::Default => "default",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [KeyUsed::Credential, KeyUsed::Default]
            .into_iter()
            .find(|k| k.code() == code)
    }
}

/// A report as its recorder and Compliance Management see it. Never a key: which key it went under is
/// "own" (with the credential's label) or "default".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportView {
    pub id: i64,
    pub kind: ReportKind,
    pub license_number: LicenseNumber,
    /// The receipt's `ExternalReceiptNumber` (sales only).
    pub external_number: Option<String>,
    pub status: ReportStatus,
    /// Once a key was chosen: the recorder's own or the default key.
    pub key_used: Option<KeyUsed>,
    /// METRC's status code or our hold reason, and its message.
    pub reason: Option<String>,
    /// Unix seconds.
    pub recorded_at: i64,
    pub sent_at: Option<i64>,
}

impl ReportView {
    /// Which key it went (or was to go) under, as the pages say it.
    pub fn key_label(&self) -> &'static str {
        match self.key_used {
            Some(KeyUsed::Credential) => "own key",
            Some(KeyUsed::Default) => "default key",
            None => "—",
        }
    }
}

impl ReportStatus {
    /// What the pages say.
    pub fn label(self) -> &'static str {
        match self {
            ReportStatus::Pending => "Pending",
            ReportStatus::Sent => "Sent",
            ReportStatus::Held => "Held",
            ReportStatus::OutcomeUnknown => "Outcome unknown",
            ReportStatus::Dismissed => "Dismissed",
        }
    }
}

/// `POST /api/sales` and `POST /api/adjustments` answer with the recorded report.
pub type Recorded = ReportView;

/// A report as Compliance Management lists it: not sent (pending, held, outcome unknown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceReport {
    pub report: ReportView,
    /// Who recorded it.
    pub user: String,
}

/// `GET /api/admin/compliance`: the organization's reports that are not sent, oldest first, and how many
/// there are for each reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompliancePage {
    pub reports: Vec<ComplianceReport>,
    /// `(reason, count)`, most frequent first; "Waiting to be sent" for pending ones.
    pub counts: Vec<(String, i64)>,
}

/// `POST /api/admin/compliance/{id}/resend` and `…/resend-default` (the body is optional).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResendRequest {
    /// For an adjustment whose outcome is unknown: the admin looked in METRC and it is not there.
    #[serde(default)]
    pub checked_not_in_metrc: bool,
}

/// What Compliance Management says about resending an adjustment whose outcome is unknown.
pub mod resend {
    /// The refusal when the admin did not say they checked.
    pub const CHECK_METRC_FIRST: &str = "METRC may already have applied this adjustment: look for it in METRC first, and resend it only if it is not there (confirm that you checked). Nothing was changed.";
    /// The dialog's question and confirmation.
    pub const TITLE: &str = "Is this adjustment in METRC?";
    pub const CONFIRM: &str = "I checked METRC: this adjustment is not there";

    pub fn body(what: &str) -> String {
        format!(
            "METRC may already have applied {what}: its answer was lost. Look for it in METRC first. Resend it only if it is not there — a second copy would change the package's quantity twice."
        )
    }
}

/// The reason a pending report is counted under.
pub const WAITING: &str = "Waiting to be sent";

/// The longest dismissal reason we keep.
pub const MAX_DISMISS_REASON: usize = 500;

/// `POST /api/admin/compliance/{id}/dismiss`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DismissRequest {
    pub reason: String,
}

impl DismissRequest {
    pub fn parse(&self) -> Result<&str, Vec<FieldError>> {
        let reason = self.reason.trim();
        if reason.is_empty() {
            Err(vec![FieldError::new(
                "reason",
                "Say why this report will not be sent: the audit log keeps it.",
            )])
        } else if reason.chars().count() > MAX_DISMISS_REASON {
            Err(vec![FieldError::new(
                "reason",
                format!("A reason has at most {MAX_DISMISS_REASON} characters."),
            )])
        } else {
            Ok(reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(label: &str, quantity: &str, unit: &str, amount: &str) -> TransactionRequest {
        TransactionRequest {
            package_label: label.into(),
            quantity: quantity.into(),
            unit: unit.into(),
            total_amount: amount.into(),
        }
    }

    #[test]
    fn a_sale_reports_every_bad_line_field() {
        let errors = SaleRequest {
            license_id: 1,
            customer_type: "Tourist".into(),
            transactions: vec![line("", "-1", "Bushels", "1,50")],
            patient_license_number: String::new(),
        }
        .parse()
        .expect_err("bad");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "customer_type",
                "transactions[0].package_label",
                "transactions[0].quantity",
                "transactions[0].unit",
                "transactions[0].total_amount"
            ]
        );
    }

    #[test]
    fn a_sale_to_a_patient_names_the_patients_license() {
        let mut request = SaleRequest {
            license_id: 7,
            customer_type: "Patient".into(),
            transactions: vec![line("1A4402R0010100000000001", "1", "Grams", "10")],
            patient_license_number: " ".into(),
        };
        let fields: Vec<String> = request
            .parse()
            .expect_err("required")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["patient_license_number"]);
        request.patient_license_number = " CO-P-12345 ".into();
        assert_eq!(
            request
                .parse()
                .expect("valid")
                .patient_license_number
                .as_deref(),
            Some("CO-P-12345")
        );
        request.patient_license_number = "a b".into();
        assert!(request.parse().is_err());
    }

    #[test]
    fn a_good_sale_is_trimmed_and_numeric() {
        let sale = SaleRequest {
            license_id: 7,
            customer_type: " Consumer ".into(),
            transactions: vec![line(" 1A4402R0010100000000001 ", "3.5", "Grams", "42")],
            patient_license_number: String::new(),
        }
        .parse()
        .expect("valid");
        assert_eq!(sale.customer_type, "Consumer");
        assert_eq!(
            sale.transactions[0].package_label,
            "1A4402R0010100000000001"
        );
        assert_eq!(sale.transactions[0].quantity, 3.5);
        assert_eq!(sale.transactions[0].total_amount, 42.0);
    }

    #[test]
    fn an_adjustment_is_signed_dated_and_its_note_bounded() {
        let mut request = AdjustmentRequest {
            license_id: 1,
            package_label: "1A4402R0010100000000001".into(),
            quantity: "-2.5".into(),
            unit: "Grams".into(),
            reason: "Drying".into(),
            date: "2026-02-29".into(),
            note: "x".repeat(MAX_NOTE_CHARS + 1),
        };
        let fields: Vec<String> = request
            .parse()
            .expect_err("bad")
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["date", "note"]);
        request.date = "2028-02-29".into();
        request.note = "  ".into();
        let ok = request.parse().expect("valid");
        assert_eq!(ok.quantity, -2.5);
        assert_eq!(ok.note, None);
        request.quantity = "0".into();
        assert!(request.parse().is_err());
    }

    #[test]
    fn numbers_are_plain_decimals() {
        let mut errors = Vec::new();
        for bad in ["", ".", "1.2.3", "1e5", "NaN", "inf", "--1", "1,5", "0x10"] {
            assert_eq!(
                number_field("q", bad, "q", true, &mut errors),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            number_field("q", "-0.25", "q", true, &mut errors),
            Some(-0.25)
        );
        assert_eq!(number_field("q", "-1", "q", false, &mut errors), None);
    }

    #[test]
    fn a_dismissal_needs_a_reason() {
        let request = |reason: &str| DismissRequest {
            reason: reason.into(),
        };
        assert!(request("  ").parse().is_err());
        assert!(
            request(&"x".repeat(MAX_DISMISS_REASON + 1))
                .parse()
                .is_err()
        );
        assert_eq!(
            request(" Sale voided at the register ").parse(),
            Ok("Sale voided at the register")
        );
    }

    #[test]
    fn statuses_and_kinds_round_trip() {
        for s in ReportStatus::ALL {
            assert_eq!(ReportStatus::from_code(s.code()), Some(s));
        }
        assert_eq!(ReportKind::from_code("sale"), Some(ReportKind::Sale));
        assert_eq!(ReportKind::from_code("refund"), None);
    }
}
