//! The national synthetic dataset, generated worker by worker from a seed without I/O: the same
//! seed and size give the same rows on every run and platform.
//!
//! Weights (see docs/performance.md): a regency's share of workers is its number of districts, times 3 on
//! Java (provinces 31-36, where more than half of Indonesians live); inside a regency a district
//! weighs 1 to 3. Per mille of workers: 550 covered in 2022 and renewed for 2023; 100 renewed
//! into an open-ended period; 130 first covered in 2023 (from a month of the year, by the revised
//! budget, 40% open-ended); 90 covered in 2022 only; 50 cancelled during 2022; 20 moved to another
//! regency at the end of 2022 and covered there in 2023; 60 registered and never covered. 4 per
//! mille of covered workers die during their last period, with a death benefit for 95% of them
//! (JKM, or JKK for one in ten) in every state of the workflow; 2 per mille claim work-accident
//! care. Targets per regency for 2022-2024 are 105-140% of what it covers, its eligible
//! estimate 250-400%.
use std::sync::Arc;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};

use crate::areas::Areas;
use crate::datasets::synthetic::{
    BORN_FROM, BORN_UNTIL, MALE_PERCENT, SplitMix64, date, full_name, membership_number, nik_prefix, occupations_of,
    pick_weighted, utc,
};
use crate::domain::benefits::{jkk_death_amount, jkm_death_amount};
use crate::domain::coverage_period::{DEFAULT_DECLARED_MONTHLY_INCOME, Programs};
use crate::domain::types::{
    Benefit, CoverageEndReason, FundingSource, Gender, PayoutStatus, Relationship, WorkerStatus,
};
use crate::entities::{coverage, coverage_target, payout, worker};
use crate::stats::tally::Tally;

/// A NIK's serial has 4 digits and 0000 is never issued.
const SERIALS: u64 = 9_999;
/// Regency schemes cover JKK + JKM at the default declared income.
const PROGRAMS: Programs = Programs { jht: false };

/// One worker with its coverage periods and payouts, ids assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub worker: worker::Model,
    pub coverages: Vec<coverage::Model>,
    pub payouts: Vec<payout::Model>,
}

/// Who entered and decided the seeded payouts (API key ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authors {
    pub operator: i64,
    pub supervisor: i64,
}

#[derive(Debug, Clone)]
struct District {
    code: String,
    regency_code: String,
    /// The NIK's first six digits: "36.03.12" -> "360312".
    nik_area: String,
}

/// Where the workers go, fixed before any of them is generated.
pub struct Plan {
    workers: u64,
    seed: u64,
    districts: Vec<District>,
    /// The NIK (first registration) district of each worker, by id - 1.
    order: Vec<u16>,
    /// Per district, how many birth-date classes keep its NIKs unique (see `Generator::person`).
    classes: Vec<u64>,
}

impl Plan {
    pub fn new(areas: &Areas, workers: u64, seed: u64) -> Plan {
        let mut rng = SplitMix64(seed ^ 0x5EED_0000_0000_0001);
        let mut districts = Vec::new();
        let mut weights: Vec<u64> = Vec::new();
        for province in areas.provinces() {
            let java = matches!(province.code.as_str(), "31" | "32" | "33" | "34" | "35" | "36");
            for regency in areas.regencies(Some(&province.code), None) {
                for district in areas.districts_of(regency) {
                    let nik_area: String = district.code.chars().filter(|c| *c != '.').collect();
                    districts.push(District {
                        code: district.code.clone(),
                        regency_code: regency.code.clone(),
                        nik_area,
                    });
                    weights.push((1 + rng.below(3)) * if java { 3 } else { 1 });
                }
            }
        }
        // Each worker's NIK district drawn by weight (registrations of all regencies interleave,
        // as they do in real life), then each district's count.
        let mut cumulative = Vec::with_capacity(weights.len());
        let mut total = 0;
        for weight in &weights {
            total += weight;
            cumulative.push(total);
        }
        let order: Vec<u16> = (0..workers)
            .map(|_| {
                let ticket = rng.below(total.max(1));
                cumulative.partition_point(|&c| c <= ticket) as u16
            })
            .collect();
        let mut counts = vec![0u64; districts.len()];
        for &district in &order {
            counts[district as usize] += 1;
        }
        let classes = counts.iter().map(|n| n.div_ceil(SERIALS).max(1)).collect();
        Plan { workers, seed, districts, order, classes }
    }

    pub fn workers(&self) -> u64 {
        self.workers
    }

    /// Every worker, in id order (ids from 1; coverage and payout ids from 1 too).
    pub fn people(self: &Arc<Self>, authors: Authors) -> Generator {
        Generator {
            plan: self.clone(),
            authors,
            next: 0,
            issued: vec![0; self.districts.len()],
            next_coverage_id: 1,
            next_payout_id: 1,
        }
    }

    /// As `people`, for a plan used once.
    pub fn people_once(self, authors: Authors) -> Generator {
        Arc::new(self).people(authors)
    }

    /// Targets for 2022-2024 of every regency that covers workers, sized by what it covers.
    pub fn targets(&self, tally: &Tally) -> Vec<coverage_target::Model> {
        let mut regencies: Vec<&str> = self.districts.iter().map(|d| d.regency_code.as_str()).collect();
        regencies.dedup();
        let mut targets = Vec::new();
        for regency in regencies {
            let mut rng = SplitMix64(self.seed ^ fnv(regency));
            for year in 2022..=2024 {
                let covered = tally.covered(regency, year.min(2023));
                if covered == 0 {
                    continue;
                }
                let target = (covered * (105 + rng.below(36) as i64) / 100 + 99) / 100 * 100;
                let yearly_premium = PROGRAMS.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME) * 12;
                targets.push(coverage_target::Model {
                    id: 0,
                    regency_code: regency.to_owned(),
                    year,
                    target_workers: target,
                    eligible_workers: Some(covered * (250 + rng.below(151) as i64) / 100),
                    budget: Some(target * yearly_premium),
                    funding_source: Some(if year == 2023 { FundingSource::ApbdPerubahan } else { FundingSource::Apbd }),
                    note: None,
                    updated_at: utc(year - 1, 11, 15, 3),
                });
            }
        }
        targets
    }
}

/// FNV-1a: a stable hash of a code, to seed per-regency choices.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// Generates the workers one after the other (the NIK serials depend on the order).
pub struct Generator {
    plan: Arc<Plan>,
    authors: Authors,
    next: u64,
    /// NIKs issued so far per district.
    issued: Vec<u64>,
    next_coverage_id: i64,
    next_payout_id: i64,
}

impl Iterator for Generator {
    type Item = Person;

    fn next(&mut self) -> Option<Person> {
        (self.next < self.plan.workers).then(|| {
            let person = self.person(self.next);
            self.next += 1;
            person
        })
    }
}

/// The life of a worker's coverage, by per-mille threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Story {
    Renewed,
    RenewedOpen,
    NewIn2023,
    Only2022,
    Cancelled2022,
    Moved,
    NeverCovered,
}

fn story(ticket: u64) -> Story {
    match ticket {
        0..550 => Story::Renewed,
        550..650 => Story::RenewedOpen,
        650..780 => Story::NewIn2023,
        780..870 => Story::Only2022,
        870..920 => Story::Cancelled2022,
        920..940 => Story::Moved,
        _ => Story::NeverCovered,
    }
}

impl Generator {
    fn person(&mut self, index: u64) -> Person {
        let plan = self.plan.clone();
        let mut rng = SplitMix64(plan.seed ^ (index + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        let home = plan.order[index as usize] as usize;
        let district = &plan.districts[home];
        let gender = if rng.chance(MALE_PERCENT) { Gender::Male } else { Gender::Female };
        // NIKs stay unique by construction: within a district the k-th NIK gets serial
        // 1 + k % 9999, and its birth date is in class k / 9999 (day number modulo the district's
        // number of classes), so two NIKs with one serial never share a birth date.
        let k = self.issued[home];
        self.issued[home] += 1;
        let classes = plan.classes[home];
        let born_days = (BORN_UNTIL - BORN_FROM).num_days() as u64 + 1;
        let day = k / SERIALS + classes * rng.below((born_days / classes).max(1));
        let birth_date = BORN_FROM + Days::new(day);
        let nik = format!("{}{:04}", nik_prefix(&district.nik_area, gender, birth_date), 1 + k % SERIALS);
        let occupation = pick_weighted(&mut rng, &occupations_of(gender));
        let full_name = full_name(&mut rng, gender);

        let story = story(rng.below(1000));
        let mut domicile = district;
        if story == Story::Moved {
            // Another worker's district: the same weights, most often another regency.
            domicile = &plan.districts[plan.order[rng.below(plan.workers) as usize] as usize];
        }
        let mut periods = self.periods(&mut rng, story, district, domicile);
        let first_start = periods.first().map_or(date(2022, 6, 1), |c| c.starts_on);
        let registered_at = at(first_start - Days::new(1 + rng.below(90)), 2 + rng.below(8) as u32);
        let id = index as i64 + 1;
        let mut worker = worker::Model {
            id,
            nik,
            full_name,
            gender,
            birth_date,
            occupation,
            regency_code: domicile.regency_code.clone(),
            district_code: Some(domicile.code.clone()),
            status: WorkerStatus::Alive,
            died_on: None,
            membership_number: rng.chance(80).then(|| membership_number(index + 1_000_000)),
            registered_at,
            updated_at: registered_at,
        };
        let mut payouts = Vec::new();
        if !periods.is_empty() && rng.below(1000) < 4 {
            self.die(&mut rng, &mut worker, &mut periods, &mut payouts);
        } else if !periods.is_empty() && rng.below(1000) < 2 {
            self.care_claim(&mut rng, &worker, &periods, &mut payouts);
        }
        Person { worker, coverages: periods, payouts }
    }

    fn periods(
        &mut self,
        rng: &mut SplitMix64,
        story: Story,
        home: &District,
        domicile: &District,
    ) -> Vec<coverage::Model> {
        let (y2022, y2023) = ((date(2022, 1, 1), date(2022, 12, 31)), (date(2023, 1, 1), date(2023, 12, 31)));
        let funding = |rng: &mut SplitMix64| match rng.below(100) {
            0..5 => FundingSource::ApbdProvince,
            5..7 => FundingSource::Apbdes,
            _ => FundingSource::Apbd,
        };
        let mut out = Vec::new();
        let mut period = |regency: &str, (starts, ends): (NaiveDate, Option<NaiveDate>), funding, reason| {
            out.push(self.coverage(regency, starts, ends, funding, reason));
        };
        let expired = Some(CoverageEndReason::Expired);
        let regency = home.regency_code.as_str();
        match story {
            Story::Renewed => {
                period(regency, (y2022.0, Some(y2022.1)), funding(rng), expired);
                period(regency, (y2023.0, Some(y2023.1)), funding(rng), None);
            }
            Story::RenewedOpen => {
                period(regency, (y2022.0, Some(y2022.1)), funding(rng), expired);
                period(regency, (y2023.0, None), funding(rng), None);
            }
            Story::NewIn2023 => {
                let starts = date(2023, 1 + rng.below(12) as u32, 1);
                let ends = (!rng.chance(40)).then_some(y2023.1);
                period(regency, (starts, ends), FundingSource::ApbdPerubahan, None);
            }
            Story::Only2022 => period(regency, (y2022.0, Some(y2022.1)), funding(rng), expired),
            Story::Cancelled2022 => {
                let ends = y2022.0 + Days::new(30 + rng.below(300));
                period(regency, (y2022.0, Some(ends)), funding(rng), Some(CoverageEndReason::Cancelled));
            }
            Story::Moved => {
                let moved_on = date(2022, 9 + rng.below(4) as u32, 1) - Days::new(1);
                period(regency, (y2022.0, Some(moved_on)), FundingSource::Apbd, Some(CoverageEndReason::Moved));
                period(&domicile.regency_code, (y2023.0, Some(y2023.1)), FundingSource::Apbd, None);
            }
            Story::NeverCovered => {}
        }
        out
    }

    fn coverage(
        &mut self,
        regency: &str,
        starts_on: NaiveDate,
        ends_on: Option<NaiveDate>,
        funding: FundingSource,
        end_reason: Option<CoverageEndReason>,
    ) -> coverage::Model {
        let id = self.next_coverage_id;
        self.next_coverage_id += 1;
        coverage::Model {
            id,
            worker_id: self.next as i64 + 1,
            regency_code: regency.to_owned(),
            funding_source: funding,
            programs: PROGRAMS.to_column(),
            declared_monthly_income: DEFAULT_DECLARED_MONTHLY_INCOME,
            monthly_premium: PROGRAMS.monthly_premium(DEFAULT_DECLARED_MONTHLY_INCOME),
            starts_on,
            ends_on,
            end_reason,
            created_at: at(starts_on - Days::new(7), 3),
            cancelled_at: None,
            cancel_reason: None,
        }
    }

    /// Death during the last period (by the end of 2023), which closes it, and its benefit.
    fn die(
        &mut self,
        rng: &mut SplitMix64,
        worker: &mut worker::Model,
        periods: &mut [coverage::Model],
        payouts: &mut Vec<payout::Model>,
    ) {
        let Some(last) = periods.last_mut() else { return };
        let until = last.ends_on.unwrap_or(date(2023, 12, 31)).min(date(2023, 12, 31));
        let died_on = last.starts_on + Days::new(rng.below((until - last.starts_on).num_days() as u64 + 1));
        (last.ends_on, last.end_reason) = (Some(died_on), Some(CoverageEndReason::Deceased));
        (worker.status, worker.died_on) = (WorkerStatus::Deceased, Some(died_on));
        worker.updated_at = at(died_on + Days::new(3), 3);
        if rng.chance(95) {
            let (benefit, amount) = if rng.chance(90) {
                (Benefit::Death, jkm_death_amount(died_on).unwrap_or_default())
            } else {
                (Benefit::WorkAccidentDeath, jkk_death_amount(last.declared_monthly_income))
            };
            let last = last.clone();
            payouts.push(self.payout(rng, worker, &last, benefit, amount, died_on));
        }
    }

    fn care_claim(
        &mut self,
        rng: &mut SplitMix64,
        worker: &worker::Model,
        periods: &[coverage::Model],
        payouts: &mut Vec<payout::Model>,
    ) {
        let Some(last) = periods.last() else { return };
        let until = last.ends_on.unwrap_or(date(2023, 12, 31)).min(date(2023, 12, 31));
        let incident = last.starts_on + Days::new(rng.below((until - last.starts_on).num_days() as u64 + 1));
        let amount = 500_000 + rng.below(145) as i64 * 100_000;
        payouts.push(self.payout(rng, worker, last, Benefit::WorkAccidentCare, amount, incident));
    }

    /// A claim walked to a state: 60% paid, 10% each approved, verified, submitted, rejected.
    fn payout(
        &mut self,
        rng: &mut SplitMix64,
        worker: &worker::Model,
        holding: &coverage::Model,
        benefit: Benefit,
        amount: i64,
        incident_on: NaiveDate,
    ) -> payout::Model {
        let id = self.next_payout_id;
        self.next_payout_id += 1;
        let status = match rng.below(10) {
            0..6 => PayoutStatus::Paid,
            6 => PayoutStatus::Approved,
            7 => PayoutStatus::Verified,
            8 => PayoutStatus::Submitted,
            _ => PayoutStatus::Rejected,
        };
        let submitted_on = incident_on + Days::new(5 + rng.below(25));
        let reached = |step: PayoutStatus| match status {
            PayoutStatus::Paid => true,
            PayoutStatus::Approved => step != PayoutStatus::Paid,
            PayoutStatus::Verified => step == PayoutStatus::Verified,
            _ => false,
        };
        let (verified_on, approved_on) = (submitted_on + Days::new(2), submitted_on + Days::new(3));
        let paid_on = approved_on + Days::new(1 + rng.below(3));
        let (relationship, heir_gender) = match rng.below(10) {
            0..6 if worker.gender == Gender::Male => (Relationship::Spouse, Gender::Female),
            0..6 => (Relationship::Spouse, Gender::Male),
            6..9 => (Relationship::Child, if rng.chance(50) { Gender::Male } else { Gender::Female }),
            _ => (Relationship::Parent, Gender::Female),
        };
        let supervisor = Some(self.authors.supervisor);
        let step = |on: NaiveDate, done: bool| done.then(|| at(on, 2));
        payout::Model {
            id,
            worker_id: worker.id,
            coverage_id: holding.id,
            regency_code: holding.regency_code.clone(),
            benefit,
            amount,
            status,
            beneficiary_name: full_name(rng, heir_gender),
            beneficiary_relationship: relationship,
            incident_on,
            submitted_at: at(submitted_on, 2),
            submitted_by: self.authors.operator,
            verified_at: step(verified_on, reached(PayoutStatus::Verified)),
            verified_by: supervisor.filter(|_| reached(PayoutStatus::Verified)),
            approved_at: step(approved_on, reached(PayoutStatus::Approved)),
            approved_by: supervisor.filter(|_| reached(PayoutStatus::Approved)),
            paid_at: step(paid_on, status == PayoutStatus::Paid),
            paid_by: supervisor.filter(|_| status == PayoutStatus::Paid),
            paid_on: (status == PayoutStatus::Paid).then_some(paid_on),
            payment_reference: (status == PayoutStatus::Paid).then(|| format!("TRF-{}-{id:08}", paid_on.year())),
            rejected_at: step(verified_on, status == PayoutStatus::Rejected),
            rejected_by: supervisor.filter(|_| status == PayoutStatus::Rejected),
            rejection_reason: (status == PayoutStatus::Rejected).then(|| "Dokumen ahli waris tidak lengkap".to_owned()),
            idempotency_key: None,
            submitted_by_person: None,
            verified_by_person: None,
            approved_by_person: None,
        }
    }
}

/// `hour`:00 UTC on `day`.
fn at(day: NaiveDate, hour: u32) -> DateTime<Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
}
