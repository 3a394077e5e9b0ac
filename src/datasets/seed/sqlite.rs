//! Loading the seed into SQLite: one transaction of multi-row INSERTs (SQLite has one writer and
//! no COPY; within a transaction it writes about as fast as it can parse).
use std::sync::Arc;

use indicatif::ProgressBar;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};

use super::plan::{Authors, Plan};
use super::report::SeedReport;
use crate::db::insert_in_chunks;
use crate::entities::{api_key, coverage, coverage_target, payout, worker};
use crate::stats::summary;
use crate::stats::tally::{Tally, WorkerRows};

/// Workers generated between two multi-row INSERT rounds.
const BATCH: usize = 20_000;

pub(super) async fn load(
    db: &DatabaseConnection,
    plan: Arc<Plan>,
    progress: &ProgressBar,
) -> Result<SeedReport, DbErr> {
    let txn = db.begin().await?;
    if worker::Entity::find().count(&txn).await? > 0
        || coverage::Entity::find().count(&txn).await? > 0
        || payout::Entity::find().count(&txn).await? > 0
        || coverage_target::Entity::find().count(&txn).await? > 0
    {
        return Err(DbErr::Custom("seed: the database already has workers or targets; seed an empty database".into()));
    }
    let authors = insert_authors(&txn).await?;
    progress.set_message("workers");
    let mut tally = Tally::default();
    let mut report = SeedReport::default();
    let mut people = plan.people(authors).peekable();
    while people.peek().is_some() {
        let batch: Vec<_> = people.by_ref().take(BATCH).collect();
        for person in &batch {
            tally.add_worker_rows(
                WorkerRows { worker: &person.worker, coverages: &person.coverages, payouts: &person.payouts },
                1,
            );
        }
        report.workers +=
            insert_in_chunks(&txn, batch.iter().map(|p| set_all::<_, worker::ActiveModel>(p.worker.clone()))).await?;
        let coverages = batch.iter().flat_map(|p| &p.coverages).map(|c| set_all::<_, coverage::ActiveModel>(c.clone()));
        report.coverages += insert_in_chunks(&txn, coverages).await?;
        let payouts: Vec<payout::ActiveModel> =
            batch.iter().flat_map(|p| &p.payouts).map(|p| set_all(p.clone())).collect();
        if !payouts.is_empty() {
            report.payouts += insert_in_chunks(&txn, payouts).await?;
        }
        progress.inc(batch.len() as u64);
    }
    progress.set_message("summaries");
    let targets = plan.targets(&tally);
    for target in &targets {
        tally.add_target(target, 1);
    }
    let rows = targets.iter().map(|t| coverage_target::ActiveModel { id: sea_orm::NotSet, ..set_all(t.clone()) });
    report.targets = insert_in_chunks(&txn, rows).await?;
    summary::replace(&txn, &tally.without_zeros()).await?;
    txn.execute_unprepared("DELETE FROM stats_rebuild_request").await?;
    txn.commit().await?;
    Ok(report)
}

/// Every field of a model to insert as it is (ids included).
fn set_all<M, A>(model: M) -> A
where
    A: ActiveModelTrait + From<M>,
{
    A::from(model).reset_all()
}

/// See the PostgreSQL loader: revoked keys that only give the payouts their authors.
async fn insert_authors<C: ConnectionTrait>(txn: &C) -> Result<Authors, DbErr> {
    let mut ids = Vec::new();
    for (name, role) in [("seed operator", "OPERATOR"), ("seed supervisor", "SUPERVISOR")] {
        let now = chrono::Utc::now();
        let row = api_key::ActiveModel {
            name: Set(name.to_owned()),
            role: Set(role.to_owned()),
            scope: Set(None),
            key_hash: Set(format!("revoked seed key {name} {}", uuid::Uuid::new_v4())),
            created_at: Set(now),
            revoked_at: Set(Some(now)),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        ids.push(row.id);
    }
    Ok(Authors { operator: ids[0], supervisor: ids[1] })
}
