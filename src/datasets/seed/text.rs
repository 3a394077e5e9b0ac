//! Rows as PostgreSQL COPY text (tab-separated, `\N` for NULL), in the tables' column order.
use sea_orm::ActiveEnum;

use crate::db::copy_text::{Field, line};
use crate::entities::{coverage, coverage_target, payout, worker};

/// A stored enum value ("FARM_LABORER").
fn stored<E: ActiveEnum<Value = String>>(value: E) -> String {
    value.to_value()
}

pub fn worker(out: &mut String, w: &worker::Model) {
    line(
        out,
        &[
            &w.id,
            &w.nik,
            &w.full_name,
            &stored(w.gender),
            &w.birth_date,
            &stored(w.occupation),
            &w.regency_code,
            &w.district_code,
            &stored(w.status),
            &w.died_on,
            &w.membership_number,
            &w.registered_at,
            &w.updated_at,
        ],
    );
}

pub fn coverage(out: &mut String, c: &coverage::Model) {
    line(
        out,
        &[
            &c.id,
            &c.worker_id,
            &c.regency_code,
            &stored(c.funding_source),
            &c.programs,
            &c.declared_monthly_income,
            &c.monthly_premium,
            &c.starts_on,
            &c.ends_on,
            &c.end_reason.map(stored),
            &c.created_at,
            &c.cancelled_at,
            &c.cancel_reason,
        ],
    );
}

pub fn payout(out: &mut String, p: &payout::Model) {
    line(
        out,
        &[
            &p.id,
            &p.worker_id,
            &p.coverage_id,
            &p.regency_code,
            &stored(p.benefit),
            &p.amount,
            &stored(p.status),
            &p.beneficiary_name,
            &stored(p.beneficiary_relationship),
            &p.incident_on,
            &p.submitted_at,
            &p.submitted_by,
            &p.verified_at,
            &p.verified_by,
            &p.approved_at,
            &p.approved_by,
            &p.paid_at,
            &p.paid_by,
            &p.paid_on,
            &p.payment_reference,
            &p.rejected_at,
            &p.rejected_by,
            &p.rejection_reason,
            &p.idempotency_key,
            &p.submitted_by_person,
            &p.verified_by_person,
            &p.approved_by_person,
        ],
    );
}

/// Without the id, which the database assigns.
pub const TARGET_COLUMNS: &str =
    "regency_code, year, target_workers, eligible_workers, budget, funding_source, note, updated_at";

pub fn target(out: &mut String, t: &coverage_target::Model) {
    line(
        out,
        &[
            &t.regency_code,
            &t.year,
            &t.target_workers,
            &t.eligible_workers,
            &t.budget,
            &t.funding_source.map(stored),
            &t.note,
            &t.updated_at,
        ],
    );
}

/// Any row of plain values (the summaries).
pub fn values(out: &mut String, text: &[&str], numbers: &[i64]) {
    let mut fields: Vec<&dyn Field> = text.iter().map(|t| t as &dyn Field).collect();
    fields.extend(numbers.iter().map(|n| n as &dyn Field));
    line(out, &fields);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn fields_are_escaped_and_nulls_written_as_backslash_n() {
        let mut out = String::new();
        values(&mut out, &["a\tb\\c"], &[1, -2]);
        assert_eq!(out, "a\\tb\\\\c\t1\t-2\n");
        let mut out = String::new();
        line(&mut out, &[&None::<i64>, &Some(NaiveDate::from_ymd_opt(2023, 6, 20).unwrap())]);
        assert_eq!(out, "\\N\t2023-06-20\n");
    }
}
