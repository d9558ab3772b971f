//! Sales receipts and package adjustments: METRC's row rules, its 10-object limit, stock that moves,
//! and a record of everything accepted with the user key it came under.
//!
//! A batch is all-or-nothing: one bad row rejects the whole batch with every row's problems, as
//! `[{"row": i, "message": …}]` (docs/metrc.md: the assumption we and our client both follow).

use crate::world::StateWorld;
use serde::{Deserialize, Serialize};

/// The most objects METRC takes in one POST; above it answers 413.
pub const MAX_OBJECTS: usize = 10;
/// The longest adjustment note METRC accepts.
pub const MAX_NOTE_CHARS: usize = 200;

pub const CUSTOMER_TYPES: [&str; 5] = [
    "Consumer",
    "Patient",
    "Caregiver",
    "ExternalPatient",
    "NonResidentConsumer",
];

/// A package at a license: its label, unit and stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub license_number: String,
    pub label: String,
    /// A unit name METRC uses, e.g. `Grams` or `Each`.
    pub unit: String,
    pub quantity: f64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// Something METRC accepted, and who sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    pub id: u64,
    pub license_number: String,
    pub user_key: String,
    pub body: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// Whether a unit name is count-based (`Each`) or weight-based; `None` for a unit METRC does not know.
pub fn unit_kind(unit: &str) -> Option<&'static str> {
    match unit {
        "Each" => Some("CountBased"),
        "Ounces" | "Pounds" | "Grams" | "Milligrams" | "Kilograms" => Some("WeightBased"),
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS` with optional `.fff`, and no offset: facility-local wall-clock time.
fn is_local_date_time(value: &str) -> bool {
    let (date, time) = match value.split_once('T') {
        Some(parts) => parts,
        None => return false,
    };
    let time = time.split_once('.').map_or(time, |(t, fraction)| {
        if fraction.chars().all(|c| c.is_ascii_digit()) && !fraction.is_empty() {
            t
        } else {
            "invalid"
        }
    });
    is_date(date)
        && time.len() == 8
        && time.char_indices().all(|(i, c)| {
            if i == 2 || i == 5 {
                c == ':'
            } else {
                c.is_ascii_digit()
            }
        })
}

fn is_date(value: &str) -> bool {
    value.len() == 10
        && value.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Checks one package movement (a sale line or an adjustment) against the package and the stock the
/// batch has already moved; returns the problem, or records the movement in `moved`.
fn check_movement(
    world: &StateWorld,
    license: &str,
    label: Option<&str>,
    unit: Option<&str>,
    delta: f64,
    moved: &mut Moves,
) -> Result<(), String> {
    let label = label.ok_or("PackageLabel is required.")?;
    let package = world
        .packages
        .get(&(license.to_owned(), label.to_owned()))
        .filter(|p| p.active)
        .ok_or_else(|| format!("Package {label} is not an active package at {license}."))?;
    let unit = unit.ok_or("UnitOfMeasure is required.")?;
    match (unit_kind(unit), unit_kind(&package.unit)) {
        (None, _) => return Err(format!("{unit} is not a unit of measure.")),
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "Package {label} is measured in {}, not {unit}.",
                package.unit
            ));
        }
        _ => {}
    }
    let total = moved.entry(label.to_owned()).or_insert(0.0);
    if package.quantity + *total + delta < -1e-9 {
        return Err(format!("Package {label} does not have enough stock."));
    }
    *total += delta;
    Ok(())
}

/// Stock each package label would move by, across a batch.
pub type Moves = std::collections::HashMap<String, f64>;

/// Which rules a batch is checked against.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Receipts,
    Adjustments,
}

/// The row problems of a batch (empty when the batch is acceptable), and the stock changes it would
/// make. Every row is checked, so that the answer names all of them.
pub fn check_batch(
    world: &StateWorld,
    license: &str,
    rows: &[serde_json::Value],
    kind: Kind,
) -> (Vec<RowError>, Moves) {
    let mut errors = Vec::new();
    let mut moved = Moves::new();
    for (row, object) in rows.iter().enumerate() {
        let problems = match kind {
            Kind::Receipts => receipt_problems(world, license, object, &mut moved),
            Kind::Adjustments => adjustment_problems(world, license, object, &mut moved),
        };
        errors.extend(
            problems
                .into_iter()
                .map(|message| RowError { row, message }),
        );
    }
    (errors, moved)
}

/// One sales receipt against METRC's rules.
fn receipt_problems(
    world: &StateWorld,
    license: &str,
    receipt: &serde_json::Value,
    moved: &mut Moves,
) -> Vec<String> {
    let mut problems = Vec::new();
    if !receipt["SalesDateTime"]
        .as_str()
        .is_some_and(is_local_date_time)
    {
        problems.push("SalesDateTime must be a local date and time without an offset.".into());
    }
    if !receipt["SalesCustomerType"]
        .as_str()
        .is_some_and(|t| CUSTOMER_TYPES.contains(&t))
    {
        problems.push("SalesCustomerType is not a customer type.".into());
    }
    let transactions = receipt["Transactions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if transactions.is_empty() {
        problems.push("A receipt needs at least one transaction.".into());
    }
    for line in transactions {
        let quantity = line["Quantity"].as_f64().unwrap_or(0.0);
        if quantity <= 0.0 {
            problems.push("Quantity must be more than zero.".into());
            continue;
        }
        let movement = check_movement(
            world,
            license,
            line["PackageLabel"].as_str(),
            line["UnitOfMeasure"].as_str(),
            -quantity,
            moved,
        );
        problems.extend(movement.err());
    }
    problems
}

/// One package adjustment against METRC's rules.
fn adjustment_problems(
    world: &StateWorld,
    license: &str,
    adjustment: &serde_json::Value,
    moved: &mut Moves,
) -> Vec<String> {
    let mut problems = Vec::new();
    let reason = adjustment["AdjustmentReason"].as_str().unwrap_or_default();
    let note = adjustment["ReasonNote"].as_str().unwrap_or_default();
    match world.adjust_reasons.iter().find(|r| r.name == reason) {
        None => problems.push(format!("{reason:?} is not an adjustment reason.")),
        Some(r) if r.requires_note && note.trim().is_empty() => {
            problems.push(format!("The reason {reason} requires a note."));
        }
        Some(_) => {}
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        problems.push(format!(
            "ReasonNote has more than {MAX_NOTE_CHARS} characters."
        ));
    }
    if !adjustment["AdjustmentDate"].as_str().is_some_and(is_date) {
        problems.push("AdjustmentDate must be a date (YYYY-MM-DD).".into());
    }
    match adjustment["Quantity"].as_f64().filter(|q| *q != 0.0) {
        None => problems.push("Quantity must be a non-zero number.".into()),
        Some(quantity) => {
            let movement = check_movement(
                world,
                license,
                adjustment["Label"].as_str(),
                adjustment["UnitOfMeasure"].as_str(),
                quantity,
                moved,
            );
            problems.extend(movement.err());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sales_times_are_local_without_an_offset() {
        assert!(is_local_date_time("2026-11-27T14:05:09"));
        assert!(is_local_date_time("2026-11-27T14:05:09.123"));
        assert!(!is_local_date_time("2026-11-27T14:05:09Z"));
        assert!(!is_local_date_time("2026-11-27T14:05:09-07:00"));
        assert!(!is_local_date_time("2026-11-27T14:05:09.123+01:00"));
        assert!(!is_local_date_time("2026-11-27 14:05:09"));
        assert!(!is_local_date_time("2026-11-27T14:05:09."));
    }
}
