//! jaminan: a GraphQL API for regency-funded BPJS Ketenagakerjaan coverage of vulnerable workers.
//!
//! The crate is layered; a module uses its own layer and the ones below it, never one above
//! (docs/architecture.md, checked by the test suite's `layers` test):
//!
//! | layer | modules |
//! |---|---|
//! | 9 | `cli`: one file per command |
//! | 8 | `app`: state, startup, the server |
//! | 7 | `http`: router, GraphQL over HTTP and WebSocket, callers, responses, pages |
//! | 6 | `graphql`: admission of documents, resolvers, the schema |
//! | 5 | `services` (use cases, access, audit), `datasets` (demo, seed) |
//! | 4 | `stats` (the summary engine), `live` (the hub of committed changes) |
//! | 3 | `db`, `entities`, `areas`, `auth` (keys, budgets), `observability` |
//! | 2 | `error` |
//! | 1 | `i18n` |
//! | 0 | `domain`: rules without I/O |
//!
//! `config` holds every setting and default; any layer may read it, and it imports nothing of
//! the crate.
pub mod app;
pub mod areas;
pub mod auth;
pub mod cli;
pub mod config;
pub mod datasets;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod graphql;
pub mod http;
pub mod i18n;
pub mod live;
pub mod observability;
pub mod services;
pub mod stats;
