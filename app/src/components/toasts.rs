//! Notifications at the bottom of the screen ("toasts").
//!
//! One shows at a time, as the article describes ("a notification at the bottom of your screen"); later
//! ones wait their turn, so nothing is lost and a screen reader announces each exactly once, when it
//! appears. Successes and information are announced politely (`role="status"`); errors interrupt
//! (`role="alert"`). Each goes by itself after a while, or at once with its dismiss button.

use leptos::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub message: String,
}

/// The queue of notifications, the first one showing; `Copy`, so any component can hold it.
#[derive(Debug, Clone, Copy)]
pub struct ToastQueue {
    toasts: RwSignal<VecDeque<Toast>>,
    next_id: StoredValue<u64>,
}

/// How long a notification shows; errors stay longer, since they say what to do next.
const SUCCESS_FOR: Duration = Duration::from_secs(6);
const ERROR_FOR: Duration = Duration::from_secs(12);

impl ToastQueue {
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn push(&self, kind: ToastKind, message: String) {
        // The same message already waiting or showing is not queued again.
        if self.toasts.read_untracked().iter().any(|t| t.message == message) {
            return;
        }
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let was_empty = self.toasts.read_untracked().is_empty();
        self.toasts
            .update(|queue| queue.push_back(Toast { id, kind, message }));
        if was_empty {
            self.expire_front();
        }
    }

    /// Removes a notification; the next one, if any, shows and starts its own time.
    pub fn dismiss(&self, id: u64) {
        let was_front = self.toasts.read_untracked().front().is_some_and(|t| t.id == id);
        self.toasts.update(|queue| queue.retain(|t| t.id != id));
        if was_front {
            self.expire_front();
        }
    }

    /// Schedules the end of the notification now showing. A timer whose notification was already
    /// dismissed finds nothing to remove.
    fn expire_front(&self) {
        let Some((id, kind)) = self.toasts.read_untracked().front().map(|t| (t.id, t.kind)) else {
            return;
        };
        let stay = match kind {
            ToastKind::Success => SUCCESS_FOR,
            ToastKind::Error => ERROR_FOR,
        };
        let queue = *self;
        set_timeout(move || queue.dismiss(id), stay);
    }
}

pub fn provide_toasts() {
    provide_context(ToastQueue {
        toasts: RwSignal::new(VecDeque::new()),
        next_id: StoredValue::new(0),
    });
}

pub fn use_toasts() -> ToastQueue {
    expect_context::<ToastQueue>()
}

/// The notification area, fixed at the bottom of the screen.
#[component]
pub fn Toasts() -> impl IntoView {
    let queue = use_toasts();
    let showing = Memo::new(move |_| queue.toasts.read().front().cloned());
    view! {
        <div class="toasts">
            {move || showing.get().map(|toast| {
                let error = toast.kind == ToastKind::Error;
                view! {
                    <div class="toast" class:toast-error=error role=if error { "alert" } else { "status" }>
                        <span class="toast-message">{toast.message}</span>
                        <button
                            type="button"
                            class="toast-dismiss"
                            aria-label="Dismiss notification"
                            on:click=move |_| queue.dismiss(toast.id)
                        >
                            "×"
                        </button>
                    </div>
                }
            })}
        </div>
    }
}
