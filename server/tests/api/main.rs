//! Integration tests: the real server on port 0, a fresh database per test (SQLite, and PostgreSQL when
//! `TEST_POSTGRES_URL` is set), driven over HTTP like the browser drives it.
//!
//! Every test runs once per backend, as `<module>::<test>::sqlite` and `<module>::<test>::postgres`.
//! The test command skips the `postgres` ones (and says so) when no PostgreSQL is configured; run
//! directly without the variable, a `postgres` test fails rather than pass without testing anything.

mod harness;

mod accountability;
mod admin;
mod credentials;
mod errors;
mod exactly_once;
mod keys;
mod licenses;
mod metrics;
mod passwords;
mod probes;
mod reports;
mod sign_in;
