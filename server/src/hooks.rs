//! Test hooks: a pause at a named point of a write, so a test can widen a race window on purpose and
//! prove that a lock, not luck, keeps a promise. Only the `test-hooks` feature compiles them in; the
//! server's own tests turn it on, and a release build (`cargo build`, `scripts/run`) has none: [`pause`]
//! is then an empty function.

/// Where a write can be paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Verify & Save's write transaction has begun; nothing is locked or checked yet.
    KeyWriteStarted,
    /// Verify & Save's write transaction holds its lock and has checked the user and the key's holders;
    /// nothing is written yet.
    KeyWriteChecked,
    /// A sign-in's password proved right; its session is not started yet.
    SignInVerified,
    /// The start of an outbox pass.
    OutboxPass,
    /// An outbox pass has chosen its keys; what it decided without METRC (holds) is not written yet.
    OutboxDecided,
}

#[cfg(feature = "test-hooks")]
mod enabled {
    use super::Point;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::sync::Notify;

    /// The pauses a test set, each with what it tells the test when a request reaches it, and the
    /// points where the next arrival panics.
    #[derive(Debug, Default)]
    pub struct Hooks {
        pauses: Mutex<HashMap<Point, (Duration, Arc<Notify>)>>,
        panics: Mutex<Vec<Point>>,
    }

    impl Hooks {
        /// Every request reaching `point` waits `pause` there from now on; the returned `Notify` is
        /// notified each time one arrives.
        pub fn pause_at(&self, point: Point, pause: Duration) -> Arc<Notify> {
            let reached = Arc::new(Notify::new());
            self.pauses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(point, (pause, reached.clone()));
            reached
        }

        /// The next arrival at `point` panics (once).
        pub fn panic_at(&self, point: Point) {
            self.panics
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(point);
        }

        pub(crate) async fn pause(&self, point: Point) {
            let planted = {
                let mut panics = self
                    .panics
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let found = panics.iter().position(|p| *p == point);
                found.map(|i| panics.remove(i))
            };
            if let Some(point) = planted {
                panic!("a panic planted by a test at {point:?}");
            }
            let found = self
                .pauses
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&point)
                .cloned();
            if let Some((pause, reached)) = found {
                reached.notify_one();
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(feature = "test-hooks")]
pub use enabled::Hooks;

/// Waits at `point` if a test asked for a pause there.
#[cfg(feature = "test-hooks")]
pub async fn pause(state: &crate::AppState, point: Point) {
    state.hooks.pause(point).await;
}

/// Waits at `point` if a test asked for a pause there: never, without the `test-hooks` feature.
#[cfg(not(feature = "test-hooks"))]
pub async fn pause(_state: &crate::AppState, _point: Point) {}
