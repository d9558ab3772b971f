//! The chaos harness (`cargo test -p chaos`; a long run with `cargo run -p chaos --release -- --seconds 600
//! --seed N`): real server processes on one database — two or three on PostgreSQL, one on SQLite — and the
//! METRC simulator failing at random from a seeded mix; servers killed with `SIGKILL` and restarted, keys
//! revoked and saved again, the default key removed and set again, registers recording throughout. When
//! the faults stop and every key is good again, the queue drains and [`checks`] hold the product to its
//! promise: nothing in METRC twice, nothing lost, nothing under another person's key.
//!
//! The servers are the server's own entry point ([`server::cli`]) linked into this crate's binary and run
//! as `chaos server`: so that a build with the planted faults (`--features planted-faults`) has a binary
//! of its own and never replaces the `server` binary.

pub mod campaign;
pub mod checks;
pub mod cluster;
pub mod scenarios;
pub mod schedule;
pub mod world;
