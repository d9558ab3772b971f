//! Keys, facilities, units, reasons, limits and faults.

use crate::demo;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use metrc_sim::demo::{
    CO_BOTH, CO_COLFAX_ONLY, CO_MANAGER, CO_REVOKED, COLFAX, MA_NEWBURY, NEWBURY, PEARL, VENDOR_KEY,
};
use reqwest::StatusCode;

fn basic(vendor: &str, user: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{vendor}:{user}")))
}

async fn facilities(base: &str, state: &str, auth: Option<String>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{base}/{state}/facilities/v2/"));
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    request.send().await.expect("request")
}

/// The license numbers of a facilities answer.
async fn numbers(response: reqwest::Response) -> Vec<String> {
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    body.as_array()
        .expect("a plain array, not paged")
        .iter()
        .map(|f| f["License"]["Number"].as_str().expect("number").to_owned())
        .collect()
}

#[tokio::test]
async fn a_valid_key_gets_its_facilities_in_metrcs_2026_shape() {
    let (_sim, base) = demo().await;
    let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    let first = &body[0];
    for field in [
        "FacilityId",
        "HireDate",
        "IsOwner",
        "IsManager",
        "Email",
        "Occupations",
        "Name",
        "Alias",
        "DisplayName",
        "CredentialedDate",
        "FacilityType",
        "License",
        "AllowTransferOfOnHoldPackages",
    ] {
        assert!(first.get(field).is_some(), "missing {field}");
    }
    assert_eq!(first["HireDate"], "0001-01-01");
    assert_eq!(first["License"]["LicenseType"], "Retail Marijuana Store");
    assert_eq!(first["Name"], "Denver – Colfax Ave");
}

#[tokio::test]
async fn each_demo_key_reaches_exactly_its_licenses() {
    let (_sim, base) = demo().await;
    for (state, key, expected) in [
        ("co", CO_BOTH, vec![COLFAX, PEARL]),
        ("co", CO_COLFAX_ONLY, vec![COLFAX]),
        ("co", CO_MANAGER, vec![COLFAX, PEARL]),
        ("ma", MA_NEWBURY, vec![NEWBURY]),
    ] {
        let got = numbers(facilities(&base, state, Some(basic(VENDOR_KEY, key))).await).await;
        assert_eq!(got, expected, "{key}");
    }
}

#[tokio::test]
async fn v1_and_a_path_without_the_trailing_slash_answer_too() {
    let (_sim, base) = demo().await;
    for path in ["facilities/v1/", "facilities/v2", "facilities/v1"] {
        let response = reqwest::Client::new()
            .get(format!("{base}/co/{path}"))
            .header("authorization", basic(VENDOR_KEY, CO_BOTH))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

/// Every authentication failure is a 401 with an empty body, as METRC answers.
#[tokio::test]
async fn bad_authentication_is_401_with_an_empty_body() {
    let (_sim, base) = demo().await;
    let cases = [
        ("no header", None),
        ("not basic", Some("Bearer abc".to_owned())),
        ("not base64", Some("Basic !!!".to_owned())),
        (
            "no colon",
            Some(format!("Basic {}", STANDARD.encode("justone"))),
        ),
        ("unknown vendor key", Some(basic("someone-else", CO_BOTH))),
        ("unknown user key", Some(basic(VENDOR_KEY, "not-a-key"))),
        ("revoked user key", Some(basic(VENDOR_KEY, CO_REVOKED))),
        (
            "a key from another state",
            Some(basic(VENDOR_KEY, MA_NEWBURY)),
        ),
    ];
    for (case, auth) in cases {
        let response = facilities(&base, "co", auth).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
        assert_eq!(response.text().await.expect("body"), "", "{case}");
    }
}

#[tokio::test]
async fn a_state_without_metrc_here_is_not_found() {
    let (_sim, base) = demo().await;
    let response = facilities(&base, "ny", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// Keys can be added, changed, revoked and rotated at run time through the admin API.
#[tokio::test]
async fn the_admin_api_adds_changes_revokes_and_rotates_keys() {
    let (_sim, base) = demo().await;
    let client = reqwest::Client::new();
    let admin = |path: &str| format!("{base}/_sim/states/co/{path}");

    let added = client
        .post(admin("user-keys"))
        .json(&serde_json::json!({"key": "fresh-key", "facilities": [PEARL]}))
        .send()
        .await
        .expect("request");
    assert_eq!(added.status(), StatusCode::NO_CONTENT);
    let auth = || Some(basic(VENDOR_KEY, "fresh-key"));
    assert_eq!(
        numbers(facilities(&base, "co", auth()).await).await,
        [PEARL]
    );

    let changed = client
        .put(admin("user-keys/fresh-key/facilities"))
        .json(&serde_json::json!([COLFAX, PEARL]))
        .send()
        .await
        .expect("request");
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        numbers(facilities(&base, "co", auth()).await).await,
        [COLFAX, PEARL]
    );

    let rotated: serde_json::Value = client
        .post(admin("user-keys/fresh-key/rotate"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let new_key = rotated["key"].as_str().expect("new key").to_owned();
    assert_eq!(new_key.len(), 48);
    assert_eq!(
        facilities(&base, "co", auth()).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old key dies at once"
    );
    let with_new = facilities(&base, "co", Some(basic(VENDOR_KEY, &new_key))).await;
    assert_eq!(numbers(with_new).await, [COLFAX, PEARL]);

    let revoked = client
        .post(admin(&format!("user-keys/{new_key}/revoke")))
        .send()
        .await
        .expect("request");
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let after = facilities(&base, "co", Some(basic(VENDOR_KEY, &new_key))).await;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    let unknown = client
        .post(admin("user-keys/nobody/revoke"))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_state_can_be_set_up_through_the_admin_api() {
    let (_sim, base) = demo().await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("{base}/_sim/states/ny/{path}"))
            .json(&body)
            .send()
    };
    post("vendor-keys", serde_json::json!({"key": "vendor-ny"}))
        .await
        .expect("vendor");
    post(
        "facilities",
        serde_json::json!({"license_number": "OCM-AUCC-24-000001", "name": "Albany", "license_type": "Adult-Use Retail Dispensary"}),
    )
    .await
    .expect("facility");
    post(
        "user-keys",
        serde_json::json!({"key": "ny-key", "facilities": ["OCM-AUCC-24-000001"]}),
    )
    .await
    .expect("key");
    let got = facilities(&base, "ny", Some(basic("vendor-ny", "ny-key"))).await;
    assert_eq!(numbers(got).await, ["OCM-AUCC-24-000001"]);
    // The demo vendor key is not known in the new state.
    let demo_vendor = facilities(&base, "ny", Some(basic(VENDOR_KEY, "ny-key"))).await;
    assert_eq!(demo_vendor.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn library_calls_change_the_same_world_as_the_admin_api() {
    let (sim, base) = demo().await;
    assert!(sim.revoke_user_key("co", CO_BOTH));
    let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let stored = sim.user_key("co", CO_BOTH).expect("still known");
    assert!(stored.revoked);
}

/// Sets a fault through the admin API.
async fn fault(base: &str, body: serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/_sim/faults"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_server_error_fault_answers_500_with_metrcs_message_then_clears() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "server_error", "times": 1}),
    )
    .await;
    let auth = || Some(basic(VENDOR_KEY, CO_BOTH));
    let first = facilities(&base, "co", auth()).await;
    assert_eq!(first.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body: serde_json::Value = first.json().await.expect("json");
    assert!(body["Message"].is_string());
    // `times: 1` — the next request is answered normally.
    assert_eq!(
        facilities(&base, "co", auth()).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_outage_answers_503_without_a_body_until_cleared() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "unavailable"}),
    )
    .await;
    for _ in 0..3 {
        let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.text().await.expect("body"), "");
    }
    // Other states are untouched.
    let ma = facilities(&base, "ma", Some(basic(VENDOR_KEY, MA_NEWBURY))).await;
    assert_eq!(ma.status(), StatusCode::OK);
    let cleared = reqwest::Client::new()
        .delete(format!("{base}/_sim/faults"))
        .send()
        .await
        .expect("request");
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    let after = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_fault_for_one_key_leaves_other_keys_alone() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "user_key": CO_COLFAX_ONLY, "kind": "server_error"}),
    )
    .await;
    let other = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(other.status(), StatusCode::OK);
    let hit = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_COLFAX_ONLY))).await;
    assert_eq!(hit.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn rate_limiting_answers_429_with_and_without_retry_after() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "rate_limited", "retry_after_secs": 2, "times": 1}),
    )
    .await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "rate_limited", "retry_after_secs": null, "times": 1}),
    )
    .await;
    let with = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(with.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(with.headers()["retry-after"], "2");
    let body: serde_json::Value = with.json().await.expect("json");
    assert_eq!(body["Message"], metrc_sim::faults::RATE_LIMIT_MESSAGE);
    let without = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(without.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(without.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "malformed_json"}),
    )
    .await;
    let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("body");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
}

#[tokio::test]
async fn a_dropped_connection_never_delivers_a_whole_answer() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "drop_connection"}),
    )
    .await;
    let result = reqwest::Client::new()
        .get(format!("{base}/co/facilities/v2/"))
        .header("authorization", basic(VENDOR_KEY, CO_BOTH))
        .send()
        .await;
    // The connection closes after part of the answer: the client sees it fail while reading the
    // head or the body, depending on how much the server had flushed.
    let whole = match result {
        Ok(response) => response.bytes().await.is_ok(),
        Err(_) => false,
    };
    assert!(!whole, "the answer must not arrive whole");
}

#[tokio::test]
async fn latency_delays_the_normal_answer() {
    let (_sim, base) = demo().await;
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "latency", "ms": 300, "times": 1}),
    )
    .await;
    let started = std::time::Instant::now();
    let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(numbers(response).await, [COLFAX, PEARL]);
    // A lower bound only: the delay must have happened (an upper bound would flake on a busy machine).
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}

async fn set_limits(base: &str, limits: serde_json::Value) {
    let response = reqwest::Client::new()
        .put(format!("{base}/_sim/limits"))
        .json(&limits)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn metrcs_published_limits_are_on_by_default() {
    let (_sim, base) = demo().await;
    let limits: serde_json::Value = reqwest::get(format!("{base}/_sim/limits"))
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(limits["per_vendor_per_second"], 150);
    assert_eq!(limits["per_vendor_concurrent"], 30);
    assert_eq!(limits["per_facility_per_second"], 50);
    assert_eq!(limits["per_facility_concurrent"], 10);
}

/// Past the per-second limit of a vendor key: 429 with METRC's sentence, `Retry-After` by switch.
#[tokio::test]
async fn too_many_gets_per_second_for_one_vendor_key_get_429() {
    let (_sim, base) = demo().await;
    for retry_after in [false, true] {
        set_limits(
            &base,
            serde_json::json!({"per_vendor_per_second": 3, "per_vendor_concurrent": null,
                               "per_facility_per_second": null, "per_facility_concurrent": null,
                               "retry_after": retry_after}),
        )
        .await;
        // Start at the beginning of a fresh one-second window.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let mut statuses = Vec::new();
        let mut last = None;
        for _ in 0..4 {
            let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
            statuses.push(response.status());
            last = Some(response);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "retry_after {retry_after}"
        );
        let last = last.expect("four answers");
        assert_eq!(last.headers().get("retry-after").is_some(), retry_after);
        let body: serde_json::Value = last.json().await.expect("json");
        assert_eq!(body["Message"], metrc_sim::faults::RATE_LIMIT_MESSAGE);
    }
}

#[tokio::test]
async fn too_many_gets_at_once_for_one_vendor_key_get_429() {
    let (sim, base) = demo().await;
    sim.set_limits(metrc_sim::limits::Limits {
        per_vendor_concurrent: Some(1),
        ..metrc_sim::limits::Limits::OFF
    });
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "latency", "ms": 500, "times": 1}),
    )
    .await;
    let slow = tokio::spawn({
        let base = base.clone();
        async move {
            facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH)))
                .await
                .status()
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let meanwhile = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(meanwhile.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(slow.await.expect("task"), StatusCode::OK);
    // Once the slow one is done, its place is free again.
    let after = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
    assert_eq!(after.status(), StatusCode::OK);
}

#[tokio::test]
async fn limits_switched_off_let_every_request_through() {
    let (sim, base) = demo().await;
    sim.set_limits(metrc_sim::limits::Limits::OFF);
    for _ in 0..200 {
        let response = facilities(&base, "co", Some(basic(VENDOR_KEY, CO_BOTH))).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

async fn get_as(base: &str, path: &str, user_key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("authorization", basic(VENDOR_KEY, user_key))
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn units_of_measure_are_metrcs_six() {
    let (_sim, base) = demo().await;
    let response = get_as(&base, "/co/unitsofmeasure/v2/active", CO_BOTH).await;
    assert_eq!(response.status(), StatusCode::OK);
    let units: serde_json::Value = response.json().await.expect("json");
    let abbreviations: Vec<_> = units
        .as_array()
        .expect("a bare array")
        .iter()
        .map(|u| u["Abbreviation"].as_str().expect("abbreviation"))
        .collect();
    assert_eq!(abbreviations, ["ea", "oz", "lb", "g", "mg", "kg"]);
    assert_eq!(units[0]["QuantityType"], "CountBased");
}

#[tokio::test]
async fn adjustment_reasons_come_in_the_paged_envelope() {
    let (_sim, base) = demo().await;
    let all: serde_json::Value = get_as(
        &base,
        &format!("/co/packages/v2/adjust/reasons?licenseNumber={COLFAX}"),
        CO_BOTH,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(all["Total"], 4);
    assert_eq!(all["TotalPages"], 1);
    let theft = all["Data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|r| r["Name"] == "Theft")
        .expect("theft");
    assert_eq!(theft["RequiresNote"], true);

    let page2: serde_json::Value = get_as(
        &base,
        &format!("/co/packages/v2/adjust/reasons?licenseNumber={COLFAX}&pageNumber=2&pageSize=3"),
        CO_BOTH,
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(page2["RecordsOnPage"], 1);
    assert_eq!(page2["Page"], 2);
    assert_eq!(page2["TotalPages"], 2);
    assert_eq!(page2["PageSize"], 3);
}

#[tokio::test]
async fn license_scoped_calls_check_the_license_and_the_paging() {
    let (sim, base) = demo().await;
    let reasons = |license: &str, extra: &str| {
        format!("/co/packages/v2/adjust/reasons?licenseNumber={license}{extra}")
    };
    // The key does not reach 402R-00102: 401, as METRC answers (403 by switch).
    let denied = get_as(&base, &reasons(PEARL, ""), CO_COLFAX_ONLY).await;
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(denied.text().await.expect("body"), "");
    sim.set_license_denied_with_403(true);
    let forbidden = get_as(&base, &reasons(PEARL, ""), CO_COLFAX_ONLY).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    // Missing license and bad paging are whole-request 400s with a message.
    for path in [
        "/co/packages/v2/adjust/reasons".to_owned(),
        reasons(COLFAX, "&pageSize=21"),
        reasons(COLFAX, "&pageSize=5&pageNumber=0"),
    ] {
        let response = get_as(&base, &path, CO_BOTH).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert!(body["Message"].is_string(), "{path}");
    }
}

#[tokio::test]
async fn license_scoped_gets_count_against_the_facility_limit() {
    let (sim, base) = demo().await;
    sim.set_limits(metrc_sim::limits::Limits {
        per_facility_per_second: Some(2),
        ..metrc_sim::limits::Limits::OFF
    });
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let path = format!("/co/packages/v2/adjust/reasons?licenseNumber={COLFAX}");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get_as(&base, &path, CO_BOTH).await.status());
    }
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
    // Another facility, and /facilities/v2/, are not held back by it.
    let other = get_as(
        &base,
        &format!("/co/packages/v2/adjust/reasons?licenseNumber={PEARL}"),
        CO_BOTH,
    )
    .await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(
        get_as(&base, "/co/facilities/v2/", CO_BOTH).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn too_many_license_scoped_gets_at_once_for_one_facility_get_429() {
    let (sim, base) = demo().await;
    sim.set_limits(metrc_sim::limits::Limits {
        per_facility_concurrent: Some(1),
        ..metrc_sim::limits::Limits::OFF
    });
    fault(
        &base,
        serde_json::json!({"state": "co", "kind": "latency", "ms": 500, "times": 1}),
    )
    .await;
    let path = format!("/co/packages/v2/adjust/reasons?licenseNumber={COLFAX}");
    let slow = tokio::spawn({
        let (base, path) = (base.clone(), path.clone());
        async move { get_as(&base, &path, CO_BOTH).await.status() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        get_as(&base, &path, CO_BOTH).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(slow.await.expect("task"), StatusCode::OK);
}

/// The statuses 40 facility GETs meet under a chaos mix.
async fn statuses_under_chaos(seed: u64, probability: f64) -> (Vec<u16>, u64) {
    // METRC's own rate limits off: every status here is the mix's doing.
    let (sim, addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::OFF)
        .await
        .expect("listens");
    let base = format!("http://{addr}");
    let set = reqwest::Client::new()
        .put(format!("{base}/_sim/chaos"))
        .json(&serde_json::json!({ "seed": seed, "probability": probability }))
        .send()
        .await
        .expect("request");
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let status = client
            .get(format!("{base}/co/facilities/v2/"))
            .header("authorization", basic(VENDOR_KEY, CO_BOTH))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        statuses.push(status);
    }
    let drawn: serde_json::Map<String, serde_json::Value> =
        reqwest::get(format!("{base}/_sim/chaos"))
            .await
            .expect("request")
            .json()
            .await
            .expect("counts");
    assert_eq!(
        drawn
            .values()
            .filter_map(serde_json::Value::as_u64)
            .sum::<u64>(),
        sim.chaos_drawn().values().sum::<u64>()
    );
    (statuses, sim.chaos_drawn().values().sum())
}

/// A seeded mix draws the same faults for the same requests, a different seed others; probability 0
/// draws none, and at 1 every request meets one.
#[tokio::test]
async fn a_chaos_mix_is_reproducible_from_its_seed() {
    let (first, drawn) = statuses_under_chaos(7, 0.5).await;
    let (again, _) = statuses_under_chaos(7, 0.5).await;
    let (other, _) = statuses_under_chaos(8, 0.5).await;
    assert_eq!(first, again, "the same seed, the same faults");
    assert_ne!(first, other, "another seed, other faults");
    assert!((5..=35).contains(&drawn), "about half: {drawn}");
    assert!(
        first.contains(&200) && first.iter().any(|s| *s != 200),
        "{first:?}"
    );
    let (calm, none) = statuses_under_chaos(7, 0.0).await;
    assert!(calm.iter().all(|s| *s == 200) && none == 0, "{calm:?}");
    let (_, all) = statuses_under_chaos(7, 1.0).await;
    assert_eq!(all, 40);
}
