//! Accountability: how many of the organization's sent reports went out under the recorder's own key.
//!
//! The definitions, the same on every screen, in every export and in the API:
//! - a report belongs to the **day it was recorded**, in its license's time zone (`YYYY-MM-DD`);
//! - the **accountability rate** of a set of licenses and days is the reports *sent* under the recorder's own
//!   key ÷ all reports *sent* (own key + default key). Held, pending, outcome-unknown and dismissed reports
//!   are not in it; they are shown beside it. A report resent by an admin with the default key counts as
//!   default.
//!
//! The rate travels as counts and is computed here, in whole tenths of a percent (no floating point: the
//! client never formats an `f64`).

use crate::LicenseNumber;
use serde::{Deserialize, Serialize};

/// The periods the chart and the ranking cover, in days.
pub const PERIODS: [u32; 3] = [7, 30, 90];

/// The days of the headline rate, compared with as many days before them.
pub const RATE_DAYS: u32 = 7;

/// Whether `days` is one of [`PERIODS`].
pub fn is_period(days: u32) -> bool {
    PERIODS.contains(&days)
}

/// A report's place in the counts: sent under the recorder's own key, sent under the default key, or its
/// status when not sent. The codes are the database's (`report_days.bucket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Own,
    Default,
    Held,
    OutcomeUnknown,
    Pending,
    Dismissed,
}

impl Bucket {
    pub const ALL: [Bucket; 6] = [
        Bucket::Own,
        Bucket::Default,
        Bucket::Held,
        Bucket::OutcomeUnknown,
        Bucket::Pending,
        Bucket::Dismissed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Bucket::Own => "own",
            Bucket::Default => "default",
            Bucket::Held => "held",
            Bucket::OutcomeUnknown => "outcome_unknown",
            Bucket::Pending => "pending",
            Bucket::Dismissed => "dismissed",
        }
    }

    pub fn from_code(code: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.code() == code)
    }

    /// The chart's legend and the table's column heading.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Own => "Sent under own key",
            Bucket::Default => "Sent under the default key",
            Bucket::Held => "Held",
            Bucket::OutcomeUnknown => "Outcome unknown",
            Bucket::Pending => "Pending",
            Bucket::Dismissed => "Dismissed",
        }
    }
}

/// Reports counted by bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    pub own: i64,
    pub default: i64,
    pub held: i64,
    pub outcome_unknown: i64,
    pub pending: i64,
    pub dismissed: i64,
}

impl Counts {
    pub fn get(&self, bucket: Bucket) -> i64 {
        match bucket {
            Bucket::Own => self.own,
            Bucket::Default => self.default,
            Bucket::Held => self.held,
            Bucket::OutcomeUnknown => self.outcome_unknown,
            Bucket::Pending => self.pending,
            Bucket::Dismissed => self.dismissed,
        }
    }

    pub fn add(&mut self, bucket: Bucket, n: i64) {
        let slot = match bucket {
            Bucket::Own => &mut self.own,
            Bucket::Default => &mut self.default,
            Bucket::Held => &mut self.held,
            Bucket::OutcomeUnknown => &mut self.outcome_unknown,
            Bucket::Pending => &mut self.pending,
            Bucket::Dismissed => &mut self.dismissed,
        };
        *slot = slot.saturating_add(n);
    }

    /// Every bucket of `other` added to this one.
    pub fn add_all(&mut self, other: &Counts) {
        for bucket in Bucket::ALL {
            self.add(bucket, other.get(bucket));
        }
    }

    /// Reports sent, under any key.
    pub fn sent(&self) -> i64 {
        self.own.saturating_add(self.default)
    }

    /// The accountability rate, or `None` when nothing was sent.
    pub fn rate(&self) -> Option<Rate> {
        Rate::of(self.own, self.sent())
    }
}

/// An accountability rate in tenths of a percent (0..=1000), rounded half up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rate(i64);

impl Rate {
    /// `own` of `sent`; `None` when nothing was sent.
    pub fn of(own: i64, sent: i64) -> Option<Rate> {
        if sent <= 0 || own < 0 || own > sent {
            return None;
        }
        let own = i128::from(own);
        let sent = i128::from(sent);
        let tenths = (own * 1000 * 2 + sent) / (sent * 2);
        i64::try_from(tenths).ok().map(Rate)
    }

    pub fn tenths_of_percent(self) -> i64 {
        self.0
    }

    /// "87.5%".
    pub fn percent(self) -> String {
        format!("{}.{}%", self.0 / 10, self.0 % 10)
    }

    /// The change from `before`, in percentage points: "up 2.1 points", "down 0.4 points", "unchanged".
    pub fn change_from(self, before: Rate) -> String {
        let delta = self.0 - before.0;
        let size = delta.abs();
        let points = format!("{}.{}", size / 10, size % 10);
        match delta {
            0 => "unchanged".to_owned(),
            d if d > 0 => format!("up {points} points"),
            _ => format!("down {points} points"),
        }
    }
}

/// One day's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Day {
    /// `YYYY-MM-DD`, the license-local date.
    pub day: String,
    pub counts: Counts,
}

/// A user whose reports went out under the default key in the period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fallback {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    /// Still active (a deactivated user has no row in Coverage to link to).
    pub active: bool,
    /// Reports of theirs sent under the default key in the period.
    pub count: i64,
    /// The licenses those reports were at.
    pub licenses: Vec<LicenseNumber>,
}

/// A license the view can be narrowed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LicenseChoice {
    pub id: i64,
    pub number: LicenseNumber,
    pub name: String,
}

/// `GET /api/admin/accountability?days=&license=`: the rate, the chart's days and the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountabilityPage {
    /// The period's days, oldest first, every day present.
    pub days: Vec<Day>,
    /// The last [`RATE_DAYS`] days (ending with the newest day of the period).
    pub recent: Counts,
    /// The [`RATE_DAYS`] days before those.
    pub before: Counts,
    /// Who falls back most in the period, most first (at most [`RANKED`]).
    pub fallbacks: Vec<Fallback>,
    pub licenses: Vec<LicenseChoice>,
}

/// How many users the ranking names.
pub const RANKED: usize = 10;

impl AccountabilityPage {
    /// The period's counts added up.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for day in &self.days {
            total.add_all(&day.counts);
        }
        total
    }
}

/// The sentence under the headline figure, for everyone and for screen readers.
pub fn headline(recent: &Counts, before: &Counts) -> String {
    let not_sent = format!(
        "{} held, {} outcome unknown, {} pending, {} dismissed",
        recent.held, recent.outcome_unknown, recent.pending, recent.dismissed
    );
    match (recent.rate(), before.rate()) {
        (None, _) => format!("No reports were sent in the last {RATE_DAYS} days ({not_sent})."),
        (Some(now), then) => {
            let change = match then {
                Some(then) => format!("{} from the {RATE_DAYS} days before", now.change_from(then)),
                None => format!("nothing was sent in the {RATE_DAYS} days before"),
            };
            format!(
                "{} of {} reports sent in the last {RATE_DAYS} days went under the recorder's own key — {change}. Not in the rate: {not_sent}.",
                now.percent(),
                recent.sent()
            )
        }
    }
}

/// The chart's text alternative: what the period shows, in one sentence.
pub fn chart_summary(page: &AccountabilityPage) -> String {
    let total = page.total();
    let (first, last) = match (page.days.first(), page.days.last()) {
        (Some(first), Some(last)) => (first.day.as_str(), last.day.as_str()),
        _ => return "No days to show.".to_owned(),
    };
    let rate = total.rate().map_or_else(
        || "no rate (nothing sent)".to_owned(),
        |r| format!("a rate of {}", r.percent()),
    );
    format!(
        "From {first} to {last}: {} sent under own keys, {} under the default key ({rate}); {} held, {} outcome unknown, {} pending.",
        total.own, total.default, total.held, total.outcome_unknown, total.pending
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_rounds_half_up_in_tenths() {
        assert_eq!(Rate::of(0, 0), None);
        assert_eq!(Rate::of(3, 2), None);
        assert_eq!(Rate::of(1, 1).expect("a rate").percent(), "100.0%");
        assert_eq!(Rate::of(0, 5).expect("a rate").percent(), "0.0%");
        assert_eq!(Rate::of(2, 3).expect("a rate").percent(), "66.7%");
        assert_eq!(Rate::of(1, 3).expect("a rate").percent(), "33.3%");
        assert_eq!(Rate::of(7, 8).expect("a rate").percent(), "87.5%");
        assert_eq!(Rate::of(1, 2000).expect("a rate").percent(), "0.1%"); // 0.05% rounds up
        assert_eq!(
            Rate::of(i64::MAX, i64::MAX).expect("a rate").percent(),
            "100.0%"
        );
    }

    #[test]
    fn change_is_in_points() {
        let now = Rate::of(9, 10).expect("a rate");
        assert_eq!(
            now.change_from(Rate::of(7, 8).expect("a rate")),
            "up 2.5 points"
        );
        assert_eq!(
            Rate::of(7, 8).expect("a rate").change_from(now),
            "down 2.5 points"
        );
        assert_eq!(now.change_from(now), "unchanged");
    }

    #[test]
    fn the_rate_leaves_out_what_was_not_sent() {
        let mut counts = Counts::default();
        counts.add(Bucket::Own, 2);
        counts.add(Bucket::Default, 1);
        counts.add(Bucket::Held, 40);
        counts.add(Bucket::Pending, 5);
        counts.add(Bucket::OutcomeUnknown, 3);
        counts.add(Bucket::Dismissed, 9);
        assert_eq!(counts.sent(), 3);
        assert_eq!(counts.rate().expect("a rate").percent(), "66.7%");
        let line = headline(&counts, &Counts::default());
        assert!(
            line.starts_with("66.7% of 3 reports sent in the last 7 days"),
            "{line}"
        );
        assert!(
            line.contains("40 held, 3 outcome unknown, 5 pending, 9 dismissed"),
            "{line}"
        );
    }

    #[test]
    fn buckets_round_trip_their_codes() {
        for bucket in Bucket::ALL {
            assert_eq!(Bucket::from_code(bucket.code()), Some(bucket));
        }
        assert_eq!(Bucket::from_code("sent"), None);
    }
}
