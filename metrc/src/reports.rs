//! Reporting to METRC: sales receipts and package adjustments, sent so that nothing is lost and no
//! sale is reported twice.
//!
//! - Batches of at most 10 objects (METRC answers 413 above that).
//! - METRC takes a batch whole or not at all; when it names bad rows, those rows are `Rejected` with its
//!   messages and the rest are sent again at once.
//! - A POST is never retried blindly. After an ambiguous failure (a timeout, a dropped connection, a
//!   500) each receipt is looked up by its `ExternalReceiptNumber`: found means sent; the others are sent
//!   again. Adjustments cannot be looked up, so after an ambiguous failure they are `OutcomeUnknown` and
//!   never sent again by us. A 429 or a 503 means METRC did not take the batch: it is sent again after a
//!   pause, inside the deadline.

use serde::{Deserialize, Serialize};

/// The most objects METRC takes in one POST.
pub const MAX_BATCH: usize = 10;

/// One line of a sales receipt, in METRC's field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Transaction {
    pub package_label: String,
    pub quantity: f64,
    pub unit_of_measure: String,
    pub total_amount: f64,
}

/// A sales receipt, in METRC's field names. `sales_date_time` is the facility's local wall clock. Its
/// `Debug` never shows the patient's license number.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Receipt {
    pub sales_date_time: String,
    pub external_receipt_number: String,
    pub sales_customer_type: String,
    pub transactions: Vec<Transaction>,
    /// A patient's license number, on a sale to a patient. Personal data: never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient_license_number: Option<String>,
}

impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receipt")
            .field("sales_date_time", &self.sales_date_time)
            .field("external_receipt_number", &self.external_receipt_number)
            .field("sales_customer_type", &self.sales_customer_type)
            .field("transactions", &self.transactions)
            .field(
                "patient_license_number",
                &self.patient_license_number.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// A package adjustment, in METRC's field names. `quantity` is the signed change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Adjustment {
    pub label: String,
    pub quantity: f64,
    pub unit_of_measure: String,
    pub adjustment_reason: String,
    pub adjustment_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_note: Option<String>,
}

/// What became of one receipt or adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// METRC has it.
    Accepted,
    /// METRC refused it, with its messages; it needs fixing before it is sent again.
    Rejected(Vec<String>),
    /// It may or may not have reached METRC, and cannot be checked: someone must look in METRC.
    OutcomeUnknown,
    /// It may have reached METRC and METRC could not be asked yet (a receipt whose lookup failed): it must
    /// be looked up, never posted blind, before it is sent again.
    Unsettled,
    /// It was not sent, for this reason (METRC unavailable or rate-limiting past the deadline, the key
    /// refused, …); it can be sent again later.
    NotSent(crate::MetrcError),
}

/// What one POST came to.
#[derive(Debug)]
pub(crate) enum Posted {
    Accepted,
    /// `(row, message)` for each problem METRC named; the batch was not taken.
    RowErrors(Vec<(usize, String)>),
    /// The whole batch was refused with one message.
    WholeRejected(String),
    /// METRC may or may not have taken the batch.
    Ambiguous(String),
    /// METRC did not take the batch and it may be sent again (after `Retry-After`, when given).
    NotTaken(crate::MetrcError),
    /// A final refusal for every object (the key, the license, an unexpected answer).
    Refused(crate::MetrcError),
}

/// Reads METRC's 400 body: the row array, or the whole-request message.
pub(crate) fn read_400(body: &[u8]) -> Posted {
    #[derive(serde::Deserialize)]
    struct Row {
        row: usize,
        message: String,
    }
    #[derive(serde::Deserialize)]
    struct Whole {
        #[serde(rename = "Message")]
        message: String,
    }
    if let Ok(rows) = serde_json::from_slice::<Vec<Row>>(body)
        && !rows.is_empty()
    {
        return Posted::RowErrors(rows.into_iter().map(|r| (r.row, r.message)).collect());
    }
    match serde_json::from_slice::<Whole>(body) {
        Ok(whole) => Posted::WholeRejected(whole.message),
        Err(_) => Posted::WholeRejected("METRC refused the batch without saying why.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn metrcs_row_errors_and_whole_messages_are_read() {
        match read_400(br#"[{"row": 1, "message": "bad unit"}, {"row": 1, "message": "no stock"}]"#)
        {
            Posted::RowErrors(rows) => {
                assert_eq!(rows, [(1, "bad unit".into()), (1, "no stock".into())])
            }
            other => panic!("{other:?}"),
        }
        match read_400(br#"{"Message": "licenseNumber is required."}"#) {
            Posted::WholeRejected(message) => assert_eq!(message, "licenseNumber is required."),
            other => panic!("{other:?}"),
        }
        assert!(matches!(read_400(b"<html>"), Posted::WholeRejected(_)));
        assert!(matches!(read_400(b"[]"), Posted::WholeRejected(_)));
    }

    #[test]
    fn receipts_serialize_with_metrcs_field_names() {
        let receipt = Receipt {
            sales_date_time: "2026-11-27T14:05:09.000".into(),
            external_receipt_number: "R-1".into(),
            sales_customer_type: "Consumer".into(),
            transactions: vec![Transaction {
                package_label: "1A4".into(),
                quantity: 1.0,
                unit_of_measure: "Grams".into(),
                total_amount: 10.0,
            }],
            patient_license_number: None,
        };
        let json = serde_json::to_value(&receipt).expect("serialises");
        assert_eq!(json["ExternalReceiptNumber"], "R-1");
        assert_eq!(json["Transactions"][0]["PackageLabel"], "1A4");
        assert_eq!(json["Transactions"][0]["UnitOfMeasure"], "Grams");
    }

    proptest! {
        #[test]
        fn no_400_body_makes_the_reader_panic(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = read_400(&body);
        }
    }
}
