//! `js_json` reads every answer the client receives as serde_json does: each shared response
//! type, parsed by the browser's `JSON.parse` and read by `js_json::from_js`, equals what serde_json makes
//! of the same text — and where serde_json refuses a text, so does `js_json`.
//!
//! Run in Node by wasm-bindgen-test-runner (`cargo test -p app --target wasm32-unknown-unknown`, which
//! the test command does); on the host this file is empty.
#![cfg(target_arch = "wasm32")]

use app::js_json::from_js;
use serde::de::DeserializeOwned;
use shared::accountability::AccountabilityPage;
use shared::admin::{
    AuditPage, CoveragePage, IntegrationPage, LicenseAdminView, LicensesAdminPage, SetupLink,
    StateIntegration, UsersAdminPage,
};
use shared::api::{ApiError, Me};
use shared::credential::{Alerts, CredentialsPage, SavedCredential};
use shared::report::{CompliancePage, ReportView};
use wasm_bindgen_test::wasm_bindgen_test;

/// What `js_json` and serde_json each make of `text`; they must agree, and `text` must be readable.
fn agrees<T: DeserializeOwned + PartialEq>(text: &str) -> bool {
    let parsed = js_sys::JSON::parse(text).expect("the sample is JSON");
    let ours = from_js::<T>(parsed);
    let theirs = serde_json::from_str::<T>(text).ok();
    ours.is_some() && ours == theirs
}

/// Both refuse `text`.
fn both_refuse<T: DeserializeOwned>(text: &str) -> bool {
    let parsed = js_sys::JSON::parse(text).expect("the sample is JSON");
    from_js::<T>(parsed).is_none() && serde_json::from_str::<T>(text).is_err()
}

const USER: &str = r#"{"id":7,"email":"ann@example.com","display_name":"Ann Ávila","role":"staff",
    "active":true,"has_password":false,"credentials":2,"version":3}"#;

const REPORT: &str = r#"{"id":12,"kind":"sale","license_number":"402R-00001",
    "external_number":"R-88","status":"held","key_used":"default",
    "reason":"No credential for 402R-00001","recorded_at":1764000000000,"sent_at":null}"#;

#[wasm_bindgen_test]
fn who_is_signed_in() {
    assert!(agrees::<Me>(
        r#"{"user":{"id":1,"email":"a@b.co","display_name":"A \"B\" 😀","initials":"AB","role":"admin"},
            "organization":{"id":9007199254740991,"name":"Green Leaf"}}"#
    ));
}

#[wasm_bindgen_test]
fn the_error_envelope_with_and_without_fields() {
    assert!(agrees::<ApiError>(
        r#"{"code":"metrc_key_invalid","message":"METRC did not accept this key."}"#
    ));
    assert!(agrees::<ApiError>(
        r#"{"code":"validation","message":"Check the form.",
            "fields":[{"field":"key","message":"Paste the key."},{"field":"state","message":"Choose a state."}]}"#
    ));
    // A code this client does not know is not read as some other code.
    assert!(both_refuse::<ApiError>(
        r#"{"code":"brand_new","message":"x"}"#
    ));
}

#[wasm_bindgen_test]
fn the_credentials_page_and_a_save() {
    let credential = r#"{"id":3,"provider":"METRC","state":"CO","license_ids":[1,2],
        "key_last_four":"x9Z1","status":"license_lost","verified_at":1764000000000,"version":4,"waiting":2}"#;
    let license = r#"{"id":1,"number":"402R-00001","name":"Downtown","state":"CO","provider":"METRC","offered":true}"#;
    assert!(agrees::<CredentialsPage>(&format!(
        r#"{{"credentials":[{credential}],"licenses":[{license}]}}"#
    )));
    assert!(agrees::<CredentialsPage>(
        r#"{"credentials":[],"licenses":[]}"#
    ));
    // `waiting` may be absent (an older server): both read 0.
    assert!(agrees::<CredentialsPage>(
        r#"{"credentials":[{"id":3,"provider":"METRC","state":"OR","license_ids":[],
            "key_last_four":"abcd","status":"unverified","verified_at":null,"version":1}],"licenses":[]}"#
    ));
    assert!(agrees::<SavedCredential>(&format!(
        r#"{{"credential":{credential},"also_reaches":[{{"number":"402R-00009","name":"Uptown","license_id":null}},
            {{"number":"402R-00002","name":"Eastside","license_id":2}}]}}"#
    )));
}

#[wasm_bindgen_test]
fn the_admin_pages() {
    let license = r#"{"id":1,"number":"402R-00001","state":"CO","name":"Downtown","license_type":"Retail",
        "provider":"METRC","tracked":true,"active":false,"time_zone":"America/Denver","version":2,"credentials":5}"#;
    assert!(agrees::<LicenseAdminView>(license));
    assert!(agrees::<LicensesAdminPage>(&format!(
        r#"{{"licenses":[{license}]}}"#
    )));
    assert!(agrees::<UsersAdminPage>(&format!(
        r#"{{"users":[{USER}]}}"#
    )));
    assert!(agrees::<SetupLink>(&format!(
        r#"{{"user":{USER},"url":"https://pos.example/set-password#t=abc","expires_at":1764086400000}}"#
    )));
    assert!(agrees::<CoveragePage>(
        r#"{"licenses":[{"id":1,"number":"402R-00001","name":"Downtown","state":"CO","own":3,"default":1,"not_covered":0}],
            "rows":[{"user_id":7,"display_name":"Ann","email":"ann@example.com",
              "cells":[{"kind":"own","status":"verified"},{"kind":"default"},{"kind":"not_covered"}]}],
            "page":1,"pages":4,"users":120,"fallback_only":false}"#
    ));
    assert!(agrees::<AuditPage>(
        r#"{"entries":[{"id":5,"at":1764000000000,"actor":"Ann","subject":"Bo","action":"credential.saved",
            "result":"ok","detail":"=SUM(A1)","licenses":["402R-00001"]}],"next_before":5}"#
    ));
    assert!(agrees::<AuditPage>(r#"{"entries":[],"next_before":null}"#));
    let state = r#"{"state":"CO","default_key":{"key_last_four":"zz99","status":"verified",
        "verified_at":null,"updated_by":"Ann","version":1},
        "licenses":[{"id":1,"number":"402R-00001","name":"Downtown","tracked":true,"active":true,
          "reached_by_default":false,"version":2}]}"#;
    assert!(agrees::<StateIntegration>(state));
    assert!(agrees::<StateIntegration>(
        r#"{"state":"OR","default_key":null,"licenses":[]}"#
    ));
    assert!(agrees::<IntegrationPage>(&format!(
        r#"{{"states":[{state}]}}"#
    )));
}

#[wasm_bindgen_test]
fn reports_and_compliance() {
    assert!(agrees::<ReportView>(REPORT));
    // "My reports" is a top-level array; a field this client does not know is ignored, as serde does.
    assert!(agrees::<Vec<ReportView>>(&format!("[{REPORT},{REPORT}]")));
    assert!(agrees::<Vec<ReportView>>("[]"));
    assert!(agrees::<ReportView>(&REPORT.replace(
        r#""id":12"#,
        r#""id":12,"added_later":[1,{"a":null}]"#
    )));
    assert!(agrees::<ReportView>(
        r#"{"id":1,"kind":"adjustment","license_number":"402R-00001","external_number":null,
            "status":"outcome_unknown","key_used":null,"reason":null,"recorded_at":0,"sent_at":1}"#
    ));
    assert!(agrees::<CompliancePage>(&format!(
        r#"{{"reports":[{{"report":{REPORT},"user":"Ann"}}],"counts":[["held",3],["sent",120]]}}"#
    )));
}

#[wasm_bindgen_test]
fn accountability_and_the_banner() {
    let counts = r#"{"own":2,"default":1,"held":0,"outcome_unknown":0,"pending":3,"dismissed":1}"#;
    assert!(agrees::<AccountabilityPage>(&format!(
        r#"{{"days":[{{"day":"2026-11-28","counts":{counts}}},{{"day":"2026-11-29","counts":{counts}}}],
        "recent":{counts},"before":{counts},
        "fallbacks":[{{"user_id":9,"name":"=Dana","email":"d@example.com","active":false,"count":4,"licenses":["402R-00101"]}}],
        "licenses":[{{"id":1,"number":"402R-00101","name":"Colfax"}}]}}"#
    )));
    assert!(agrees::<Alerts>(
        r#"{"alerts":[{"state":"CO","problem":"Invalid","credential_id":7,"version":2,"sales":3,"adjustments":0},
        {"state":"MA","problem":"NoCredential","credential_id":null,"version":0,"sales":1,"adjustments":1}],"checking":true}"#
    ));
    assert!(agrees::<Alerts>(r#"{"alerts":[],"checking":false}"#));
    assert!(both_refuse::<Alerts>(
        r#"{"alerts":[{"state":"CO","problem":"Broken","credential_id":7,"version":2,"sales":3,"adjustments":0}],"checking":false}"#
    ));
}

/// The shapes serde_json refuses are refused here too: nothing is read as something it is not.
#[wasm_bindgen_test]
fn what_serde_json_refuses_is_refused() {
    // A wrong type, a missing field, a fraction or an integer past 2^53 where an integer belongs, an
    // invalid license number or state (the shared types' own rules), an unknown status.
    let refused = [
        REPORT.replace(r#""id":12"#, r#""id":"12""#),
        REPORT.replace(r#""kind":"sale","#, ""),
        REPORT.replace(r#""id":12"#, r#""id":1.5"#),
        REPORT.replace(r#""license_number":"402R-00001""#, r#""license_number":"""#),
        REPORT.replace(r#""status":"held""#, r#""status":"lost""#),
        REPORT.replace(r#""status":"held""#, r#""status":null"#),
    ];
    for text in &refused {
        assert!(both_refuse::<ReportView>(text), "{text}");
    }
    assert!(both_refuse::<CredentialsPage>(
        r#"{"credentials":[],"licenses":[{"id":1,"number":"402R-00001","name":"D","state":"ZZ","provider":"METRC","offered":true}]}"#
    ));
    // serde_json reads 2^53 + 1 exactly; the browser's numbers cannot, so it is refused, never rounded.
    let past = js_sys::JSON::parse(&REPORT.replace(r#""id":12"#, r#""id":9007199254740993"#))
        .expect("JSON");
    assert_eq!(from_js::<ReportView>(past), None);
    // The one difference: the browser's JSON has no integer type, so `12.0` (and `1.2e1`) is the integer
    // 12 to js_json, where serde_json refuses a float for an i64. Never a different value.
    let float = js_sys::JSON::parse(&REPORT.replace(r#""id":12"#, r#""id":12.0"#)).expect("JSON");
    assert_eq!(from_js::<ReportView>(float).map(|r| r.id), Some(12));
    assert!(both_refuse::<Me>("null"));
    assert!(both_refuse::<Me>("[]"));
}

/// The enum rule (see `js_json::Js::deserialize_enum`): a plain enum travels as its variant's name; an
/// enum with data must be tagged (`#[serde(tag = …)]`, with `content` or not). The externally tagged form
/// (`{"Variant": …}`) is not read, so a response type must not use it.
#[wasm_bindgen_test]
fn enums_travel_as_names_or_tagged_objects() {
    #[derive(serde::Deserialize, PartialEq, Debug)]
    #[serde(rename_all = "snake_case")]
    enum Plain {
        One,
        Two,
    }
    #[derive(serde::Deserialize, PartialEq, Debug)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        One { n: i64 },
        Two,
    }
    #[derive(serde::Deserialize, PartialEq, Debug)]
    enum External {
        One(i64),
    }
    assert!(agrees::<Plain>(r#""two""#));
    assert!(agrees::<Tagged>(r#"{"kind":"one","n":3}"#));
    assert!(agrees::<Tagged>(r#"{"kind":"two"}"#));
    let external = js_sys::JSON::parse(r#"{"One":3}"#).expect("JSON");
    assert_eq!(from_js::<External>(external), None);
}
