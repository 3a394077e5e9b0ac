//! Coverage periods: the Coverage type and the enrollment, end, cancellation and death mutations.
use async_graphql::{Context, ID, Object, Result};
use chrono::{DateTime, Utc};

use super::areas::{CoverageTarget, Regency};
use super::inputs::{CoverageTargetInput, EnrollInput};
use super::loaders::{WorkerId, loader};
use super::scalars::{Date, Rupiah};
use super::workers::Worker;
use super::{caller, parse_id, state};
use crate::domain::coverage_period::Programs;
use crate::domain::types::{CoverageEndReason, FundingSource, Program};
use crate::entities::coverage;
use crate::services::coverage as coverage_service;
use crate::services::targets;

/// One period of paid cover for one worker, paid by one funder.
pub struct Coverage(pub coverage::Model);

#[Object]
impl Coverage {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn worker(&self, ctx: &Context<'_>) -> Result<Worker> {
        let loader = loader(ctx);
        let worker = loader.load_one(WorkerId(self.0.worker_id)).await?;
        Ok(Worker::from(worker.ok_or("coverage without worker")?))
    }

    /// The regency whose program enrolled the worker; coverage statistics count it here.
    async fn regency(&self, ctx: &Context<'_>) -> Result<Regency> {
        let regency = state(ctx).areas.regency(&self.0.regency_code);
        Ok(Regency(regency.cloned().ok_or("coverage without regency")?))
    }

    async fn funding_source(&self) -> FundingSource {
        self.0.funding_source
    }

    async fn programs(&self) -> Vec<Program> {
        Programs::from_column(&self.0.programs).list()
    }

    async fn declared_monthly_income(&self) -> Rupiah {
        Rupiah(self.0.declared_monthly_income)
    }

    /// JKK 1% of income + JKM 6,800 (+ JHT 20,000 if chosen): 16,800 by default.
    async fn monthly_premium(&self) -> Rupiah {
        Rupiah(self.0.monthly_premium)
    }

    async fn starts_on(&self) -> Date {
        Date(self.0.starts_on)
    }

    /// Inclusive; null = open-ended.
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }

    async fn end_reason(&self) -> Option<CoverageEndReason> {
        self.0.end_reason
    }

    /// Cancelled before it started (cancelCoverage, or recordDeath for a period that starts after
    /// the death): kept for the record, counted nowhere (no figure, premium, scope or export).
    async fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// When it was cancelled; null while it stands.
    async fn cancelled_at(&self) -> Option<DateTime<Utc>> {
        self.0.cancelled_at
    }

    /// Why, as the operator wrote it; "DECEASED <date of death>" when recordDeath cancelled it.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.cancel_reason.as_deref()
    }
}

#[derive(Default)]
pub struct CoverageMutation;

#[Object]
impl CoverageMutation {
    async fn enroll_worker(&self, ctx: &Context<'_>, input: EnrollInput) -> Result<Coverage> {
        let worker_id = parse_id(&input.worker_id, "workerId")?;
        Ok(Coverage(coverage_service::enroll(state(ctx), caller(ctx), worker_id, input.into()).await?))
    }

    async fn end_coverage(
        &self,
        ctx: &Context<'_>,
        id: ID,
        ends_on: Date,
        reason: CoverageEndReason,
    ) -> Result<Coverage> {
        let id = parse_id(&id, "id")?;
        Ok(Coverage(coverage_service::end(state(ctx), caller(ctx), id, ends_on.0, reason).await?))
    }

    /// Cancels a coverage that has not started yet (it starts after today, Asia/Jakarta): it stays
    /// visible with cancelled, cancelledAt and cancelReason, and counts nowhere. One that has
    /// started is ended with endCoverage (INVALID_STATE here). Audited.
    async fn cancel_coverage(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Coverage> {
        let id = parse_id(&id, "id")?;
        Ok(Coverage(coverage_service::cancel(state(ctx), caller(ctx), id, &reason).await?))
    }

    /// Marks the worker DECEASED, cancels every coverage that starts after diedOn (a death reported
    /// late) and ends every coverage still open after diedOn, at diedOn, with reason DECEASED.
    async fn record_death(&self, ctx: &Context<'_>, worker_id: ID, died_on: Date) -> Result<Worker> {
        let worker_id = parse_id(&worker_id, "workerId")?;
        Ok(Worker::from(coverage_service::record_death(state(ctx), caller(ctx), worker_id, died_on.0).await?))
    }

    async fn set_coverage_target(&self, ctx: &Context<'_>, input: CoverageTargetInput) -> Result<CoverageTarget> {
        Ok(CoverageTarget(targets::set(state(ctx), caller(ctx), input.into()).await?))
    }
}
