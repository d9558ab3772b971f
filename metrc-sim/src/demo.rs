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
    sim.add_user_key("co", CO_BOTH, &[COLFAX, PEARL]);
    sim.add_user_key("co", CO_COLFAX_ONLY, &[COLFAX]);
    sim.add_user_key("ma", MA_NEWBURY, &[NEWBURY]);
    sim.add_user_key("co", CO_REVOKED, &[COLFAX, PEARL]);
    sim.revoke_user_key("co", CO_REVOKED);
    sim.add_user_key("co", CO_MANAGER, &[COLFAX, PEARL]);
}
