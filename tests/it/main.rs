//! The integration tests: one binary, a module per area (each was a binary of its own, and each
//! compiled tests/it/common again).
// Tests fail loudly: unwrap and expect are theirs to use (the crate denies them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
mod common;

mod access;
mod areas;
mod audit;
mod audit_sealer;
mod backup;
mod browser;
mod cancellation;
mod cli;
mod clients;
mod coverage;
mod demo;
mod docs;
mod faults;
mod fuzz;
mod hardening;
mod http;
mod import;
mod import_cli;
mod import_page;
mod language;
mod layers;
mod live;
mod logs;
mod metrics;
mod migrations;
mod oidc;
mod outage;
mod payout_model;
mod payouts;
mod people;
mod privacy;
mod publication;
mod replica;
mod schema_snapshot;
mod seed;
mod shared_budgets;
mod shutdown;
mod signin;
mod snapshots;
mod stats;
mod summaries;
mod traces;
mod trusted_documents;
mod workers;
mod xlsx;
