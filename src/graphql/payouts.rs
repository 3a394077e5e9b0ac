//! Payouts: the Payout type and connection, payout queries (incl. overdue), the workflow
//! mutations, and the audit log.
use async_graphql::{Context, ID, Json, Object, Result};
use chrono::{DateTime, Utc};

use super::admission::limits::repeated;
use super::coverage::Coverage;
use super::inputs::{PayoutFilterInput, SubmitPayoutInput};
use super::loaders::{CoverageId, WorkerId, loader, prime_payouts};
use super::scalars::{Date, Rupiah};
use super::workers::{PageInfo, Worker};
use super::{caller, parse_id, state};
use crate::domain::payout_state::PayoutAction;
use crate::domain::types::{Benefit, PayoutStatus, Relationship};
use crate::entities::{audit_log, payout};
use crate::services::audit::AuditEntity;
use crate::services::audit_log::{self as audit_entries, AuditFilter};
use crate::services::pagination::{Page, PageArgs};
use crate::services::payouts::{self, PayoutFilter, TransitionDetails};

pub struct Payout(pub payout::Model);

#[Object]
impl Payout {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn worker(&self, ctx: &Context<'_>) -> Result<Worker> {
        let loader = loader(ctx);
        Ok(Worker::from(loader.load_one(WorkerId(self.0.worker_id)).await?.ok_or("payout without worker")?))
    }

    async fn coverage(&self, ctx: &Context<'_>) -> Result<Coverage> {
        let loader = loader(ctx);
        Ok(Coverage(loader.load_one(CoverageId(self.0.coverage_id)).await?.ok_or("payout without coverage")?))
    }

    async fn benefit(&self) -> Benefit {
        self.0.benefit
    }

    async fn amount(&self) -> Rupiah {
        Rupiah(self.0.amount)
    }

    async fn status(&self) -> PayoutStatus {
        self.0.status
    }

    async fn beneficiary_name(&self) -> &str {
        &self.0.beneficiary_name
    }

    async fn beneficiary_relationship(&self) -> Relationship {
        self.0.beneficiary_relationship
    }

    async fn incident_on(&self) -> Date {
        Date(self.0.incident_on)
    }

    async fn submitted_at(&self) -> DateTime<Utc> {
        self.0.submitted_at
    }

    async fn verified_at(&self) -> Option<DateTime<Utc>> {
        self.0.verified_at
    }

    async fn approved_at(&self) -> Option<DateTime<Utc>> {
        self.0.approved_at
    }

    async fn paid_at(&self) -> Option<DateTime<Utc>> {
        self.0.paid_at
    }

    /// The day the money reached the heir (may be earlier than paidAt when recorded afterwards); statistics count a payout in the year of paidOn.
    async fn paid_on(&self) -> Option<Date> {
        self.0.paid_on.map(Date)
    }

    /// Transfer or ceremony reference given when marked paid.
    async fn payment_reference(&self) -> Option<&str> {
        self.0.payment_reference.as_deref()
    }

    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }

    /// DEATH payouts only: working days past the 3-working-day deadline, counted from verification
    /// (a complete claim) to payment or today; each late day costs 1% of the benefit. Null for
    /// other benefits, rejected or unverified payouts.
    async fn overdue_working_days(&self) -> Option<i64> {
        payouts::overdue_working_days(&self.0)
    }
}

pub struct PayoutEdge {
    cursor: String,
    node: payout::Model,
}

#[Object]
impl PayoutEdge {
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> Payout {
        Payout(self.node.clone())
    }
}

/// A page of payouts, newest submissions first. totalCount runs its COUNT only when selected.
pub struct PayoutConnection {
    page: Page<payout::Model>,
    filter: PayoutFilter,
}

impl PayoutConnection {
    fn payouts(&self) -> Vec<&payout::Model> {
        self.page.rows.iter().map(|(_, p)| p).collect()
    }
}

#[Object]
impl PayoutConnection {
    async fn edges(&self, ctx: &Context<'_>) -> Result<Vec<PayoutEdge>> {
        prime_payouts(ctx, ctx.look_ahead().field("node"), &self.payouts()).await?;
        Ok(self.page.rows.iter().map(|(c, p)| PayoutEdge { cursor: c.encode(), node: p.clone() }).collect())
    }

    async fn nodes(&self, ctx: &Context<'_>) -> Result<Vec<Payout>> {
        prime_payouts(ctx, ctx.look_ahead(), &self.payouts()).await?;
        Ok(self.page.rows.iter().map(|(_, p)| Payout(p.clone())).collect())
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.page)
    }

    async fn total_count(&self, ctx: &Context<'_>) -> Result<u64> {
        Ok(payouts::count(state(ctx), caller(ctx), &self.filter).await?)
    }
}

/// One audit entry: who changed what, with the fields before and after (NIKs masked).
pub struct AuditEntry(audit_log::Model);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }

    async fn api_key_id(&self) -> ID {
        ID(self.0.api_key_id.to_string())
    }

    async fn api_key_name(&self) -> &str {
        &self.0.api_key_name
    }

    /// The person who acted: the subject of their access token, or the owner of the key used;
    /// null for a key of no one's, the command line and entries from before entries named people.
    async fn person(&self) -> Option<&str> {
        self.0.person.as_deref()
    }

    /// The mutation, e.g. "registerWorker".
    async fn operation(&self) -> &str {
        &self.0.operation
    }

    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }

    async fn entity_id(&self) -> ID {
        ID(self.0.entity_id.to_string())
    }

    /// Field -> {"before": ..., "after": ...} for every field the mutation changed.
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or_default())
    }
}

pub struct AuditEntryEdge {
    cursor: String,
    node: audit_log::Model,
}

#[Object]
impl AuditEntryEdge {
    async fn cursor(&self) -> &str {
        &self.cursor
    }

    async fn node(&self) -> AuditEntry {
        AuditEntry(self.node.clone())
    }
}

/// Audit entries, newest first.
pub struct AuditEntryConnection(Page<audit_log::Model>);

#[Object]
impl AuditEntryConnection {
    async fn edges(&self) -> Vec<AuditEntryEdge> {
        self.0.rows.iter().map(|(c, e)| AuditEntryEdge { cursor: c.encode(), node: e.clone() }).collect()
    }

    async fn nodes(&self) -> Vec<AuditEntry> {
        self.0.rows.iter().map(|(_, e)| AuditEntry(e.clone())).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo::of(&self.0)
    }
}

#[derive(Default)]
pub struct PayoutQuery;

#[Object]
impl PayoutQuery {
    async fn payout(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Payout>> {
        Ok(payouts::get(state(ctx), caller(ctx), parse_id(&id, "id")?).await?.map(Payout))
    }

    #[graphql(complexity = "repeated(crate::services::pagination::page_cost(first, last), child_complexity)")]
    async fn payouts(
        &self,
        ctx: &Context<'_>,
        filter: Option<PayoutFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<PayoutConnection> {
        let filter = PayoutFilter::from(filter.unwrap_or_default());
        let page = payouts::list(state(ctx), caller(ctx), &filter, &PageArgs { first, after, last, before }).await?;
        Ok(PayoutConnection { page, filter })
    }

    /// DEATH payouts verified or approved and still unpaid more than 3 working days after
    /// verification, longest waiting first (first: default 20, at most 100).
    #[graphql(complexity = "repeated(crate::services::pagination::page_cost(first, None), child_complexity)")]
    async fn overdue_payouts(
        &self,
        ctx: &Context<'_>,
        regency_code: Option<String>,
        first: Option<i32>,
    ) -> Result<Vec<Payout>> {
        let overdue = payouts::overdue(state(ctx), caller(ctx), regency_code.as_deref(), first).await?;
        prime_payouts(ctx, ctx.look_ahead(), &overdue.iter().collect::<Vec<_>>()).await?;
        Ok(overdue.into_iter().map(Payout).collect())
    }

    /// Admins only: the append-only audit trail, newest first, optionally of one entity type, one
    /// entity, one key and one actor (a person, with every key and token they used, or a key's
    /// name). Who processed a worker's data: entityType PERSONAL_DATA_READ (or WORKER for
    /// changes) with the worker's id; what a key read: PERSONAL_DATA_READ with apiKeyId; what a
    /// person did: actor.
    #[graphql(complexity = "repeated(crate::services::pagination::page_cost(first, last), child_complexity)")]
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        entity_type: Option<AuditEntity>,
        entity_id: Option<ID>,
        api_key_id: Option<ID>,
        actor: Option<String>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<AuditEntryConnection> {
        let filter = AuditFilter {
            entity: entity_type,
            entity_id: entity_id.map(|id| parse_id(&id, "entityId")).transpose()?,
            api_key_id: api_key_id.map(|id| parse_id(&id, "apiKeyId")).transpose()?,
            actor,
        };
        let args = PageArgs { first, after, last, before };
        Ok(AuditEntryConnection(audit_entries::list(state(ctx), caller(ctx), filter, &args).await?))
    }
}

#[derive(Default)]
pub struct PayoutMutation;

#[Object]
impl PayoutMutation {
    async fn submit_payout(&self, ctx: &Context<'_>, input: SubmitPayoutInput) -> Result<Payout> {
        let worker_id = parse_id(&input.worker_id, "workerId")?;
        Ok(Payout(payouts::submit(state(ctx), caller(ctx), worker_id, input.into()).await?))
    }

    async fn verify_payout(&self, ctx: &Context<'_>, id: ID) -> Result<Payout> {
        transition(ctx, &id, PayoutAction::Verify, TransitionDetails::default()).await
    }

    async fn approve_payout(&self, ctx: &Context<'_>, id: ID) -> Result<Payout> {
        transition(ctx, &id, PayoutAction::Approve, TransitionDetails::default()).await
    }

    /// paidOn defaults to today; it may not be in the future nor before incidentOn.
    async fn mark_payout_paid(
        &self,
        ctx: &Context<'_>,
        id: ID,
        payment_reference: String,
        paid_on: Option<Date>,
    ) -> Result<Payout> {
        let details = TransitionDetails {
            payment_reference: Some(payment_reference),
            paid_on: paid_on.map(|d| d.0),
            ..Default::default()
        };
        transition(ctx, &id, PayoutAction::MarkPaid, details).await
    }

    async fn reject_payout(&self, ctx: &Context<'_>, id: ID, reason: String) -> Result<Payout> {
        transition(
            ctx,
            &id,
            PayoutAction::Reject,
            TransitionDetails { rejection_reason: Some(reason), ..Default::default() },
        )
        .await
    }
}

async fn transition(ctx: &Context<'_>, id: &ID, action: PayoutAction, details: TransitionDetails) -> Result<Payout> {
    let id = parse_id(id, "id")?;
    Ok(Payout(payouts::transition(state(ctx), caller(ctx), id, action, details).await?))
}
