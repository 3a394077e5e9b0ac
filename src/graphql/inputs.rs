//! The contract's input types. They are GraphQL's own (IDs, the Date and Rupiah scalars) and each
//! converts into the plain struct its service takes, so that no service knows GraphQL.
use async_graphql::{ID, InputObject};

use super::scalars::{Date, Rupiah};
use crate::domain::types::{
    Benefit, FundingSource, Gender, Occupation, PayoutStatus, Program, Relationship, WorkerStatus,
};
use crate::services::coverage::NewCoverage;
use crate::services::payouts::{NewPayout, PayoutFilter};
use crate::services::targets::NewTarget;
use crate::services::workers::{NewWorker, SortDirection, WorkerChanges, WorkerFilter, WorkerOrder, WorkerSortField};

#[derive(Debug, Clone, InputObject)]
pub struct RegisterWorkerInput {
    pub nik: String,
    pub full_name: String,
    /// Optional: derived from the NIK when absent; must agree with it when present.
    pub gender: Option<Gender>,
    pub birth_date: Option<Date>,
    pub occupation: Occupation,
    pub regency_code: String,
    pub district_code: Option<String>,
    pub membership_number: Option<String>,
}

impl From<RegisterWorkerInput> for NewWorker {
    fn from(input: RegisterWorkerInput) -> Self {
        NewWorker {
            nik: input.nik,
            full_name: input.full_name,
            gender: input.gender,
            birth_date: input.birth_date.map(|d| d.0),
            occupation: input.occupation,
            regency_code: input.regency_code,
            district_code: input.district_code,
            membership_number: input.membership_number,
        }
    }
}

#[derive(Debug, Clone, Default, InputObject)]
pub struct UpdateWorkerInput {
    pub full_name: Option<String>,
    pub occupation: Option<Occupation>,
    /// Changing the domicile regency without a districtCode clears the district.
    pub regency_code: Option<String>,
    pub district_code: Option<String>,
    pub membership_number: Option<String>,
}

impl From<UpdateWorkerInput> for WorkerChanges {
    fn from(input: UpdateWorkerInput) -> Self {
        WorkerChanges {
            full_name: input.full_name,
            occupation: input.occupation,
            regency_code: input.regency_code,
            district_code: input.district_code,
            membership_number: input.membership_number,
        }
    }
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(name = "WorkerFilter")]
pub struct WorkerFilterInput {
    /// Domicile regency.
    pub regency_code: Option<String>,
    pub district_code: Option<String>,
    pub occupation: Option<Occupation>,
    pub gender: Option<Gender>,
    pub status: Option<WorkerStatus>,
    /// Workers with a coverage period (any regency) overlapping that calendar year.
    pub covered_in_year: Option<i32>,
    /// Case-insensitive name substring, or an exact 16-digit NIK.
    pub search: Option<String>,
}

impl From<WorkerFilterInput> for WorkerFilter {
    fn from(input: WorkerFilterInput) -> Self {
        WorkerFilter {
            regency_code: input.regency_code,
            district_code: input.district_code,
            occupation: input.occupation,
            gender: input.gender,
            status: input.status,
            covered_in_year: input.covered_in_year,
            search: input.search,
        }
    }
}

/// Default order: by name, A to Z.
#[derive(Debug, Clone, Copy, InputObject)]
#[graphql(name = "WorkerOrder")]
pub struct WorkerOrderInput {
    pub field: WorkerSortField,
    pub direction: SortDirection,
}

impl From<WorkerOrderInput> for WorkerOrder {
    fn from(input: WorkerOrderInput) -> Self {
        WorkerOrder { field: input.field, direction: input.direction }
    }
}

#[derive(Debug, Clone, InputObject)]
pub struct EnrollInput {
    pub worker_id: ID,
    pub regency_code: String,
    pub funding_source: FundingSource,
    /// Default [JKK, JKM]. JKK and JKM are always required together.
    pub programs: Option<Vec<Program>>,
    pub declared_monthly_income: Option<Rupiah>,
    pub starts_on: Date,
    pub ends_on: Option<Date>,
}

impl From<EnrollInput> for NewCoverage {
    fn from(input: EnrollInput) -> Self {
        NewCoverage {
            regency_code: input.regency_code,
            funding_source: input.funding_source,
            programs: input.programs,
            declared_monthly_income: input.declared_monthly_income.map(|r| r.0),
            starts_on: input.starts_on.0,
            ends_on: input.ends_on.map(|d| d.0),
        }
    }
}

#[derive(Debug, Clone, InputObject)]
pub struct CoverageTargetInput {
    pub regency_code: String,
    pub year: i32,
    pub target_workers: i32,
    /// Estimated vulnerable workers in the regency: the denominator of coverageRate.
    pub eligible_workers: Option<i32>,
    pub budget: Option<Rupiah>,
    pub funding_source: Option<FundingSource>,
    pub note: Option<String>,
}

impl From<CoverageTargetInput> for NewTarget {
    fn from(input: CoverageTargetInput) -> Self {
        NewTarget {
            regency_code: input.regency_code,
            year: input.year,
            target_workers: input.target_workers,
            eligible_workers: input.eligible_workers,
            budget: input.budget.map(|b| b.0),
            funding_source: input.funding_source,
            note: input.note,
        }
    }
}

#[derive(Debug, Clone, InputObject)]
pub struct SubmitPayoutInput {
    pub worker_id: ID,
    pub benefit: Benefit,
    pub incident_on: Date,
    pub beneficiary_name: String,
    pub beneficiary_relationship: Relationship,
    /// Required for WORK_ACCIDENT_CARE and SCHOLARSHIP; must be absent for DEATH and WORK_ACCIDENT_DEATH (the server computes those).
    pub amount: Option<Rupiah>,
    /// A retry with the same key returns the payout created the first time instead of a second one.
    pub idempotency_key: Option<String>,
}

impl From<SubmitPayoutInput> for NewPayout {
    fn from(input: SubmitPayoutInput) -> Self {
        NewPayout {
            benefit: input.benefit,
            incident_on: input.incident_on.0,
            beneficiary_name: input.beneficiary_name,
            beneficiary_relationship: input.beneficiary_relationship,
            amount: input.amount.map(|a| a.0),
            idempotency_key: input.idempotency_key,
        }
    }
}

#[derive(Debug, Clone, Default, InputObject)]
#[graphql(name = "PayoutFilter")]
pub struct PayoutFilterInput {
    /// The regency of the coverage the payout is paid under.
    pub regency_code: Option<String>,
    pub status: Option<PayoutStatus>,
    pub benefit: Option<Benefit>,
    /// Submitted on or after this day (WIB).
    pub submitted_from: Option<Date>,
    /// Submitted on or before this day (WIB).
    pub submitted_to: Option<Date>,
}

impl From<PayoutFilterInput> for PayoutFilter {
    fn from(input: PayoutFilterInput) -> Self {
        PayoutFilter {
            regency_code: input.regency_code,
            status: input.status,
            benefit: input.benefit,
            submitted_from: input.submitted_from.map(|d| d.0),
            submitted_to: input.submitted_to.map(|d| d.0),
        }
    }
}
