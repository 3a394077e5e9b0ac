//! Registering, updating, finding and listing workers.
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Set, TransactionTrait,
};

use super::access::{
    require_reach, require_reader, require_role, require_visible_worker, visible_payouts, visible_workers,
};
use super::audit::{self, AuditEntity};
use super::coverage::{lock_worker, periods_of};
use super::pagination::{self, Cursor, Page, PageArgs, Window};
use super::personal_data::PersonalRead;
use super::probes;
use super::{check_year, clean_name, clean_text, today, year_bounds};
use crate::areas::Areas;
use crate::auth::{Actor, Caller, Role};
use crate::domain::nik;
use crate::domain::types::{Gender, Occupation, WorkerStatus};
use crate::entities::{coverage, payout, worker};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;
use crate::live::Changes;
use crate::services::AppState;
use crate::stats::summary;
use crate::stats::tally::{Tally, WorkerRows};

/// A worker to register, as the caller gives it.
#[derive(Debug, Clone)]
pub struct NewWorker {
    pub nik: String,
    pub full_name: String,
    /// Optional: derived from the NIK when absent; must agree with it when present.
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub occupation: Occupation,
    pub regency_code: String,
    pub district_code: Option<String>,
    pub membership_number: Option<String>,
}

/// Changes to a worker's profile; None leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct WorkerChanges {
    pub full_name: Option<String>,
    pub occupation: Option<Occupation>,
    /// Changing the domicile regency without a district clears the district.
    pub regency_code: Option<String>,
    pub district_code: Option<String>,
    pub membership_number: Option<String>,
}

/// Which workers a list holds (all of them within the caller's sight).
#[derive(Debug, Clone, Default)]
pub struct WorkerFilter {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum WorkerSortField {
    Name,
    RegisteredAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum SortDirection {
    Asc,
    Desc,
}

/// Default order: by name, A to Z.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOrder {
    pub field: WorkerSortField,
    pub direction: SortDirection,
}

impl Default for WorkerOrder {
    fn default() -> Self {
        WorkerOrder { field: WorkerSortField::Name, direction: SortDirection::Asc }
    }
}

const MAX_NAME_CHARS: usize = 200;

/// Relations read in the same statement as their workers (a LEFT JOIN on the page), so that a
/// page or a single worker with its coverage and payouts costs one round trip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    pub coverages: bool,
    /// Only the payouts the caller may see (`visible_payouts`), as `Worker.payouts` shows.
    pub payouts: bool,
}

/// A worker with the relations asked for (None when not asked for).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerWith {
    pub worker: worker::Model,
    /// Oldest first.
    pub coverages: Option<Vec<coverage::Model>>,
    /// Oldest submission first.
    pub payouts: Option<Vec<payout::Model>>,
}

/// A worker the caller may see; None when it does not exist or lies outside the caller's scope.
pub async fn get(state: &AppState, caller: &Caller, id: i64, include: Include) -> AppResult<Option<WorkerWith>> {
    let actor = require_reader(caller)?;
    let query = worker::Entity::find_by_id(id).filter(visible_workers(actor));
    Ok(fetch(state, actor, query, &[], include).await?.pop())
}

pub async fn get_many(state: &AppState, ids: &[i64]) -> AppResult<Vec<worker::Model>> {
    Ok(worker::Entity::find().filter(worker::Column::Id.is_in(ids.iter().copied())).all(&state.db).await?)
}

pub async fn by_nik(
    state: &AppState,
    caller: &Caller,
    nik_text: &str,
    include: Include,
) -> AppResult<Option<WorkerWith>> {
    let actor = require_nik_lookup(caller)?;
    if !nik::is_nik_shaped(nik_text) {
        return Err(AppError::bad_input("nik", Msg::Nik(nik::NikError::Format)));
    }
    let query = worker::Entity::find().filter(worker::Column::Nik.eq(nik_text)).filter(visible_workers(actor));
    let found = fetch(state, actor, query, &[], include).await?.pop();
    state.reads.note(actor, PersonalRead::NikLookup, found.as_ref().map_or(0, |w| w.worker.id), nik_text);
    Ok(found)
}

/// Runs `query` (filtered, ordered by `order`, limited) with the relations `include` asks for,
/// in one statement: `SELECT w..., coverage..., payout... FROM (query) w LEFT JOIN ...`. A worker
/// with c periods and p payouts comes as max(c, 1) x max(p, 1) rows, folded back here.
async fn fetch(
    state: &AppState,
    actor: &Actor,
    query: Select<worker::Entity>,
    order: &[(worker::Column, sea_orm::Order)],
    include: Include,
) -> AppResult<Vec<WorkerWith>> {
    if include == Include::default() {
        let rows = query.all(&state.db).await?;
        return Ok(rows.into_iter().map(|worker| WorkerWith { worker, coverages: None, payouts: None }).collect());
    }
    let page = Alias::new("w");
    let mut outer = Query::select();
    // Worker columns prefixed (read once per worker), coverage columns as they are (read on
    // every row: a prefixed name costs an allocation per column and row).
    for column in worker::Column::iter() {
        outer.expr_as(Expr::col((page.clone(), column)), Alias::new(format!("w_{}", column.as_str())));
    }
    outer.from_subquery(query.into_query(), page.clone());
    if include.coverages {
        for column in coverage::Column::iter() {
            outer.expr_as(Expr::col((coverage::Entity, column)), Alias::new(column.as_str()));
        }
        let on = Expr::col((coverage::Entity, coverage::Column::WorkerId)).equals((page.clone(), worker::Column::Id));
        outer.join(JoinType::LeftJoin, coverage::Entity, on);
    }
    if include.payouts {
        for column in payout::Column::iter() {
            outer.expr_as(Expr::col((payout::Entity, column)), Alias::new(format!("p_{}", column.as_str())));
        }
        let on = Condition::all()
            .add(Expr::col((payout::Entity, payout::Column::WorkerId)).equals((page.clone(), worker::Column::Id)))
            .add(visible_payouts(actor));
        outer.join(JoinType::LeftJoin, payout::Entity, on);
    }
    for (column, direction) in order {
        outer.order_by((page.clone(), *column), direction.clone());
    }
    outer.order_by((page.clone(), worker::Column::Id), sea_orm::Order::Asc);
    if include.coverages {
        outer.order_by((coverage::Entity, coverage::Column::StartsOn), sea_orm::Order::Asc);
        outer.order_by((coverage::Entity, coverage::Column::Id), sea_orm::Order::Asc);
    }
    if include.payouts {
        outer.order_by((payout::Entity, payout::Column::SubmittedAt), sea_orm::Order::Asc);
        outer.order_by((payout::Entity, payout::Column::Id), sea_orm::Order::Asc);
    }
    let rows = state.db.query_all_raw(state.db.get_database_backend().build(&outer)).await?;
    let mut fetched: Vec<WorkerWith> = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("", "w_id")?;
        if fetched.last().is_none_or(|last| last.worker.id != id) {
            fetched.push(WorkerWith {
                worker: worker::Model::from_query_result(&row, "w_")?,
                coverages: include.coverages.then(Vec::new),
                payouts: include.payouts.then(Vec::new),
            });
        }
        let Some(current) = fetched.last_mut() else { continue };
        if let Some(periods) = current.coverages.as_mut()
            && let Some(period) = coverage::Model::from_query_result_optional(&row, "")?
            && !periods.iter().any(|p| p.id == period.id)
        {
            periods.push(period);
        }
        if let Some(payouts) = current.payouts.as_mut()
            && let Some(payout) = payout::Model::from_query_result_optional(&row, "p_")?
            && !payouts.iter().any(|p| p.id == payout.id)
        {
            payouts.push(payout);
        }
    }
    Ok(fetched)
}

pub async fn register(state: &AppState, caller: &Caller, input: NewWorker) -> AppResult<worker::Model> {
    let actor = require_role(caller, Role::Operator)?;
    let nik_text = input.nik.trim();
    let nik = check_nik(&state.areas, nik_text)?;
    if input.gender.is_some_and(|g| g != nik.gender) {
        return Err(AppError::bad_input("gender", Msg::GenderMismatch));
    }
    if input.birth_date.is_some_and(|d| d != nik.birth_date) {
        return Err(AppError::bad_input("birthDate", Msg::BirthDateMismatch));
    }
    let full_name = check_name(&input.full_name)?;
    let (regency_code, district_code) = domicile(state, &input.regency_code, input.district_code.as_deref())?;
    require_reach(actor, &regency_code)?;
    let membership_number = input.membership_number.as_deref().map(check_membership_number).transpose()?;

    if let Some(other) = worker::Entity::find().filter(worker::Column::Nik.eq(nik_text)).one(&state.db).await? {
        let message = Msg::NikRegistered;
        return Err(probes::conflict_with(state, actor, "registerWorker", &other, message).await?);
    }
    if let Some(number) = &membership_number
        && let Some(other) = holder_of_membership_number(&state.db, number, None).await?
    {
        return Err(probes::conflict_with(state, actor, "registerWorker", &other, MEMBERSHIP_NUMBER_TAKEN).await?);
    }
    let now = Utc::now();
    let row = worker::ActiveModel {
        nik: Set(nik_text.to_owned()),
        full_name: Set(full_name),
        gender: Set(nik.gender),
        birth_date: Set(nik.birth_date),
        occupation: Set(input.occupation),
        regency_code: Set(regency_code),
        district_code: Set(district_code),
        status: Set(WorkerStatus::Alive),
        died_on: Set(None),
        membership_number: Set(membership_number),
        registered_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let txn = state.db.begin().await?;
    // A concurrent registration of the same NIK loses on the unique index: CONFLICT.
    let row = row.insert(&txn).await?;
    audit::record(&txn, actor, "registerWorker", AuditEntity::Worker, row.id, None, Some(&row)).await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn update(state: &AppState, caller: &Caller, id: i64, input: WorkerChanges) -> AppResult<worker::Model> {
    let actor = require_role(caller, Role::Operator)?;
    // Under the worker's lock: the summaries move the worker's figures from what it is now.
    let txn = state.db.begin().await?;
    let current = lock_worker(&txn, id).await?;
    require_visible_worker(&txn, actor, id).await?;
    // A worker seen through a coverage only is not this key's to edit: the profile belongs to
    // the domicile regency (as at registration).
    require_reach(actor, &current.regency_code)?;
    let mut row: worker::ActiveModel = current.clone().into();
    if let Some(name) = &input.full_name {
        row.full_name = Set(check_name(name)?);
    }
    if let Some(occupation) = input.occupation {
        row.occupation = Set(occupation);
    }
    if input.regency_code.is_some() || input.district_code.is_some() {
        let regency_code = input.regency_code.as_deref().unwrap_or(&current.regency_code);
        // Moving to another regency without naming a district drops the old district.
        let district_code = match (&input.district_code, &input.regency_code) {
            (Some(code), _) => Some(code.as_str()),
            (None, Some(new)) if *new != current.regency_code => None,
            (None, _) => current.district_code.as_deref(),
        };
        let (regency_code, district_code) = domicile(state, regency_code, district_code)?;
        require_reach(actor, &regency_code)?;
        row.regency_code = Set(regency_code);
        row.district_code = Set(district_code);
    }
    if let Some(number) = &input.membership_number {
        let number = check_membership_number(number)?;
        if let Some(other) = holder_of_membership_number(&txn, &number, Some(id)).await? {
            txn.rollback().await?;
            return Err(probes::conflict_with(state, actor, "updateWorker", &other, MEMBERSHIP_NUMBER_TAKEN).await?);
        }
        row.membership_number = Set(Some(number));
    }
    row.updated_at = Set(Utc::now());
    let row = row.update(&txn).await?;
    audit::record(&txn, actor, "updateWorker", AuditEntity::Worker, id, Some(&current), Some(&row)).await?;
    let mut changes = Changes::default();
    if (row.occupation, &row.district_code) != (current.occupation, &current.district_code) {
        let coverages = periods_of(&txn, id).await?;
        let payouts = payout::Entity::find().filter(payout::Column::WorkerId.eq(id)).all(&txn).await?;
        let change = Tally::change(
            WorkerRows { worker: &current, coverages: &coverages, payouts: &payouts },
            WorkerRows { worker: &row, coverages: &coverages, payouts: &payouts },
        );
        summary::add(&txn, &change).await?;
        changes = Changes::stats(&change);
    }
    state.live.commit(txn, changes).await?;
    Ok(row)
}

/// A NIK that parses and whose province exists (registerWorker's rule, and the import's).
pub(crate) fn check_nik(areas: &Areas, nik_text: &str) -> AppResult<nik::Nik> {
    let nik = nik::parse(nik_text, today()).map_err(|e| AppError::bad_input("nik", e))?;
    if areas.province(&nik.province_code).is_none() {
        return Err(AppError::bad_input("nik", Msg::NikProvinceUnknown));
    }
    Ok(nik)
}

pub(crate) fn check_name(full_name: &str) -> AppResult<String> {
    clean_name("fullName", full_name, MAX_NAME_CHARS)
}

/// Checks a domicile: the regency exists and the district, if any, lies in it.
fn domicile(state: &AppState, regency_code: &str, district_code: Option<&str>) -> AppResult<(String, Option<String>)> {
    let regency =
        state.areas.regency(regency_code).ok_or_else(|| AppError::bad_input("regencyCode", Msg::UnknownRegency))?;
    let district = match district_code {
        None => None,
        Some(code) => match state.areas.district(code) {
            Some(d) if d.regency_code == regency.code => Some(d.code.clone()),
            Some(_) => return Err(AppError::bad_input("districtCode", Msg::DistrictNotInRegency)),
            None => {
                return Err(AppError::bad_input("districtCode", Msg::UnknownDistrict));
            }
        },
    };
    Ok((regency.code.clone(), district))
}

/// KPJ: opaque BPJS membership number, digits only.
pub(crate) fn check_membership_number(number: &str) -> AppResult<String> {
    let number = number.trim();
    if number.is_empty() || number.len() > 20 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_input("membershipNumber", Msg::MembershipNumberFormat));
    }
    Ok(number.to_owned())
}

const MEMBERSHIP_NUMBER_TAKEN: Msg = Msg::MembershipNumberTaken;

/// The worker other than `except` that holds this membership number, if any.
async fn holder_of_membership_number<C: ConnectionTrait>(
    db: &C,
    number: &str,
    except: Option<i64>,
) -> AppResult<Option<worker::Model>> {
    let mut query = worker::Entity::find().filter(worker::Column::MembershipNumber.eq(number));
    if let Some(id) = except {
        query = query.filter(worker::Column::Id.ne(id));
    }
    Ok(query.one(db).await?)
}

/// Finding a worker by a full NIK is for keys that may see full NIKs. A viewer sees NIKs masked
/// (first 6 and last 4 digits, and the gender tells the day's offset), so an exact lookup would
/// tell it which birth date completes a NIK: 624 requests recovered one.
fn require_nik_lookup(caller: &Caller) -> AppResult<&Actor> {
    let actor = require_reader(caller)?;
    if !actor.sees_nik() {
        return Err(AppError::Forbidden(Msg::FindByNikNeedsFullNiks));
    }
    Ok(actor)
}

/// The NIK a search looks for exactly, if it is one.
fn nik_search(filter: &WorkerFilter) -> Option<&str> {
    filter.search.as_deref().map(str::trim).filter(|s| nik::is_nik_shaped(s))
}

fn filter_condition(caller: &Caller, filter: &WorkerFilter) -> AppResult<Condition> {
    let mut condition = Condition::all();
    if let Some(code) = &filter.regency_code {
        condition = condition.add(worker::Column::RegencyCode.eq(code.as_str()));
    }
    if let Some(code) = &filter.district_code {
        condition = condition.add(worker::Column::DistrictCode.eq(code.as_str()));
    }
    if let Some(occupation) = filter.occupation {
        condition = condition.add(worker::Column::Occupation.eq(occupation));
    }
    if let Some(gender) = filter.gender {
        condition = condition.add(worker::Column::Gender.eq(gender));
    }
    if let Some(status) = filter.status {
        condition = condition.add(worker::Column::Status.eq(status));
    }
    if let Some(year) = filter.covered_in_year {
        let (first, last) = year_bounds(check_year("coveredInYear", year)?);
        let covered = Query::select()
            .expr(Expr::val(1))
            .from(coverage::Entity)
            .and_where(
                Expr::col((coverage::Entity, coverage::Column::WorkerId)).equals((worker::Entity, worker::Column::Id)),
            )
            .and_where(Expr::col((coverage::Entity, coverage::Column::StartsOn)).lte(last))
            .and_where(Expr::col((coverage::Entity, coverage::Column::CancelledAt)).is_null())
            .cond_where(
                Condition::any()
                    .add(Expr::col((coverage::Entity, coverage::Column::EndsOn)).is_null())
                    .add(Expr::col((coverage::Entity, coverage::Column::EndsOn)).gte(first)),
            )
            .to_owned();
        condition = condition.add(Expr::exists(covered));
    }
    if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        if nik_search(filter).is_some() {
            require_nik_lookup(caller)?;
            condition = condition.add(worker::Column::Nik.eq(search));
        } else {
            let search = clean_text("search", search, MAX_NAME_CHARS)?.to_lowercase();
            let escaped = search.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
            condition = condition
                .add(Expr::expr(Func::lower(Expr::col((worker::Entity, worker::Column::FullName)))).like(pattern));
        }
    }
    Ok(condition)
}

fn ordering_name(order: WorkerOrder) -> String {
    format!("{:?}_{:?}", order.field, order.direction)
}

/// The sort key of a row as cursor text, and back as a comparable value.
fn sort_key(order: WorkerOrder, row: &worker::Model) -> String {
    match order.field {
        WorkerSortField::Name => row.full_name.clone(),
        WorkerSortField::RegisteredAt => row.registered_at.to_rfc3339(),
    }
}

fn sort_value(order: WorkerOrder, key: &str, field: &'static str) -> AppResult<sea_orm::Value> {
    match order.field {
        WorkerSortField::Name => Ok(key.to_owned().into()),
        WorkerSortField::RegisteredAt => DateTime::parse_from_rfc3339(key)
            .map(|t| t.with_timezone(&Utc).into())
            .map_err(|_| AppError::bad_input(field, Msg::InvalidCursor)),
    }
}

fn sort_column(order: WorkerOrder) -> worker::Column {
    match order.field {
        WorkerSortField::Name => worker::Column::FullName,
        WorkerSortField::RegisteredAt => worker::Column::RegisteredAt,
    }
}

/// Rows strictly after (`greater`) or before the cursor in (sort key, id) order.
fn beyond(order: WorkerOrder, cursor: &Cursor, greater: bool, field: &'static str) -> AppResult<Condition> {
    let key = sort_value(order, &cursor.key, field)?;
    Ok(pagination::beyond(sort_column(order), key, worker::Column::Id, cursor.id, greater))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    filter: &WorkerFilter,
    order: WorkerOrder,
    args: &PageArgs,
    include: Include,
) -> AppResult<Page<WorkerWith>> {
    let ordering = ordering_name(order);
    let window = Window::new(args, &ordering)?;
    let ascending = order.direction == SortDirection::Asc;
    let actor = require_reader(caller)?;
    let mut condition = filter_condition(caller, filter)?.add(visible_workers(actor));
    if let Some(after) = &window.after {
        condition = condition.add(beyond(order, after, ascending, "after")?);
    }
    if let Some(before) = &window.before {
        condition = condition.add(beyond(order, before, !ascending, "before")?);
    }
    // Reading backwards walks the same index in the opposite direction.
    let read_ascending = ascending != window.backward;
    let direction = if read_ascending { sea_orm::Order::Asc } else { sea_orm::Order::Desc };
    let query = worker::Entity::find()
        .filter(condition)
        .order_by(sort_column(order), direction.clone())
        .order_by(worker::Column::Id, direction.clone())
        .limit(window.limit + 1);
    let order_of_rows = [(sort_column(order), direction.clone()), (worker::Column::Id, direction)];
    let rows = fetch(state, actor, query, &order_of_rows, include).await?;
    if let Some(nik_text) = nik_search(filter) {
        for row in &rows {
            state.reads.note(actor, PersonalRead::NikSearch, row.worker.id, nik_text);
        }
        if rows.is_empty() {
            state.reads.note(actor, PersonalRead::NikSearch, 0, nik_text);
        }
    }
    let fetched = rows
        .into_iter()
        .map(|row| (Cursor { ordering: ordering.clone(), key: sort_key(order, &row.worker), id: row.worker.id }, row))
        .collect();
    Ok(Page::from_fetched(&window, fetched))
}

pub async fn count(state: &AppState, caller: &Caller, filter: &WorkerFilter) -> AppResult<u64> {
    let condition = filter_condition(caller, filter)?.add(visible_workers(require_reader(caller)?));
    Ok(worker::Entity::find().filter(condition).count(&state.db).await?)
}
