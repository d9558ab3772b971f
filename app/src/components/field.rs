//! A labelled text field with its error line: the label names the input, and the error (when there is
//! one) marks it `aria-invalid` and is read out as its description.

use leptos::prelude::*;
use shared::api::FieldError;

/// The error message for one field, out of a form's list of field errors.
pub fn error_for(errors: RwSignal<Vec<FieldError>>, field: &'static str) -> Signal<Option<String>> {
    Signal::derive(move || {
        errors
            .read()
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.clone())
    })
}

#[component]
pub fn TextField(
    /// The input's id and name; also the field name in error lists.
    id: &'static str,
    label: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    value: RwSignal<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <label for=id>{label}</label>
        <input
            id=id
            name=id
            type=input_type
            autocomplete=autocomplete
            required
            bind:value=value
            aria-invalid=move || error.read().is_some().to_string()
            aria-describedby=error_id.clone()
        />
        <p id=error_id class="field-error">{move || error.get()}</p>
    }
}
