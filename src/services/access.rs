//! Who may read and change what, in one place: the role matrix and the regency scope of API keys.
//!
//! | caller     | reads                                                   | writes                                  |
//! |------------|---------------------------------------------------------|-----------------------------------------|
//! | anonymous  | areas, statistics, targets                              | nothing                                 |
//! | VIEWER     | + workers, coverage, payouts in scope (NIK masked)      | nothing                                 |
//! | OPERATOR   | + full NIK                                              | workers, coverage, deaths, submitPayout |
//! | SUPERVISOR | as OPERATOR                                             | + payout decisions, coverage targets    |
//! | ADMIN      | everything, + auditLog                                  | everything                              |
//!
//! A scoped key (province "36" or regency "36.03") reaches a regency inside its scope; it sees a
//! worker whose domicile regency or any of whose coverage periods is inside it, and a payout counted
//! in a regency inside it (its coverage's regency). Rows outside the
//! scope are filtered out of every read (so counts cannot leak them either); writes on them are
//! NOT_FOUND when the row is invisible, FORBIDDEN when it is visible but its regency is not reached.
use sea_orm::sea_query::{Expr, ExprTrait, IntoColumnRef, Query};
use sea_orm::{Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::{Actor, Caller, Role};
use crate::entities::{coverage, payout, worker};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

/// Any key may read rows; anonymous callers only aggregates.
pub fn require_reader(caller: &Caller) -> AppResult<&Actor> {
    caller.as_ref().ok_or(AppError::Unauthenticated)
}

/// A key with at least `role`.
pub fn require_role(caller: &Caller, role: Role) -> AppResult<&Actor> {
    let actor = require_reader(caller)?;
    if actor.role < role {
        return Err(AppError::Forbidden(Msg::NeedsRole { role: role.as_str() }));
    }
    Ok(actor)
}

/// The scope that limits an actor, None when it reaches the whole country.
pub(crate) fn scope_of(actor: &Actor) -> Option<&str> {
    if actor.role == Role::Admin { None } else { actor.scope.as_deref() }
}

/// Whether the actor may act for this regency.
pub fn reaches(actor: &Actor, regency_code: &str) -> bool {
    match scope_of(actor) {
        None => true,
        Some(scope) => regency_code == scope || regency_code.strip_prefix(scope).is_some_and(|r| r.starts_with('.')),
    }
}

/// FORBIDDEN unless the actor may act for this regency.
pub fn require_reach(actor: &Actor, regency_code: &str) -> AppResult<()> {
    if reaches(actor, regency_code) {
        Ok(())
    } else {
        Err(AppError::Forbidden(Msg::OutsideScope { regency: regency_code.to_owned() }))
    }
}

/// `column` holds a regency code inside `scope`. Scope codes are validated area codes (digits and
/// dots), so they carry no LIKE wildcards.
fn regency_in_scope(column: impl IntoColumnRef + Clone, scope: &str) -> Condition {
    Condition::any().add(Expr::col(column.clone()).eq(scope)).add(Expr::col(column).like(format!("{scope}.%")))
}

/// The workers an actor may see, as a condition on the worker table.
pub fn visible_workers(actor: &Actor) -> Condition {
    let Some(scope) = scope_of(actor) else { return Condition::all() };
    let covered_here = Query::select()
        .expr(Expr::val(1))
        .from(coverage::Entity)
        .and_where(
            Expr::col((coverage::Entity, coverage::Column::WorkerId)).equals((worker::Entity, worker::Column::Id)),
        )
        .cond_where(regency_in_scope((coverage::Entity, coverage::Column::RegencyCode), scope))
        // A cancelled coverage gives no reach.
        .and_where(Expr::col((coverage::Entity, coverage::Column::CancelledAt)).is_null())
        .to_owned();
    Condition::any()
        .add(regency_in_scope((worker::Entity, worker::Column::RegencyCode), scope))
        .add(Expr::exists(covered_here))
}

/// The payouts an actor may see: those counted in a regency it reaches (the regency of the
/// coverage that pays them). Seeing the worker through another regency's coverage is not enough.
pub fn visible_payouts(actor: &Actor) -> Condition {
    match scope_of(actor) {
        None => Condition::all(),
        Some(scope) => regency_in_scope((payout::Entity, payout::Column::RegencyCode), scope),
    }
}

/// NOT_FOUND unless the worker exists and the actor may see it.
pub async fn require_visible_worker<C: ConnectionTrait>(db: &C, actor: &Actor, worker_id: i64) -> AppResult<()> {
    if scope_of(actor).is_none() {
        return Ok(());
    }
    let found = worker::Entity::find_by_id(worker_id).filter(visible_workers(actor)).one(db).await?;
    found.map(|_| ()).ok_or(AppError::NotFound(Msg::NoWorker { id: worker_id }))
}
