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

/// The notification showing and those waiting; `Copy`, so any component can hold it.
#[derive(Debug, Clone, Copy)]
pub struct ToastQueue {
    showing: RwSignal<Option<Toast>>,
    waiting: StoredValue<VecDeque<Toast>>,
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
        // The same message already showing or waiting is not queued again.
        let duplicate = self
            .showing
            .read_untracked()
            .iter()
            .chain(self.waiting.read_value().iter())
            .any(|t| t.message == message);
        if duplicate {
            return;
        }
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        let toast = Toast { id, kind, message };
        if self.showing.read_untracked().is_none() {
            self.show(toast);
        } else {
            self.waiting.update_value(|w| w.push_back(toast));
        }
    }

    /// Removes a notification; when it was showing, the next one waiting shows.
    pub fn dismiss(&self, id: u64) {
        if self
            .showing
            .read_untracked()
            .as_ref()
            .is_some_and(|t| t.id == id)
        {
            match self.waiting.try_update_value(VecDeque::pop_front).flatten() {
                Some(next) => self.show(next),
                None => self.showing.set(None),
            }
        } else {
            self.waiting.update_value(|w| w.retain(|t| t.id != id));
        }
    }

    /// Shows a notification and schedules its end. A timer whose notification was already dismissed
    /// finds nothing to remove.
    fn show(&self, toast: Toast) {
        let (id, stay) = match toast.kind {
            ToastKind::Success => (toast.id, SUCCESS_FOR),
            ToastKind::Error => (toast.id, ERROR_FOR),
        };
        self.showing.set(Some(toast));
        let queue = *self;
        set_timeout(move || queue.dismiss(id), stay);
    }
}

pub fn provide_toasts() {
    provide_context(ToastQueue {
        showing: RwSignal::new(None),
        waiting: StoredValue::new(VecDeque::new()),
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
    view! {
        <div class="toasts">
            {move || queue.showing.get().map(|toast| {
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
