//! `jaminan`: parses the command line and hands it to `jaminan::cli`.
use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a request allocates many small short-lived objects on two threads, where glibc's
/// malloc spent a fifth of the server's time (arena locks, consolidation) under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    jaminan::cli::run(jaminan::cli::Cli::parse()).await
}
