//! Background tasks that never stop silently: each runs under a supervisor that restarts it after a panic
//! or an early return — with a growing pause (1 s doubling to a minute, back to 1 s after a minute of
//! health) and an error line naming the cause — and that keeps a heartbeat a readiness check can read.
//!
//! Written here rather than taken from a crate: it is one loop over tokio's own `JoinHandle` (which
//! already catches a task's panic), and the crates that offer supervision trees bring a runtime model we
//! do not need.

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;

/// When a background task said it would show it is alive again at the latest (unix seconds; 0 before its
/// first beat). A task about to wait says how long: a readiness check then knows a quiet task from a
/// stuck one.
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicI64);

impl Heartbeat {
    /// Alive now, and again within `next` (the wait or the work ahead).
    pub fn beat_within(&self, next: Duration) {
        let next = i64::try_from(next.as_secs()).unwrap_or(i64::MAX / 4);
        self.0.store(
            crate::db::now_unix().saturating_add(next),
            Ordering::Relaxed,
        );
    }

    /// When the next beat is due at the latest; `None` before the first.
    pub fn due(&self) -> Option<i64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|due| *due != 0)
    }
}

/// The heartbeats of this process's background tasks.
#[derive(Debug)]
pub struct Heartbeats {
    pub outbox: Heartbeat,
    pub health: Heartbeat,
    pub tally: Heartbeat,
    /// When the tasks were set up (unix seconds): a task that never beat is late since then.
    pub started_at: i64,
}

impl Default for Heartbeats {
    fn default() -> Self {
        Heartbeats {
            outbox: Heartbeat::default(),
            health: Heartbeat::default(),
            tally: Heartbeat::default(),
            started_at: crate::db::now_unix(),
        }
    }
}

/// A task that is aborted when this is dropped: a supervisor, and what it supervises, live exactly as long
/// as their owner (the serving server, whether it stops, fails to start, or is itself dropped).
#[derive(Debug)]
pub struct AbortOnDrop(JoinHandle<()>);

impl AbortOnDrop {
    /// Spawns a task that lives as long as the guard.
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> AbortOnDrop {
        AbortOnDrop(tokio::spawn(task))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `make()`'s task for as long as the returned guard lives, restarting it whenever it ends.
pub fn spawn<F, Fut>(name: &'static str, make: F) -> AbortOnDrop
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    AbortOnDrop(tokio::spawn(async move {
        let mut pause = FIRST_PAUSE;
        loop {
            let started = tokio::time::Instant::now();
            let mut task = AbortOnDrop(tokio::spawn(make()));
            let cause = match (&mut task.0).await {
                Ok(()) => "it returned".to_owned(),
                Err(e) if e.is_panic() => format!("it panicked: {}", panic_message(e.into_panic())),
                Err(e) => e.to_string(),
            };
            if started.elapsed() > HEALTHY {
                pause = FIRST_PAUSE;
            }
            tracing::error!(task = name, %cause, restart_in_ms = pause.as_millis(), "a background task stopped; restarting it");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }))
}

const FIRST_PAUSE: Duration = Duration::from_secs(1);
const LONGEST_PAUSE: Duration = Duration::from_secs(60);
/// A task that ran this long before it stopped was healthy: the next restart is quick again.
const HEALTHY: Duration = Duration::from_secs(60);

pub(crate) fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicU32;

    #[tokio::test(start_paused = true)]
    async fn a_task_that_panics_is_restarted_and_dropping_the_supervisor_stops_it() {
        let runs = Arc::new(AtomicU32::new(0));
        let counted = runs.clone();
        let supervisor = spawn("test", move || {
            let runs = counted.clone();
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("planted");
                }
                std::future::pending::<()>().await;
            }
        });
        // Two panics, restarted after 1 s and 2 s; the third run stays up.
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        drop(supervisor);
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "nothing restarts after the supervisor is gone"
        );
    }

    #[test]
    fn panic_messages_are_read_from_either_payload() {
        assert_eq!(panic_message(Box::new("static")), "static");
        assert_eq!(panic_message(Box::new(String::from("owned"))), "owned");
        assert_eq!(panic_message(Box::new(7)), "a panic without a message");
    }
}
