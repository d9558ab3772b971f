//! The client against the simulator: every class of answer, and every fault.

use metrc::{HttpMetrc, KeyCheck, Metrc, MetrcError, Settings};
use metrc_sim::Simulator;
use metrc_sim::demo::{CO_BOTH, CO_COLFAX_ONLY, CO_REVOKED, COLFAX, MA_NEWBURY, PEARL, VENDOR_KEY};
use metrc_sim::faults::{Fault, FaultKind};
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use std::time::{Duration, Instant};

struct Setup {
    sim: Simulator,
    client: HttpMetrc,
}

/// The demo simulator and a client pointed at it, with short timeouts so that failures end quickly.
async fn setup(deadline: Duration) -> Setup {
    let (sim, addr) = metrc_sim::start_demo(Default::default())
        .await
        .expect("listens");
    let mut settings = Settings::new(format!("http://{addr}/{{state}}"));
    settings.vendor_key = Some(VENDOR_KEY.into());
    settings.request_timeout = Duration::from_millis(500);
    settings.deadline = deadline;
    Setup {
        sim,
        client: HttpMetrc::new(settings).expect("client"),
    }
}

fn co() -> StateCode {
    StateCode::parse("CO").expect("served")
}

fn key(raw: &str) -> MetrcUserKey {
    MetrcUserKey::parse(raw).expect("valid key")
}

fn licenses(numbers: &[&str]) -> Vec<LicenseNumber> {
    numbers
        .iter()
        .map(|n| LicenseNumber::parse(n).expect("valid"))
        .collect()
}

fn fault(state: &str, kind: FaultKind, times: Option<u32>) -> Fault {
    Fault {
        state: state.into(),
        user_key: None,
        kind,
        times,
    }
}

async fn verify(s: &Setup, raw_key: &str, numbers: &[&str]) -> Result<KeyCheck, MetrcError> {
    s.client
        .verify_key(co(), &key(raw_key), &licenses(numbers))
        .await
}

#[tokio::test]
async fn a_key_reaching_every_license_verifies_with_one_request() {
    let s = setup(Duration::from_secs(5)).await;
    let check = verify(&s, CO_BOTH, &[COLFAX, PEARL]).await.expect("valid");
    assert!(check.missing.is_empty());
    let reached: Vec<_> = check
        .reached
        .iter()
        .map(|f| f.license_number.as_str())
        .collect();
    assert_eq!(reached, [COLFAX, PEARL]);
    assert_eq!(check.reached[0].name, "Denver – Colfax Ave");
    assert_eq!(s.sim.request_count(), 1);
}

#[tokio::test]
async fn licenses_the_key_does_not_reach_are_named() {
    let s = setup(Duration::from_secs(5)).await;
    let check = verify(&s, CO_COLFAX_ONLY, &[COLFAX, PEARL])
        .await
        .expect("valid key");
    assert_eq!(check.missing, licenses(&[PEARL]));
}

#[tokio::test]
async fn revoked_unknown_and_other_state_keys_are_invalid_without_retrying() {
    let s = setup(Duration::from_secs(5)).await;
    for bad in [CO_REVOKED, "no-such-key", MA_NEWBURY] {
        assert_eq!(
            verify(&s, bad, &[COLFAX]).await,
            Err(MetrcError::InvalidKey),
            "{bad}"
        );
    }
    assert_eq!(s.sim.request_count(), 3, "a 401 is never retried");
}

#[tokio::test]
async fn a_state_without_a_vendor_key_is_not_configured() {
    let sim = Simulator::new();
    let addr = sim
        .spawn("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("listens");
    let client = HttpMetrc::new(Settings::new(format!("http://{addr}/{{state}}"))).expect("client");
    let result = client
        .verify_key(co(), &key(CO_BOTH), &licenses(&[COLFAX]))
        .await;
    assert_eq!(result, Err(MetrcError::NotConfigured(co())));
    assert_eq!(sim.request_count(), 0);
}

#[tokio::test]
async fn a_passing_server_error_is_retried_and_the_key_verifies() {
    let s = setup(Duration::from_secs(5)).await;
    s.sim
        .add_fault(fault("co", FaultKind::ServerError, Some(2)));
    let check = verify(&s, CO_BOTH, &[COLFAX])
        .await
        .expect("valid after retries");
    assert!(check.missing.is_empty());
    assert_eq!(s.sim.request_count(), 3);
}

/// An outage is never reported as a bad key, whatever form it takes.
#[tokio::test]
async fn outages_are_unavailable_never_invalid() {
    for kind in [
        FaultKind::ServerError,
        FaultKind::Unavailable,
        FaultKind::DropConnection,
        FaultKind::Latency { ms: 800 },
    ] {
        let s = setup(Duration::from_millis(1500)).await;
        s.sim.add_fault(fault("co", kind, None));
        let result = verify(&s, CO_BOTH, &[COLFAX]).await;
        assert!(
            matches!(result, Err(MetrcError::Unavailable(_))),
            "{kind:?} gave {result:?}"
        );
        assert!(
            s.sim.request_count() >= 2,
            "{kind:?} should have been retried"
        );
    }
}

#[tokio::test]
async fn an_unreadable_answer_is_retried_and_then_unavailable() {
    let s = setup(Duration::from_secs(2)).await;
    s.sim.add_fault(fault("co", FaultKind::MalformedJson, None));
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert!(
        matches!(result, Err(MetrcError::Unavailable(_))),
        "{result:?}"
    );
    assert!(s.sim.request_count() >= 2, "it should have been retried");
}

#[tokio::test]
async fn one_unreadable_answer_does_not_fail_the_check() {
    let s = setup(Duration::from_secs(5)).await;
    s.sim
        .add_fault(fault("co", FaultKind::MalformedJson, Some(1)));
    let check = verify(&s, CO_BOTH, &[COLFAX])
        .await
        .expect("valid on the retry");
    assert!(check.missing.is_empty());
    assert_eq!(s.sim.request_count(), 2);
}

#[tokio::test]
async fn a_slow_metrc_hits_the_deadline() {
    let s = setup(Duration::from_millis(700)).await;
    s.sim
        .add_fault(fault("co", FaultKind::Latency { ms: 5_000 }, None));
    let started = Instant::now();
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert!(
        matches!(result, Err(MetrcError::Unavailable(_))),
        "{result:?}"
    );
    // Bounded by the deadline plus scheduling slack, far from the 5 s METRC would take.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let s = setup(Duration::from_secs(5)).await;
    s.sim.add_fault(fault(
        "co",
        FaultKind::RateLimited {
            retry_after_secs: Some(1),
        },
        Some(1),
    ));
    let started = Instant::now();
    verify(&s, CO_BOTH, &[COLFAX])
        .await
        .expect("valid after waiting");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(s.sim.request_count(), 2);
}

#[tokio::test]
async fn rate_limiting_without_retry_after_backs_off_then_reports_rate_limited() {
    let s = setup(Duration::from_millis(1200)).await;
    s.sim.add_fault(fault(
        "co",
        FaultKind::RateLimited {
            retry_after_secs: None,
        },
        None,
    ));
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert_eq!(result, Err(MetrcError::RateLimited { retry_after: None }));
    assert!(s.sim.request_count() >= 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_deadline_is_not_waited_for() {
    let s = setup(Duration::from_secs(1)).await;
    s.sim.add_fault(fault(
        "co",
        FaultKind::RateLimited {
            retry_after_secs: Some(30),
        },
        None,
    ));
    let started = Instant::now();
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert_eq!(
        result,
        Err(MetrcError::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        })
    );
    // Not the 30 s METRC asked for.
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(s.sim.request_count(), 1);
}

/// Every request is answered 429 with a `Retry-After` as large as a header can say.
fn retry_after_forever(s: &Setup) {
    s.sim.add_fault(fault(
        "co",
        FaultKind::RateLimited {
            retry_after_secs: Some(u64::MAX),
        },
        None,
    ));
}

/// A `Retry-After` as large as a header can say on a GET: no overflow, answered at once.
#[tokio::test]
async fn an_enormous_retry_after_on_a_get_is_not_waited_for() {
    let s = setup(Duration::from_secs(2)).await;
    retry_after_forever(&s);
    let started = Instant::now();
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert!(
        matches!(result, Err(MetrcError::RateLimited { .. })),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A redirect on a key check is not followed, and is an outage, never a verdict on the key.
#[tokio::test]
async fn a_redirected_key_check_is_unavailable_never_invalid() {
    let s = setup(Duration::from_secs(2)).await;
    s.sim.add_fault(fault("co", FaultKind::Redirect, None));
    let result = verify(&s, CO_BOTH, &[COLFAX]).await;
    assert!(
        matches!(result, Err(MetrcError::Unexpected(302))),
        "{result:?}"
    );
}

mod reporting {
    use super::*;
    use metrc::reports::{Adjustment, Delivery, Receipt, Transaction};
    use metrc_sim::demo::package_label;

    fn receipt(number: &str, grams: f64) -> Receipt {
        Receipt {
            sales_date_time: "2026-11-27T14:05:09.000".into(),
            external_receipt_number: number.into(),
            sales_customer_type: "Consumer".into(),
            transactions: vec![Transaction {
                package_label: package_label(COLFAX, "0001"),
                quantity: grams,
                unit_of_measure: "Grams".into(),
                total_amount: 12.5,
            }],
            patient_license_number: None,
        }
    }

    fn adjustment(grams: f64) -> Adjustment {
        Adjustment {
            label: package_label(COLFAX, "0001"),
            quantity: grams,
            unit_of_measure: "Grams".into(),
            adjustment_reason: "Drying".into(),
            adjustment_date: "2026-11-27".into(),
            reason_note: None,
        }
    }

    fn colfax() -> LicenseNumber {
        LicenseNumber::parse(COLFAX).expect("valid")
    }

    async fn send(s: &Setup, receipts: &[Receipt]) -> Vec<Delivery> {
        s.client
            .send_receipts(co(), &key(CO_BOTH), &colfax(), receipts)
            .await
    }

    #[tokio::test]
    async fn receipts_go_in_batches_of_ten_under_the_users_key() {
        let s = setup(Duration::from_secs(5)).await;
        let receipts: Vec<_> = (0..12).map(|i| receipt(&format!("R-{i}"), 1.0)).collect();
        let deliveries = send(&s, &receipts).await;
        assert!(
            deliveries.iter().all(|d| *d == Delivery::Accepted),
            "{deliveries:?}"
        );
        let recorded = s.sim.receipts("co");
        assert_eq!(recorded.len(), 12);
        assert!(recorded.iter().all(|r| r.user_key == CO_BOTH));
        assert_eq!(s.sim.request_count(), 2, "two POSTs: 10 and 2");
    }

    /// METRC refuses the batch for one row: that row is rejected with METRC's words, the rest go.
    #[tokio::test]
    async fn a_bad_row_is_set_aside_and_the_rest_is_sent() {
        let s = setup(Duration::from_secs(5)).await;
        let mut bad = receipt("R-2", 1.0);
        bad.sales_customer_type = "Tourist".into();
        let deliveries = send(&s, &[receipt("R-1", 1.0), bad, receipt("R-3", 1.0)]).await;
        assert_eq!(deliveries[0], Delivery::Accepted);
        assert!(
            matches!(&deliveries[1], Delivery::Rejected(m) if m[0].contains("customer type")),
            "{deliveries:?}"
        );
        assert_eq!(deliveries[2], Delivery::Accepted);
        let numbers: Vec<_> = s
            .sim
            .receipts("co")
            .iter()
            .map(|r| {
                r.body["ExternalReceiptNumber"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(numbers, ["R-1", "R-3"]);
    }

    /// The connection drops after METRC took the sale: the client looks it up and does not send it twice.
    #[tokio::test]
    async fn a_dropped_connection_is_resolved_by_lookup_without_a_duplicate() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim
            .add_fault(fault("co", FaultKind::DropConnection, Some(1)));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert_eq!(deliveries, [Delivery::Accepted]);
        assert_eq!(s.sim.receipts("co").len(), 1, "exactly once");
    }

    /// A 500 may or may not have taken the batch, and METRC may still be working on it: looked up, not
    /// found (yet), it is left unsettled — never posted again in the same breath.
    #[tokio::test]
    async fn after_a_server_error_a_receipt_not_found_is_left_unsettled() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim
            .add_fault(fault("co", FaultKind::ServerError, Some(1)));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert_eq!(deliveries, [Delivery::Unsettled]);
        assert_eq!(s.sim.post_count(), 1, "one POST");
    }

    /// METRC's gateway gives up (504) while METRC applies the batch a moment later: a lookup right away
    /// finds nothing, and a re-POST then would be a duplicate. The receipt is left unsettled instead.
    #[tokio::test]
    async fn a_batch_applied_after_its_504_is_not_posted_again() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim
            .add_fault(fault("co", FaultKind::LateApply { ms: 500 }, Some(1)));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert_eq!(deliveries, [Delivery::Unsettled]);
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(s.sim.receipts("co").len(), 1, "METRC applied it once");
        assert_eq!(s.sim.post_count(), 1, "and we posted it once");
    }

    /// Adjustments cannot be looked up: after a drop they are "outcome unknown" and never re-posted.
    #[tokio::test]
    async fn an_ambiguous_adjustment_is_outcome_unknown_and_not_sent_again() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim
            .add_fault(fault("co", FaultKind::DropConnection, Some(1)));
        let deliveries = s
            .client
            .send_adjustments(co(), &key(CO_BOTH), &colfax(), &[adjustment(-1.0)])
            .await;
        assert_eq!(deliveries, [Delivery::OutcomeUnknown]);
        assert_eq!(
            s.sim.adjustments("co").len(),
            1,
            "METRC has it once; we did not send it again"
        );
        assert_eq!(s.sim.request_count(), 1);
    }

    /// A redirect is never followed (a followed POST becomes a GET whose 200 would read as "accepted"):
    /// the receipt is looked up, not found, and left unsettled — never read as accepted.
    #[tokio::test]
    async fn a_redirected_receipt_is_never_read_as_accepted() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim.add_fault(fault("co", FaultKind::Redirect, Some(1)));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert_eq!(deliveries, [Delivery::Unsettled]);
        assert!(s.sim.receipts("co").is_empty());
        assert_eq!(s.sim.post_count(), 1);
    }

    /// A redirected adjustment cannot be looked up: outcome unknown, never "accepted".
    #[tokio::test]
    async fn a_redirected_adjustment_is_outcome_unknown() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim.add_fault(fault("co", FaultKind::Redirect, Some(1)));
        let deliveries = s
            .client
            .send_adjustments(co(), &key(CO_BOTH), &colfax(), &[adjustment(-1.0)])
            .await;
        assert_eq!(deliveries, [Delivery::OutcomeUnknown]);
        assert!(s.sim.adjustments("co").is_empty());
    }

    /// The answer is lost and METRC cannot be asked before the deadline: the receipt stays unsettled (to
    /// be looked up again later), never "outcome unknown" and never posted again blind.
    #[tokio::test]
    async fn a_receipt_that_cannot_be_looked_up_yet_stays_unsettled() {
        let s = setup(Duration::from_millis(1500)).await;
        s.sim
            .add_fault(fault("co", FaultKind::DropConnection, Some(1)));
        s.sim.add_fault(fault("co", FaultKind::Unavailable, None));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert_eq!(deliveries, [Delivery::Unsettled]);
        assert_eq!(s.sim.receipts("co").len(), 1, "taken once");
        assert_eq!(s.sim.post_count(), 1, "not posted again");
    }

    /// A `Retry-After` as large as a header can say: no overflow, no wait past the deadline.
    #[tokio::test]
    async fn an_enormous_retry_after_on_a_post_is_not_waited_for() {
        let s = setup(Duration::from_secs(2)).await;
        retry_after_forever(&s);
        let started = Instant::now();
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert!(
            matches!(
                deliveries[0],
                Delivery::NotSent(MetrcError::RateLimited { .. })
            ),
            "{deliveries:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_rate_limited_batch_is_sent_again_after_retry_after() {
        let s = setup(Duration::from_secs(5)).await;
        s.sim.add_fault(fault(
            "co",
            FaultKind::RateLimited {
                retry_after_secs: Some(1),
            },
            Some(1),
        ));
        let started = Instant::now();
        let deliveries = s
            .client
            .send_adjustments(co(), &key(CO_BOTH), &colfax(), &[adjustment(-1.0)])
            .await;
        assert_eq!(deliveries, [Delivery::Accepted]);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!(s.sim.adjustments("co").len(), 1);
    }

    #[tokio::test]
    async fn an_outage_past_the_deadline_leaves_everything_not_sent() {
        let s = setup(Duration::from_millis(1200)).await;
        s.sim.add_fault(fault("co", FaultKind::Unavailable, None));
        let deliveries = send(&s, &[receipt("R-1", 1.0)]).await;
        assert!(
            matches!(deliveries[0], Delivery::NotSent(MetrcError::Unavailable(_))),
            "{deliveries:?}"
        );
        assert!(s.sim.receipts("co").is_empty());
    }

    #[tokio::test]
    async fn a_license_the_key_does_not_reach_is_refused() {
        let s = setup(Duration::from_secs(5)).await;
        let pearl = LicenseNumber::parse(PEARL).expect("valid");
        let deliveries = s
            .client
            .send_receipts(co(), &key(CO_COLFAX_ONLY), &pearl, &[receipt("R-1", 1.0)])
            .await;
        assert_eq!(deliveries, [Delivery::NotSent(MetrcError::Refused)]);
        assert!(s.sim.receipts("co").is_empty());
    }
}

mod pacing {
    use super::*;
    use metrc::pacing::GetLimits;
    use metrc_sim::limits::Limits;

    /// A burst of checks against a METRC allowing 5 GETs per second per vendor key.
    async fn burst(client_per_second: u32) -> (u64, Duration) {
        let (sim, addr) = metrc_sim::start_demo(Limits {
            per_vendor_per_second: Some(5),
            ..Limits::OFF
        })
        .await
        .expect("listens");
        let mut settings = Settings::new(format!("http://{addr}/{{state}}"));
        settings.vendor_key = Some(VENDOR_KEY.into());
        settings.get_limits = GetLimits {
            per_vendor_per_second: client_per_second,
            ..GetLimits::default()
        };
        let client = std::sync::Arc::new(HttpMetrc::new(settings).expect("client"));
        let started = Instant::now();
        let checks: Vec<_> = (0..12)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    client
                        .verify_key(co(), &key(CO_BOTH), &licenses(&[COLFAX]))
                        .await
                })
            })
            .collect();
        for check in checks {
            check.await.expect("task").expect("valid");
        }
        (sim.request_count(), started.elapsed())
    }

    #[tokio::test]
    async fn gets_are_paced_under_the_vendor_keys_limit_and_draw_no_429() {
        let (requests, elapsed) = burst(5).await;
        assert_eq!(requests, 12, "no request was refused and retried");
        assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    }

    /// The same burst without pacing does draw 429s (and retries): the test above can fail.
    #[tokio::test]
    async fn without_pacing_the_same_burst_is_rate_limited() {
        let (requests, _) = burst(1_000).await;
        assert!(requests > 12, "{requests}");
    }
}
