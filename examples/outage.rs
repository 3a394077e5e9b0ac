//! The load of `bench/outage.sh`: 200 clients take workers through enrollment, death and the
//! payout workflow while a command stops the database and another restarts it; prints the
//! figures and checks the database against what the clients were told. Exit 1 on a violation.
//! The same load as the `faults` test, where a TCP proxy stands in for the stopped database.
// A benchmark tool run by hand: a failure may panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "../tests/it/common/outage.rs"]
mod outage;

use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8090.
    #[arg(long)]
    url: String,
    /// Two ADMIN keys: the first submits, the second verifies and approves.
    #[arg(long)]
    admin: String,
    #[arg(long)]
    admin2: String,
    /// The server's database, checked afterwards.
    #[arg(long)]
    database_url: String,
    /// Shell command that takes the database away, and the one that brings it back.
    #[arg(long)]
    stop: String,
    #[arg(long)]
    start: String,
    #[arg(long, default_value_t = 200)]
    concurrency: usize,
    /// Seconds of load before the outage, of outage, and after the return.
    #[arg(long, default_value_t = 3)]
    before: u64,
    #[arg(long, default_value_t = 6)]
    down: u64,
    #[arg(long, default_value_t = 10)]
    after: u64,
}

fn shell(command: &str) {
    let status = Command::new("sh").args(["-c", command]).status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("`{command}` failed");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let target = outage::Target { url: args.url.clone(), admin: args.admin.clone(), admin2: args.admin2.clone() };
    let (stop, start) = (args.stop.clone(), args.start.clone());
    let run = outage::run(
        &target,
        args.concurrency,
        Duration::from_secs(args.before),
        move || shell(&stop),
        Duration::from_secs(args.down),
        move || shell(&start),
        Duration::from_secs(args.after),
    )
    .await;
    let figures = run.figures();
    println!("stop command to the end of the restart command: {:.1} s", (run.restored_at - run.cut_at).as_secs_f64());
    println!("{figures}");
    let db = match jaminan::db::connect(&args.database_url, 0).await {
        Ok(db) => db,
        Err(err) => {
            eprintln!("cannot check the database: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut problems = outage::check(&db, &run.acknowledged).await;
    let paid = run.acknowledged.payouts.values().filter(|s| **s == "PAID").count();
    println!(
        "acknowledged: {} workers, {} coverages, {} deaths, {} payouts ({paid} paid)",
        run.acknowledged.workers.len(),
        run.acknowledged.coverages.len(),
        run.acknowledged.deaths.len(),
        run.acknowledged.payouts.len()
    );
    if figures.slowest_during_outage >= Duration::from_secs(3) {
        problems.push("an answer during the outage took 3 s or more".into());
    }
    if figures.during_outage_503 != figures.during_outage {
        problems.push("a request sent while the database was away was not answered 503".into());
    }
    if figures.recovered_after >= Duration::from_secs(5) {
        problems.push("failures went on 5 s or more after the database returned".into());
    }
    problems.extend(figures.unexpected.iter().take(10).map(|o| format!("unexpected answer: {o:?}")));
    if problems.is_empty() {
        println!(
            "checked: every acknowledged write is stored, each transition has one audit entry, no payout twice, statistics exact"
        );
        ExitCode::SUCCESS
    } else {
        problems.iter().for_each(|p| eprintln!("violation: {p}"));
        ExitCode::FAILURE
    }
}
