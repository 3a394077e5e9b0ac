//! Workers: the Worker type, the keyset connection, and worker queries and mutations.
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::admission::limits::repeated;
use super::areas::{District, Regency};
use super::coverage::Coverage;
use super::inputs::{RegisterWorkerInput, UpdateWorkerInput, WorkerFilterInput, WorkerOrderInput};
use super::loaders::{CoveragesOf, PayoutsOf, include_of, loader, prime_workers};
use super::scalars::Date;
use super::{caller, parse_id, state};
use crate::domain::nik;
use crate::domain::types::{Gender, Occupation, WorkerStatus};
use crate::entities::{coverage, worker};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::services::pagination::{Page, PageArgs};
use crate::services::personal_data::PersonalRead;
use crate::services::workers::{self, Include, WorkerFilter, WorkerOrder, WorkerWith};

/// A worker, with the coverage periods and payouts read in the same statement when the query
/// selected them (a page or a single worker); otherwise they come from the request's loaders.
pub struct Worker(Arc<WorkerWith>);

impl From<worker::Model> for Worker {
    fn from(worker: worker::Model) -> Self {
        Worker(Arc::new(WorkerWith { worker, coverages: None, payouts: None }))
    }
}

impl Worker {
    fn row(&self) -> &worker::Model {
        &self.0.worker
    }

    async fn periods(&self, ctx: &Context<'_>) -> Result<Vec<coverage::Model>> {
        match &self.0.coverages {
            Some(periods) => Ok(periods.clone()),
            None => Ok(loader(ctx).load_one(CoveragesOf(self.row().id)).await?.unwrap_or_default()),
        }
    }
}

#[Object]
impl Worker {
    async fn id(&self) -> ID {
        ID(self.row().id.to_string())
    }

    /// 16 digits. Masked as 360312******0001 (first 6 and last 4 kept) for callers without the PII right.
    async fn nik(&self, ctx: &Context<'_>) -> String {
        match caller(ctx) {
            Some(actor) if actor.sees_nik() => {
                state(ctx).reads.note(actor, PersonalRead::Nik, self.row().id, &self.row().nik);
                self.row().nik.clone()
            }
            _ => nik::mask(&self.row().nik),
        }
    }

    async fn full_name(&self) -> &str {
        &self.row().full_name
    }

    async fn gender(&self) -> Gender {
        self.row().gender
    }

    /// Needs the PII right (OPERATOR and above): with the masked NIK the birth date would give back
    /// its hidden digits (DDMMYY, DD + 40 for women). Other callers get FORBIDDEN for this field.
    async fn birth_date(&self, ctx: &Context<'_>) -> Result<Date> {
        match caller(ctx) {
            Some(actor) if actor.sees_nik() => {
                state(ctx).reads.note(actor, PersonalRead::BirthDate, self.row().id, &self.row().nik);
                Ok(Date(self.row().birth_date))
            }
            // Non-null in the contract, so refused rather than nulled.
            _ => Err(AppError::Forbidden(Msg::BirthDateNeedsFullNiks).into()),
        }
    }

    async fn occupation(&self) -> Occupation {
        self.row().occupation
    }

    /// Domicile regency: where the worker lives now (not derived from the NIK).
    async fn regency(&self, ctx: &Context<'_>) -> Result<Regency> {
        let regency = state(ctx).areas.regency(&self.row().regency_code);
        Ok(Regency(regency.cloned().ok_or("worker without regency")?))
    }

    async fn district(&self, ctx: &Context<'_>) -> Option<District> {
        let code = self.row().district_code.as_deref()?;
        state(ctx).areas.district(code).map(|d| District(d.clone()))
    }

    async fn status(&self) -> WorkerStatus {
        self.row().status
    }

    async fn died_on(&self) -> Option<Date> {
        self.row().died_on.map(Date)
    }

    /// Opaque BPJS membership number (KPJ), once issued.
    async fn membership_number(&self) -> Option<&str> {
        self.row().membership_number.as_deref()
    }

    async fn registered_at(&self) -> DateTime<Utc> {
        self.row().registered_at
    }

    /// Coverage periods, oldest first.
    async fn coverages(&self, ctx: &Context<'_>) -> Result<Vec<Coverage>> {
        Ok(self.periods(ctx).await?.into_iter().map(Coverage).collect())
    }

    /// Benefit claims for this worker, oldest first.
    async fn payouts(&self, ctx: &Context<'_>) -> Result<Vec<super::payouts::Payout>> {
        let rows = match &self.0.payouts {
            Some(rows) => rows.clone(),
            None => loader(ctx).load_one(PayoutsOf(self.row().id)).await?.unwrap_or_default(),
        };
        Ok(rows.into_iter().map(super::payouts::Payout).collect())
    }

    /// Whether one of the worker's coverage periods includes that day.
    async fn covered_on(&self, ctx: &Context<'_>, date: Date) -> Result<bool> {
        Ok(self.periods(ctx).await?.iter().any(|c| c.includes(date.0)))
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

impl PageInfo {
    pub fn of<T>(page: &Page<T>) -> Self {
        PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.rows.first().map(|(c, _)| c.encode()),
            end_cursor: page.rows.last().map(|(c, _)| c.encode()),
        }
    }
}

pub struct WorkerEdge {
    cursor: String,
    node: Arc<WorkerWith>,
}

#[Object]
impl WorkerEdge {
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> Worker {
        Worker(self.node.clone())
    }
}

/// A page of workers. totalCount runs its COUNT only when selected.
pub struct WorkerConnection {
    page: Page<Arc<WorkerWith>>,
    filter: WorkerFilter,
}

impl WorkerConnection {
    fn workers(&self) -> Vec<&WorkerWith> {
        self.page.rows.iter().map(|(_, w)| w.as_ref()).collect()
    }
}

#[Object]
impl WorkerConnection {
    async fn edges(&self, ctx: &Context<'_>) -> Result<Vec<WorkerEdge>> {
        prime_workers(ctx, ctx.look_ahead().field("node"), &self.workers()).await?;
        Ok(self.page.rows.iter().map(|(c, w)| WorkerEdge { cursor: c.encode(), node: w.clone() }).collect())
    }

    async fn nodes(&self, ctx: &Context<'_>) -> Result<Vec<Worker>> {
        prime_workers(ctx, ctx.look_ahead(), &self.workers()).await?;
        Ok(self.page.rows.iter().map(|(_, w)| Worker(w.clone())).collect())
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.page)
    }

    /// All workers matching the filter, across pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(workers::count(state(ctx), caller(ctx), &self.filter).await?)
    }
}

/// A page of workers, with the relations its nodes select read in the same statement.
pub async fn list_workers(
    ctx: &Context<'_>,
    filter: WorkerFilter,
    args: PageArgs,
    order: Option<WorkerOrder>,
) -> AppResult<WorkerConnection> {
    let selection = ctx.look_ahead();
    let (nodes, edges) = (include_of(&selection.field("nodes")), include_of(&selection.field("edges").field("node")));
    let include = Include { coverages: nodes.coverages || edges.coverages, payouts: nodes.payouts || edges.payouts };
    let page = workers::list(state(ctx), caller(ctx), &filter, order.unwrap_or_default(), &args, include).await?;
    Ok(WorkerConnection { page: page.map(Arc::new), filter })
}

/// One worker, with the relations the current field selects read in the same statement.
async fn one_worker(ctx: &Context<'_>, found: Option<WorkerWith>) -> AppResult<Option<Worker>> {
    let Some(found) = found else { return Ok(None) };
    prime_workers(ctx, ctx.look_ahead(), &[&found]).await?;
    Ok(Some(Worker(Arc::new(found))))
}

#[derive(Default)]
pub struct WorkerQuery;

#[Object]
impl WorkerQuery {
    async fn worker(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Worker>> {
        let id = parse_id(&id, "id")?;
        let found = workers::get(state(ctx), caller(ctx), id, include_of(&ctx.look_ahead())).await?;
        Ok(one_worker(ctx, found).await?)
    }

    async fn worker_by_nik(&self, ctx: &Context<'_>, nik: String) -> Result<Option<Worker>> {
        let found = workers::by_nik(state(ctx), caller(ctx), &nik, include_of(&ctx.look_ahead())).await?;
        Ok(one_worker(ctx, found).await?)
    }

    /// Connections: first/last default to 20, at most 100. Cursors are opaque and keyset-based.
    #[graphql(complexity = "repeated(crate::services::pagination::page_cost(first, last), child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn workers(
        &self,
        ctx: &Context<'_>,
        filter: Option<WorkerFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        order_by: Option<WorkerOrderInput>,
    ) -> Result<WorkerConnection> {
        let filter = WorkerFilter::from(filter.unwrap_or_default());
        Ok(list_workers(ctx, filter, PageArgs { first, after, last, before }, order_by.map(WorkerOrder::from)).await?)
    }
}

#[derive(Default)]
pub struct WorkerMutation;

#[Object]
impl WorkerMutation {
    async fn register_worker(&self, ctx: &Context<'_>, input: RegisterWorkerInput) -> Result<Worker> {
        Ok(Worker::from(workers::register(state(ctx), caller(ctx), input.into()).await?))
    }

    async fn update_worker(&self, ctx: &Context<'_>, id: ID, input: UpdateWorkerInput) -> Result<Worker> {
        let id = parse_id(&id, "id")?;
        Ok(Worker::from(workers::update(state(ctx), caller(ctx), id, input.into()).await?))
    }
}
