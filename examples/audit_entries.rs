//! The data of `bench/audit_verify.sh`: appends N audit entries to the database at DATABASE_URL
//! through `services::audit::record` (the chain the server writes), in one transaction, much
//! faster than N mutations through the API, then seals them as `serve`'s sealer does.
// A benchmark tool run by hand: a failure may panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::process::ExitCode;

use clap::Parser;
use jaminan::auth::{Actor, Role};
use jaminan::services::audit::{self, AuditEntity};
use jaminan::services::audit_sealer;
use sea_orm::TransactionTrait;

#[derive(Parser)]
struct Args {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many entries.
    #[arg(long, default_value_t = 10_000)]
    entries: i64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match append(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn append(args: &Args) -> Result<(), String> {
    let db = jaminan::app::startup::open_url(&args.database_url).await.map_err(|e| e.to_string())?;
    let actor = Actor { key_id: 1, key_name: "bench".into(), role: Role::Admin, scope: None, person: None };
    let txn = db.begin().await.map_err(|e| e.to_string())?;
    for id in 1..=args.entries {
        // About the size of a registration's entry.
        let after = serde_json::json!({
            "id": id, "nik": "3603121505850001", "full_name": format!("Pekerja {id}"), "gender": "FEMALE",
            "occupation": "FISHER", "regency_code": "36.03", "district_code": "36.03.01", "status": "ALIVE",
        });
        audit::record(&txn, &actor, "registerWorker", AuditEntity::Worker, id, None, Some(&after))
            .await
            .map_err(|e| e.text(jaminan::i18n::Lang::En))?;
    }
    txn.commit().await.map_err(|e| e.to_string())?;
    // PostgreSQL: sealed into the chain as `serve` would (SQLite chained them as they went in).
    audit_sealer::seal_committed(&db, std::time::Duration::from_secs(60))
        .await
        .map_err(|e| e.text(jaminan::i18n::Lang::En))?
        .ok_or("a transaction still running held the sealing back")?;
    println!("{} audit entries appended", args.entries);
    Ok(())
}
