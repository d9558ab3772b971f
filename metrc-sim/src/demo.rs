//! The demo world (`--seed demo`): fixed values, the same every run, listed in the README.

use crate::Simulator;
use crate::world::{AdjustReason, Facility};

pub const VENDOR_KEY: &str = "demo-vendor-key";
/// A Colorado user key that reaches both Colorado licenses.
pub const CO_BOTH: &str = "demo-co-both-licenses-00000000000000000000000001";
/// A Colorado user key that reaches only 402R-00101 (a mismatch for a credential on both).
pub const CO_COLFAX_ONLY: &str = "demo-co-colfax-only-0000000000000000000000000002";
/// A Massachusetts user key that reaches MR281001.
pub const MA_NEWBURY: &str = "demo-ma-newbury-00000000000000000000000000000003";
/// A Colorado user key that METRC has revoked (invalid).
pub const CO_REVOKED: &str = "demo-co-revoked-00000000000000000000000000000004";
/// A Colorado manager's key reaching both Colorado licenses (the organization's default key).
pub const CO_MANAGER: &str = "demo-co-manager-00000000000000000000000000000005";

pub const COLFAX: &str = "402R-00101";
pub const PEARL: &str = "402R-00102";
pub const NEWBURY: &str = "MR281001";

/// Loads the demo world into an empty simulator.
pub fn seed(sim: &Simulator) {
    for state in ["co", "ma"] {
        sim.add_vendor_key(state, VENDOR_KEY);
    }
    for (state, number, name, license_type) in [
        (
            "co",
            COLFAX,
            "Denver – Colfax Ave",
            "Retail Marijuana Store",
        ),
        ("co", PEARL, "Boulder – Pearl St", "Retail Marijuana Store"),
        ("ma", NEWBURY, "Boston – Newbury St", "Marijuana Retailer"),
    ] {
        sim.add_facility(
            state,
            Facility {
                license_number: number.into(),
                name: name.into(),
                license_type: license_type.into(),
            },
        );
    }
    for state in ["co", "ma"] {
        for (name, requires_note) in [
            ("Drying", false),
            ("Entry Error", false),
            ("Theft", true),
            ("Damage", true),
        ] {
            sim.add_adjust_reason(
                state,
                AdjustReason {
                    name: name.into(),
                    requires_note,
                    requires_waste_weight: false,
                },
            );
        }
    }
    // Three packages with stock at each license: flower by weight, pre-rolls and edibles by count.
    for (state, license) in [("co", COLFAX), ("co", PEARL), ("ma", NEWBURY)] {
        for (suffix, unit, quantity) in [
            ("0001", "Grams", 1000.0),
            ("0002", "Each", 200.0),
            ("0003", "Each", 150.0),
        ] {
            sim.add_package(
                state,
                crate::reports::Package {
                    license_number: license.into(),
                    label: package_label(license, suffix),
                    unit: unit.into(),
                    quantity,
                    active: true,
                },
            );
        }
    }
    sim.add_user_key("co", CO_BOTH, &[COLFAX, PEARL]);
    sim.add_user_key("co", CO_COLFAX_ONLY, &[COLFAX]);
    sim.add_user_key("ma", MA_NEWBURY, &[NEWBURY]);
    sim.add_user_key("co", CO_REVOKED, &[COLFAX, PEARL]);
    sim.revoke_user_key("co", CO_REVOKED);
    sim.add_user_key("co", CO_MANAGER, &[COLFAX, PEARL]);
}

/// The demo package labels: `1A4` + the license number without punctuation, padded, + a suffix
/// (`0001` grams of flower, `0002` and `0003` counted items), e.g. `1A4402R00101000000000001`.
pub fn package_label(license: &str, suffix: &str) -> String {
    let compact: String = license
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    format!("1A4{compact:0<17}{suffix}")
}
