//! Notifications at the bottom of the screen ("toasts").
//!
//! Successes and information are announced politely (`role="status"`); errors interrupt
//! (`role="alert"`). Each disappears by itself after a while and can be dismissed at once.

use leptos::prelude::*;
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

/// The queue of visible notifications; `Copy`, so any component can hold it.
#[derive(Debug, Clone, Copy)]
pub struct ToastQueue {
    toasts: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

/// How long a notification stays; errors stay longer, since they say what to do next.
const SUCCESS_FOR: Duration = Duration::from_secs(6);
const ERROR_FOR: Duration = Duration::from_secs(12);
/// At most this many notifications show at once; the oldest goes first.
const MAX_VISIBLE: usize = 4;

impl ToastQueue {
    pub fn success(&self, message: impl Into<String>) {
        self.push(ToastKind::Success, message.into());
    }

    pub fn error(&self, message: impl Into<String>) {
        self.push(ToastKind::Error, message.into());
    }

    fn push(&self, kind: ToastKind, message: String) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.toasts.update(|list| {
            // The same message twice in a row is shown once, for the later time.
            list.retain(|t| t.message != message);
            list.push(Toast { id, kind, message });
            let excess = list.len().saturating_sub(MAX_VISIBLE);
            list.drain(..excess);
        });
        let queue = *self;
        let stay = match kind {
            ToastKind::Success => SUCCESS_FOR,
            ToastKind::Error => ERROR_FOR,
        };
        set_timeout(move || queue.dismiss(id), stay);
    }

    pub fn dismiss(&self, id: u64) {
        self.toasts.update(|list| list.retain(|t| t.id != id));
    }
}

pub fn provide_toasts() {
    provide_context(ToastQueue {
        toasts: RwSignal::new(Vec::new()),
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
            <For each=move || queue.toasts.get() key=|t| t.id let:toast>
                <div
                    class="toast"
                    class:toast-error=toast.kind == ToastKind::Error
                    role=if toast.kind == ToastKind::Error { "alert" } else { "status" }
                >
                    <span class="toast-message">{toast.message.clone()}</span>
                    <button
                        type="button"
                        class="toast-dismiss"
                        aria-label="Dismiss notification"
                        on:click=move |_| queue.dismiss(toast.id)
                    >
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
