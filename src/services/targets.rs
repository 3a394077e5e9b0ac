//! Yearly coverage targets per regency (one row per regency and year, set again = replaced).
use std::collections::HashSet;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::access::{require_reach, require_role};
use super::audit::{self, AuditEntity};
use super::{check_year, clean_text};
use crate::auth::{Caller, Role};
use crate::domain::types::FundingSource;
use crate::entities::{coverage_target, regency};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Changes;
use crate::services::AppState;
use crate::stats::tally::Tally;

/// A regency's target for a year, as the caller sets it.
#[derive(Debug, Clone)]
pub struct NewTarget {
    pub regency_code: String,
    pub year: i32,
    pub target_workers: i32,
    /// Estimated vulnerable workers in the regency: the denominator of coverageRate.
    pub eligible_workers: Option<i32>,
    pub budget: Option<i64>,
    pub funding_source: Option<FundingSource>,
    pub note: Option<String>,
}

pub async fn set(state: &AppState, caller: &Caller, input: NewTarget) -> AppResult<coverage_target::Model> {
    let actor = require_role(caller, Role::Supervisor)?;
    let regency = state
        .areas
        .regency(&input.regency_code)
        .ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    require_reach(actor, &regency.code)?;
    let year = check_year("year", input.year)?;
    if input.target_workers < 0 {
        return Err(AppError::bad_input("targetWorkers", Msg::NotNegative { field: "targetWorkers" }));
    }
    if input.eligible_workers.is_some_and(|n| n < 0) {
        return Err(AppError::bad_input("eligibleWorkers", Msg::NotNegative { field: "eligibleWorkers" }));
    }
    if input.budget.is_some_and(|b| b < 0) {
        return Err(AppError::bad_input("budget", Msg::NotNegative { field: "budget" }));
    }
    let note = input.note.as_deref().map(|n| clean_text("note", n, 1000)).transpose()?;
    let row = coverage_target::ActiveModel {
        regency_code: Set(regency.code.clone()),
        year: Set(year),
        target_workers: Set(input.target_workers.into()),
        eligible_workers: Set(input.eligible_workers.map(i64::from)),
        budget: Set(input.budget),
        funding_source: Set(input.funding_source),
        note: Set(note),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    use coverage_target::Column as C;
    let txn = state.db.begin().await?;
    // Two supervisors setting one target at once must add their changes to the summaries one
    // after the other, each from the value the other left: the regency's row is the lock (a
    // row lock on PostgreSQL, the write lock on SQLite), taken by writing before reading.
    lock_regency(&txn, &regency.code).await?;
    let before = find(&txn, &regency.code, year).await?;
    coverage_target::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([C::RegencyCode, C::Year])
                .update_columns([
                    C::TargetWorkers,
                    C::EligibleWorkers,
                    C::Budget,
                    C::FundingSource,
                    C::Note,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    let after = find(&txn, &regency.code, year)
        .await?
        .ok_or_else(|| AppError::Internal("target vanished after upsert".into()))?;
    let entry =
        audit::entry(actor, "setCoverageTarget", AuditEntity::CoverageTarget, after.id, before.as_ref(), Some(&after))?;
    let mut change = Tally::default();
    change.add_target(&after, 1);
    if let Some(before) = &before {
        change.add_target(before, -1);
    }
    let change = change.without_zeros();
    audit::append_with_summary(&txn, entry, &change).await?;
    state.live.commit(txn, Changes::stats(&change)).await?;
    Ok(after)
}

async fn lock_regency(txn: &DatabaseTransaction, code: &str) -> AppResult<()> {
    regency::Entity::update_many()
        .col_expr(regency::Column::Code, Expr::col(regency::Column::Code))
        .filter(regency::Column::Code.eq(code))
        .exec(txn)
        .await?;
    Ok(())
}

async fn find<C: ConnectionTrait>(db: &C, regency_code: &str, year: i32) -> AppResult<Option<coverage_target::Model>> {
    Ok(coverage_target::Entity::find()
        .filter(coverage_target::Column::RegencyCode.eq(regency_code))
        .filter(coverage_target::Column::Year.eq(year))
        .one(db)
        .await?)
}

/// Targets for several (regency, year) pairs in one query (for batched loading): the regencies
/// and the years as two IN lists, the other pairs dropped here. (An OR of 514 pairs nested 514
/// deep in sea-query's builder, whose recursion overflowed a 2 MB stack in debug builds.)
pub async fn get_many(state: &AppState, keys: &[(String, i32)]) -> AppResult<Vec<coverage_target::Model>> {
    let codes: HashSet<&str> = keys.iter().map(|(code, _)| code.as_str()).collect();
    let years: HashSet<i32> = keys.iter().map(|(_, year)| *year).collect();
    let wanted: HashSet<(&str, i32)> = keys.iter().map(|(code, year)| (code.as_str(), *year)).collect();
    let rows = coverage_target::Entity::find()
        .filter(coverage_target::Column::RegencyCode.is_in(codes))
        .filter(coverage_target::Column::Year.is_in(years))
        .all(&state.db)
        .await?;
    Ok(rows.into_iter().filter(|t| wanted.contains(&(t.regency_code.as_str(), t.year))).collect())
}
