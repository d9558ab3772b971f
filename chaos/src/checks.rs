//! What must hold at the end of a campaign, whatever the timing was: held against METRC's own record (the
//! simulator's), the product's store and pages, the registers' answers and the harness's key log.

use crate::world::{Change, KeyChange};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Something METRC took, as the simulator recorded it. (Its `Debug` shows only the key's last four.)
#[derive(Clone)]
pub struct InMetrc {
    pub kind: Kind,
    pub license: String,
    /// A receipt's `ExternalReceiptNumber`; an adjustment's `ReasonNote` (each campaign adjustment has its own).
    pub identity: String,
    pub user_key: String,
}

impl std::fmt::Debug for InMetrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMetrc")
            .field("kind", &self.kind)
            .field("license", &self.license)
            .field("identity", &self.identity)
            .field("user_key", &crate::world::last_four(&self.user_key))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Sale,
    Adjustment,
}

/// A report as the product stores it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub user_id: i64,
    pub kind: Kind,
    pub license: String,
    /// As for [`InMetrc::identity`], read from the product's copy of what it sends.
    pub identity: String,
    pub status: String,
    pub key_used: Option<String>,
    pub reason: Option<String>,
    /// What a held report waits for: "key" or "fix".
    pub held_for: Option<String>,
    /// Unix seconds.
    pub recorded_at: i64,
    /// When it was last marked for a POST (the key it went under was chosen before).
    pub last_post_at: Option<i64>,
    pub sent_at: Option<i64>,
}

/// A recording a register was answered 201 for.
#[derive(Debug, Clone, Copy)]
pub struct Answered {
    pub report_id: i64,
    pub person: usize,
}

/// Everything the checks look at. (Its `Debug` leaves out the keys.)
pub struct Evidence<'a> {
    pub metrc: &'a [InMetrc],
    pub stored: &'a [Stored],
    pub answered: &'a [Answered],
    pub key_log: &'a [KeyChange],
    /// Each person's user id.
    pub people: &'a [i64],
    /// The people who never had a credential of their own.
    pub never_keyed: &'a HashSet<usize>,
    pub default_key: &'a str,
    /// Unix ms when the checks run (an open window of "no credential" lasts until then).
    pub now_ms: i64,
}

impl std::fmt::Debug for Evidence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("metrc", &self.metrc.len())
            .field("stored", &self.stored.len())
            .field("answered", &self.answered.len())
            .field("key_log", &self.key_log.len())
            .field("people", &self.people)
            .finish_non_exhaustive()
    }
}

/// What broke, one sentence each; and the counts the figures print.
#[derive(Debug, Default)]
pub struct Verdict {
    pub violations: Vec<String>,
    pub duplicates: usize,
    pub lost: usize,
}

/// One second either side: the product keeps unix seconds.
const SLACK_MS: i64 = 1000;

pub fn check(evidence: &Evidence) -> Verdict {
    let mut verdict = Verdict::default();
    let mut copies: BTreeMap<(Kind, &str, &str), Vec<&InMetrc>> = BTreeMap::new();
    for object in evidence.metrc {
        copies
            .entry((object.kind, &object.license, &object.identity))
            .or_default()
            .push(object);
    }
    for ((kind, license, identity), found) in &copies {
        if found.len() > 1 {
            verdict.duplicates += found.len() - 1;
            verdict.violations.push(format!(
                "METRC has {kind:?} {identity} at {license} {} times",
                found.len()
            ));
        }
    }
    let mut by_identity: HashMap<(Kind, &str, &str), &Stored> = HashMap::new();
    for stored in evidence.stored {
        if stored.identity.is_empty() {
            verdict.violations.push(format!(
                "report {} has no receipt number or note to find it by in METRC",
                stored.id
            ));
        } else if let Some(other) = by_identity.insert(
            (
                stored.kind,
                stored.license.as_str(),
                stored.identity.as_str(),
            ),
            stored,
        ) {
            verdict.violations.push(format!(
                "reports {} and {} are the same {:?} {} at {}",
                other.id, stored.id, stored.kind, stored.identity, stored.license
            ));
        }
    }
    let person_of: HashMap<i64, usize> = evidence
        .people
        .iter()
        .enumerate()
        .map(|(person, id)| (*id, person))
        .collect();
    let keys_of = keys_ever(evidence.key_log);

    // Everything in METRC is a report the product shows as Sent or "outcome unknown", under the right key.
    for ((kind, license, identity), found) in &copies {
        let Some(stored) = by_identity.get(&(*kind, *license, *identity)) else {
            verdict.violations.push(format!(
                "METRC has {kind:?} {identity} at {license}, which the product never recorded"
            ));
            continue;
        };
        if stored.status != "sent" && stored.status != "outcome_unknown" {
            verdict.violations.push(format!(
                "report {} is in METRC but the product shows it {}",
                stored.id, stored.status
            ));
        }
        let Some(person) = person_of.get(&stored.user_id).copied() else {
            verdict.violations.push(format!(
                "report {} was recorded by someone the campaign does not know",
                stored.id
            ));
            continue;
        };
        for object in found {
            if object.user_key == evidence.default_key {
                if stored.key_used.as_deref() != Some("default") {
                    verdict.violations.push(format!(
                        "report {} went under the default key, but the product recorded key used {:?}",
                        stored.id, stored.key_used
                    ));
                }
                // The key was chosen between the recording and the POST METRC took.
                let until = stored
                    .last_post_at
                    .or(stored.sent_at)
                    .map_or(evidence.now_ms, |s| s * 1000 + SLACK_MS);
                if !had_no_credential(
                    evidence,
                    person,
                    stored.recorded_at * 1000 - SLACK_MS,
                    until,
                ) {
                    verdict.violations.push(format!(
                        "report {} went under the default key while person {person} had a credential \
                         the whole time from its recording to its POST",
                        stored.id
                    ));
                }
            } else if keys_of
                .get(&person)
                .is_some_and(|keys| keys.contains(object.user_key.as_str()))
            {
                if stored.key_used.as_deref() != Some("credential") {
                    verdict.violations.push(format!(
                        "report {} went under its recorder's own key, but the product recorded key used {:?}",
                        stored.id, stored.key_used
                    ));
                }
            } else {
                verdict.violations.push(format!(
                    "report {} of person {person} went under a key that was never theirs",
                    stored.id
                ));
            }
        }
    }

    // Every report ends Sent (and is then in METRC exactly once), held with a reason, dismissed or
    // outcome unknown; none is left pending.
    for stored in evidence.stored {
        let in_metrc = copies
            .get(&(
                stored.kind,
                stored.license.as_str(),
                stored.identity.as_str(),
            ))
            .map_or(0, Vec::len);
        match stored.status.as_str() {
            "sent" if in_metrc == 0 => verdict.violations.push(format!(
                "report {} is shown Sent but METRC does not have it",
                stored.id
            )),
            // A receipt is looked up until OUTBOX_LOOKUP_GIVE_UP_HOURS: far beyond a campaign.
            "outcome_unknown" if stored.kind == Kind::Sale => verdict.violations.push(format!(
                "sale {} ended outcome unknown though it can be looked up",
                stored.id
            )),
            "sent" | "outcome_unknown" | "dismissed" => {}
            // Every key is good at the end: a report still held for one is stuck.
            "held" if stored.held_for.as_deref() == Some("key") => {
                verdict.violations.push(format!(
                    "report {} is still held for a key ({:?}) though every key is good",
                    stored.id, stored.reason
                ));
            }
            "held"
                if stored
                    .reason
                    .as_deref()
                    .is_some_and(|r| !r.trim().is_empty()) => {}
            other => verdict.violations.push(format!(
                "report {} ended {other} (reason {:?})",
                stored.id, stored.reason
            )),
        }
    }

    // Every recording a register was answered for is in the product, recorded by that person.
    let stored_by_id: HashMap<i64, &Stored> = evidence.stored.iter().map(|s| (s.id, s)).collect();
    for answered in evidence.answered {
        match stored_by_id.get(&answered.report_id) {
            None => {
                verdict.lost += 1;
                verdict.violations.push(format!(
                    "report {} was answered 201 and is gone",
                    answered.report_id
                ));
            }
            Some(stored) if evidence.people.get(answered.person) != Some(&stored.user_id) => {
                verdict.violations.push(format!(
                    "report {} was recorded by person {} but is stored as someone else's",
                    answered.report_id, answered.person
                ));
            }
            Some(_) => {}
        }
    }
    verdict
}

/// Every key each person was ever given.
fn keys_ever(log: &[KeyChange]) -> HashMap<usize, HashSet<&str>> {
    let mut keys: HashMap<usize, HashSet<&str>> = HashMap::new();
    for change in log {
        if let (Some(person), Change::Saved(key)) = (change.person, &change.what) {
            keys.entry(person).or_default().insert(key.as_str());
        }
    }
    keys
}

/// Whether, at some instant of `[from_ms, to_ms]`, the person had no credential stored: never had one, or
/// between a deletion being asked for and the next save being confirmed.
fn had_no_credential(evidence: &Evidence, person: usize, from_ms: i64, to_ms: i64) -> bool {
    if evidence.never_keyed.contains(&person) {
        return true;
    }
    let mut windows = Vec::new();
    let mut open: Option<i64> = Some(i64::MIN);
    for change in evidence.key_log.iter().filter(|c| c.person == Some(person)) {
        match (&change.what, open) {
            (Change::Deleted, None) => open = Some(change.from_ms),
            (Change::Saved(_), Some(since)) => {
                windows.push((since, change.to_ms));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(since) = open {
        windows.push((since, evidence.now_ms));
    }
    windows
        .iter()
        .any(|(start, end)| *start <= to_ms && from_ms <= *end)
}

#[cfg(test)]
mod tests {
    //! The checks themselves can fail: each kind of breakage, planted in otherwise good evidence, is named.
    use super::*;

    const DEFAULT: &str = "default-key";

    fn saved(person: usize, key: &str, at: i64) -> KeyChange {
        KeyChange {
            from_ms: at,
            to_ms: at + 10,
            person: Some(person),
            what: Change::Saved(key.into()),
        }
    }

    fn stored(id: i64, user_id: i64, identity: &str, status: &str, key_used: &str) -> Stored {
        Stored {
            id,
            user_id,
            kind: Kind::Sale,
            license: "402R-00101".into(),
            identity: identity.into(),
            status: status.into(),
            key_used: Some(key_used.into()),
            reason: None,
            held_for: None,
            recorded_at: 100,
            last_post_at: Some(101),
            sent_at: Some(101),
        }
    }

    fn in_metrc(identity: &str, key: &str) -> InMetrc {
        InMetrc {
            kind: Kind::Sale,
            license: "402R-00101".into(),
            identity: identity.into(),
            user_key: key.into(),
        }
    }

    /// Person 0 (user 10) keeps key "k0"; person 1 (user 11) deletes theirs at 150 s and saves "k1b" at 200 s.
    fn run(metrc: &[InMetrc], stored: &[Stored], answered: &[Answered]) -> Verdict {
        let log = vec![
            saved(0, "k0", 0),
            saved(1, "k1", 0),
            KeyChange {
                from_ms: 150_000,
                to_ms: 150_010,
                person: Some(1),
                what: Change::Deleted,
            },
            saved(1, "k1b", 200_000),
        ];
        check(&Evidence {
            metrc,
            stored,
            answered,
            key_log: &log,
            people: &[10, 11],
            never_keyed: &HashSet::new(),
            default_key: DEFAULT,
            now_ms: 300_000,
        })
    }

    #[test]
    fn good_evidence_passes() {
        let mut by_default = stored(2, 11, "R-2", "sent", "default");
        by_default.recorded_at = 160;
        by_default.last_post_at = Some(161);
        by_default.sent_at = Some(161);
        let verdict = run(
            &[in_metrc("R-1", "k0"), in_metrc("R-2", DEFAULT)],
            &[stored(1, 10, "R-1", "sent", "credential"), by_default],
            &[Answered {
                report_id: 1,
                person: 0,
            }],
        );
        assert!(verdict.violations.is_empty(), "{:?}", verdict.violations);
    }

    #[test]
    fn each_breakage_is_named() {
        /// METRC's record, the store, the registers' answers, and words of the violation expected.
        type Case = (Vec<InMetrc>, Vec<Stored>, Vec<Answered>, &'static str);
        let cases: Vec<Case> = vec![
            (
                vec![in_metrc("R-1", "k0"), in_metrc("R-1", "k0")],
                vec![stored(1, 10, "R-1", "sent", "credential")],
                vec![],
                "2 times",
            ),
            (
                vec![],
                vec![stored(1, 10, "R-1", "sent", "credential")],
                vec![],
                "METRC does not have it",
            ),
            (
                vec![in_metrc("R-1", "k0")],
                vec![stored(1, 10, "R-1", "held", "credential")],
                vec![],
                "shows it held",
            ),
            (
                vec![in_metrc("R-9", "k0")],
                vec![],
                vec![],
                "never recorded",
            ),
            (
                vec![],
                vec![stored(1, 10, "R-1", "pending", "credential")],
                vec![],
                "ended pending",
            ),
            (
                vec![],
                vec![],
                vec![Answered {
                    report_id: 5,
                    person: 0,
                }],
                "is gone",
            ),
            (
                vec![in_metrc("R-1", "k1")],
                vec![stored(1, 10, "R-1", "sent", "credential")],
                vec![],
                "never theirs",
            ),
            (
                vec![in_metrc("R-1", DEFAULT)],
                vec![stored(1, 10, "R-1", "sent", "default")],
                vec![],
                "had a credential the whole time",
            ),
            (
                vec![in_metrc("R-1", DEFAULT)],
                vec![stored(1, 10, "R-1", "sent", "credential")],
                vec![],
                "recorded key used",
            ),
            (
                vec![],
                vec![stored(1, 10, "", "held", "credential")],
                vec![],
                "no receipt number",
            ),
            (
                vec![in_metrc("R-1", "k0")],
                vec![
                    stored(1, 10, "R-1", "sent", "credential"),
                    stored(2, 10, "R-1", "sent", "credential"),
                ],
                vec![],
                "are the same",
            ),
            (
                vec![],
                vec![stored(1, 10, "R-1", "outcome_unknown", "credential")],
                vec![],
                "can be looked up",
            ),
            (
                vec![],
                vec![Stored {
                    held_for: Some("key".into()),
                    reason: Some("No credential for 402R-00101".into()),
                    ..stored(1, 10, "R-1", "held", "credential")
                }],
                vec![],
                "every key is good",
            ),
        ];
        for (metrc, stored, answered, expected) in cases {
            let verdict = run(&metrc, &stored, &answered);
            assert!(
                verdict.violations.iter().any(|v| v.contains(expected)),
                "{expected:?} not in {:?}",
                verdict.violations
            );
        }
    }

    #[test]
    fn a_default_key_report_is_accepted_only_when_it_overlaps_the_deleted_window() {
        let at = |recorded: i64, sent: i64| {
            let mut s = stored(1, 11, "R-1", "sent", "default");
            s.recorded_at = recorded;
            s.last_post_at = Some(sent);
            s.sent_at = Some(sent + 100);
            run(&[in_metrc("R-1", DEFAULT)], &[s], &[]).violations
        };
        assert!(at(140, 151).is_empty());
        assert!(at(199, 250).is_empty());
        assert!(!at(120, 140).is_empty());
        assert!(!at(210, 220).is_empty());
    }
}
