//! The campaign's schedule, fixed by its seed: which server is killed and when, whose key METRC revokes,
//! whose credential is deleted, when the default key goes away — and when each comes back. Only the
//! timing of what the servers do in between is left to chance; the checks hold whatever it turns out to be.

use rand::{Rng, SeedableRng};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `SIGKILL` the server of this slot.
    Kill(usize),
    /// Start it again.
    Restart(usize),
    /// METRC revokes the person's key.
    Revoke(usize),
    /// The person stores a new key (after a revocation).
    Resave(usize),
    /// The person deletes their credential (their reports then go under the default key).
    Delete(usize),
    /// The person adds a credential again.
    Add(usize),
    /// The admin removes the Colorado default key.
    RemoveDefault,
    /// The admin sets it again.
    SetDefault,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// From the start of the campaign's faults.
    pub at: Duration,
    pub action: Action,
}

/// What a schedule may touch.
#[derive(Debug, Clone)]
pub struct Cast {
    pub servers: usize,
    /// The people who keep a credential (whose keys may be revoked and credentials deleted).
    pub keyholders: Vec<usize>,
}

/// The schedule of a campaign whose faults last `span`: kills in its first half (so that the posting
/// leases of a killed server's batches run out before the campaign ends), key changes throughout; every
/// disruption undone within a few seconds, and in any case by the end. Sorted by time.
pub fn plan(seed: u64, span: Duration, cast: &Cast) -> Vec<Event> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let span_ms = u64::try_from(span.as_millis())
        .unwrap_or(u64::MAX)
        .max(1000);
    let mut events = Vec::new();
    // Each subject is disrupted by one episode at a time: (start, length) drawn until one fits.
    let mut episodes = |rng: &mut rand::rngs::StdRng,
                        count: u64,
                        within_ms: u64,
                        begin: &dyn Fn(usize) -> Action,
                        end: &dyn Fn(usize) -> Action,
                        subjects: &[usize]| {
        let mut busy_until = vec![0_u64; subjects.len()];
        for _ in 0..count {
            if subjects.is_empty() {
                return;
            }
            let which = rng.random_range(0..subjects.len());
            let start = rng.random_range(0..within_ms.max(1));
            let length = rng.random_range(500..4000);
            if start < busy_until[which] || start + length > span_ms {
                continue;
            }
            busy_until[which] = start + length + 500;
            events.push(Event {
                at: Duration::from_millis(start),
                action: begin(subjects[which]),
            });
            events.push(Event {
                at: Duration::from_millis(start + length),
                action: end(subjects[which]),
            });
        }
    };
    let servers: Vec<usize> = (0..cast.servers).collect();
    let per_5s = (span_ms / 5000).max(1);
    episodes(
        &mut rng,
        per_5s * 2,
        span_ms / 2,
        &Action::Kill,
        &Action::Restart,
        &servers,
    );
    episodes(
        &mut rng,
        per_5s * 2,
        span_ms,
        &Action::Revoke,
        &Action::Resave,
        &cast.keyholders,
    );
    episodes(
        &mut rng,
        per_5s,
        span_ms,
        &Action::Delete,
        &Action::Add,
        &cast.keyholders,
    );
    episodes(
        &mut rng,
        per_5s,
        span_ms,
        &|_| Action::RemoveDefault,
        &|_| Action::SetDefault,
        &[0],
    );
    // Revocation and deletion of one person's credential must not interleave: a resave would undo a
    // deletion early. Keep the first episode of a person that overlaps another.
    events.sort_by_key(|e| e.at);
    let mut open: std::collections::HashMap<usize, Action> = std::collections::HashMap::new();
    events.retain(|e| match e.action {
        Action::Revoke(p) | Action::Delete(p) => match open.entry(p) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(e.action);
                true
            }
        },
        Action::Resave(p) => open.remove_if(&p, |a| matches!(a, Action::Revoke(_))),
        Action::Add(p) => open.remove_if(&p, |a| matches!(a, Action::Delete(_))),
        _ => true,
    });
    events
}

/// `HashMap::remove` only when the value matches.
trait RemoveIf<K, V> {
    fn remove_if(&mut self, key: &K, test: impl Fn(&V) -> bool) -> bool;
}

impl<K: std::hash::Hash + Eq, V> RemoveIf<K, V> for std::collections::HashMap<K, V> {
    fn remove_if(&mut self, key: &K, test: impl Fn(&V) -> bool) -> bool {
        if self.get(key).is_some_and(test) {
            self.remove(key);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast() -> Cast {
        Cast {
            servers: 2,
            keyholders: vec![0, 1, 2, 3, 4],
        }
    }

    #[test]
    fn a_seed_fixes_the_schedule_and_another_seed_changes_it() {
        let span = Duration::from_secs(30);
        assert_eq!(plan(7, span, &cast()), plan(7, span, &cast()));
        assert_ne!(plan(7, span, &cast()), plan(8, span, &cast()));
    }

    #[test]
    fn every_disruption_is_undone_in_order_and_kills_come_in_the_first_half() {
        for seed in 0..200 {
            let span = Duration::from_secs(30);
            let events = plan(seed, span, &cast());
            assert!(events.windows(2).all(|w| w[0].at <= w[1].at));
            assert!(
                events.iter().any(|e| matches!(e.action, Action::Kill(_))),
                "seed {seed}"
            );
            let mut down = std::collections::HashMap::new();
            for e in &events {
                assert!(e.at <= span);
                let (subject, opens) = match e.action {
                    Action::Kill(s) => {
                        assert!(e.at < span / 2 + Duration::from_secs(4));
                        (("server", s), true)
                    }
                    Action::Restart(s) => (("server", s), false),
                    Action::Revoke(p) | Action::Delete(p) => (("person", p), true),
                    Action::Resave(p) | Action::Add(p) => (("person", p), false),
                    Action::RemoveDefault => (("default", 0), true),
                    Action::SetDefault => (("default", 0), false),
                };
                if opens {
                    assert!(
                        down.insert(subject, e.action).is_none(),
                        "seed {seed}: {e:?}"
                    );
                } else {
                    assert!(down.remove(&subject).is_some(), "seed {seed}: {e:?}");
                }
            }
            assert!(down.is_empty(), "seed {seed}: {down:?}");
        }
    }
}
