//! Sales receipts and package adjustments against the simulator's HTTP surface.

use crate::demo;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use metrc_sim::demo::{CO_BOTH, CO_COLFAX_ONLY, COLFAX, PEARL, VENDOR_KEY, package_label};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post(base: &str, path: &str, key: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header(
            "authorization",
            format!("Basic {}", STANDARD.encode(format!("{VENDOR_KEY}:{key}"))),
        )
        .json(body)
        .send()
        .await
        .expect("request")
}

fn flower() -> String {
    package_label(COLFAX, "0001")
}

fn receipt(number: &str, grams: f64) -> Value {
    json!({
        "SalesDateTime": "2026-11-27T14:05:09.000",
        "ExternalReceiptNumber": number,
        "SalesCustomerType": "Consumer",
        "Transactions": [{"PackageLabel": flower(), "Quantity": grams, "UnitOfMeasure": "Grams", "TotalAmount": 35.0}]
    })
}

fn receipts_path(license: &str) -> String {
    format!("/co/sales/v2/receipts?licenseNumber={license}")
}

#[tokio::test]
async fn an_accepted_sale_moves_stock_and_is_recorded_under_its_user_key() {
    let (sim, base) = demo().await;
    let response = post(
        &base,
        &receipts_path(COLFAX),
        CO_BOTH,
        &json!([receipt("R-1", 3.5)]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["Ids"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["Warnings"], Value::Null);
    assert_eq!(sim.stock("co", COLFAX, &flower()), Some(996.5));
    let recorded = sim.receipts("co");
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].user_key, CO_BOTH);
    assert_eq!(recorded[0].body["ExternalReceiptNumber"], "R-1");
}

#[tokio::test]
async fn a_receipt_can_be_looked_up_by_its_external_number() {
    let (_sim, base) = demo().await;
    post(
        &base,
        &receipts_path(COLFAX),
        CO_BOTH,
        &json!([receipt("R-7", 1.0)]),
    )
    .await;
    let lookup = |number: &str| {
        reqwest::Client::new()
            .get(format!(
                "{base}/co/sales/v2/receipts/external/{number}?licenseNumber={COLFAX}"
            ))
            .basic_auth(VENDOR_KEY, Some(CO_BOTH))
            .send()
    };
    let found = lookup("R-7").await.expect("request");
    assert_eq!(found.status(), StatusCode::OK);
    let receipt: Value = found.json().await.expect("json");
    assert_eq!(receipt["ExternalReceiptNumber"], "R-7");
    assert_eq!(receipt["TotalPackages"], 1);
    let missing = lookup("R-8").await.expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.expect("json");
    assert!(body["Message"].is_string());
}

/// One bad row rejects the whole batch, naming every bad row; nothing moves.
#[tokio::test]
async fn a_batch_with_bad_rows_is_rejected_whole_with_each_rows_problem() {
    let (sim, base) = demo().await;
    let mut offset = receipt("R-2", 1.0);
    offset["SalesDateTime"] = json!("2026-11-27T14:05:09-07:00");
    let mut unknown_type = receipt("R-3", 1.0);
    unknown_type["SalesCustomerType"] = json!("Tourist");
    let mut wrong_unit = receipt("R-4", 1.0);
    wrong_unit["Transactions"][0]["UnitOfMeasure"] = json!("Each");
    let mut unknown_package = receipt("R-5", 1.0);
    unknown_package["Transactions"][0]["PackageLabel"] = json!("1A4000000000000000009999");
    let too_much = receipt("R-6", 5000.0);
    let zero = receipt("R-9", 0.0);
    let batch = json!([
        receipt("R-1", 1.0),
        offset,
        unknown_type,
        wrong_unit,
        unknown_package,
        too_much,
        zero
    ]);
    let response = post(&base, &receipts_path(COLFAX), CO_BOTH, &batch).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors: Value = response.json().await.expect("json");
    let rows: Vec<u64> = errors
        .as_array()
        .expect("an array of row errors")
        .iter()
        .map(|e| e["row"].as_u64().expect("row"))
        .collect();
    assert_eq!(rows, [1, 2, 3, 4, 5, 6]);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("offset"))
    );
    assert_eq!(sim.stock("co", COLFAX, &flower()), Some(1000.0));
    assert!(sim.receipts("co").is_empty());
}

#[tokio::test]
async fn more_than_ten_objects_is_413() {
    let (sim, base) = demo().await;
    let batch: Vec<Value> = (0..11).map(|i| receipt(&format!("R-{i}"), 1.0)).collect();
    let response = post(&base, &receipts_path(COLFAX), CO_BOTH, &json!(batch)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(sim.receipts("co").is_empty());
    let ten: Vec<Value> = (0..10).map(|i| receipt(&format!("R-{i}"), 1.0)).collect();
    let accepted = post(&base, &receipts_path(COLFAX), CO_BOTH, &json!(ten)).await;
    assert_eq!(accepted.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sale_at_a_license_the_key_does_not_reach_is_401() {
    let (sim, base) = demo().await;
    let mut sale = receipt("R-1", 1.0);
    sale["Transactions"][0]["PackageLabel"] = json!(package_label(PEARL, "0001"));
    let response = post(&base, &receipts_path(PEARL), CO_COLFAX_ONLY, &json!([sale])).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(sim.receipts("co").is_empty());
}

/// The ambiguous case: METRC accepted the batch, then the connection dropped.
#[tokio::test]
async fn a_dropped_connection_after_acceptance_still_records_the_sale() {
    let (sim, base) = demo().await;
    sim.add_fault(metrc_sim::faults::Fault {
        state: "co".into(),
        user_key: None,
        kind: metrc_sim::faults::FaultKind::DropConnection,
        times: Some(1),
    });
    let result = reqwest::Client::new()
        .post(format!("{base}{}", receipts_path(COLFAX)))
        .basic_auth(VENDOR_KEY, Some(CO_BOTH))
        .json(&json!([receipt("R-1", 1.0)]))
        .send()
        .await;
    let whole = match result {
        Ok(response) => response.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!whole, "the sender must not see the answer");
    assert_eq!(sim.receipts("co").len(), 1, "but METRC has the sale");
}

/// A slow answer: the sale is recorded at once, while the sender still waits for the answer.
#[tokio::test]
async fn a_slow_answer_records_the_sale_before_it_answers() {
    let (sim, base) = demo().await;
    sim.add_fault(metrc_sim::faults::Fault {
        state: "co".into(),
        user_key: None,
        kind: metrc_sim::faults::FaultKind::SlowAnswer { ms: 2_000 },
        times: Some(1),
    });
    let request = reqwest::Client::new()
        .post(format!("{base}{}", receipts_path(COLFAX)))
        .basic_auth(VENDOR_KEY, Some(CO_BOTH))
        .json(&json!([receipt("R-slow", 1.0)]))
        .timeout(std::time::Duration::from_millis(300))
        .send()
        .await;
    assert!(request.is_err(), "the sender gave up before the answer");
    assert_eq!(sim.receipts("co").len(), 1, "METRC took the sale anyway");
}

#[tokio::test]
async fn adjustments_follow_metrcs_rules() {
    let (sim, base) = demo().await;
    let path = format!("/co/packages/v2/adjust?licenseNumber={COLFAX}");
    let adjustment = |reason: &str, note: &str, quantity: f64| {
        json!({"Label": flower(), "Quantity": quantity, "UnitOfMeasure": "Grams",
               "AdjustmentReason": reason, "AdjustmentDate": "2026-11-27", "ReasonNote": note})
    };
    let bad = json!([
        adjustment("Drying", "", -2.0),
        adjustment("Theft", "", -1.0),
        adjustment("Vanished", "", -1.0),
        adjustment("Damage", &"x".repeat(201), -1.0),
        adjustment("Drying", "", -2000.0),
    ]);
    let response = post(&base, &path, CO_BOTH, &bad).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors: Value = response.json().await.expect("json");
    let rows: Vec<u64> = errors
        .as_array()
        .expect("row errors")
        .iter()
        .map(|e| e["row"].as_u64().expect("row"))
        .collect();
    assert_eq!(rows, [1, 2, 3, 4]);

    let good = json!([
        adjustment("Drying", "", -2.0),
        adjustment("Theft", "Found short at count", -1.0)
    ]);
    let accepted = post(&base, &path, CO_BOTH, &good).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(sim.stock("co", COLFAX, &flower()), Some(997.0));
    assert_eq!(sim.adjustments("co").len(), 2);
    assert_eq!(sim.adjustments("co")[0].user_key, CO_BOTH);
}

#[tokio::test]
async fn an_inactive_package_cannot_be_sold() {
    let (sim, base) = demo().await;
    sim.add_package(
        "co",
        metrc_sim::reports::Package {
            license_number: COLFAX.into(),
            label: flower(),
            unit: "Grams".into(),
            quantity: 1000.0,
            active: false,
        },
    );
    let response = post(
        &base,
        &receipts_path(COLFAX),
        CO_BOTH,
        &json!([receipt("R-1", 1.0)]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let errors: Value = response.json().await.expect("json");
    assert_eq!(errors[0]["row"], 0);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not an active package"))
    );
}
