//! The reference areas, held in memory: 38 provinces, 514 regencies, 7,285 districts. They only
//! change by migration, so loading them once at start makes every area lookup free of queries.
use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryOrder};

use crate::domain::types::{AreaLevel, RegencyKind};
use crate::entities::{district, province, regency};
use crate::error::{AppError, AppResult};
use crate::i18n::Msg;

#[derive(Debug, Clone)]
pub struct Province {
    pub code: String,
    pub name: String,
    pub regency_codes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Regency {
    pub code: String,
    pub province_code: String,
    pub name: String,
    pub kind: RegencyKind,
    pub district_codes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub regency_code: String,
    pub name: String,
}

/// One node of the hierarchy, as statistics see it.
#[derive(Debug, Clone, Copy)]
pub enum Area<'a> {
    National,
    Province(&'a Province),
    Regency(&'a Regency),
    District(&'a District),
}

impl Area<'_> {
    pub fn level(&self) -> AreaLevel {
        match self {
            Area::National => AreaLevel::National,
            Area::Province(_) => AreaLevel::Province,
            Area::Regency(_) => AreaLevel::Regency,
            Area::District(_) => AreaLevel::District,
        }
    }

    /// None for the nation.
    pub fn code(&self) -> Option<&str> {
        match self {
            Area::National => None,
            Area::Province(p) => Some(&p.code),
            Area::Regency(r) => Some(&r.code),
            Area::District(d) => Some(&d.code),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Area::National => "Indonesia",
            Area::Province(p) => &p.name,
            Area::Regency(r) => &r.name,
            Area::District(d) => &d.name,
        }
    }
}

/// Each area behind an `Arc`: GraphQL objects hold one per field resolved (a worker's regency, a
/// district), and cloning a regency with its district codes for each was measurable.
#[derive(Debug, Default)]
pub struct Areas {
    provinces: Vec<Arc<Province>>,
    province_index: HashMap<String, usize>,
    regencies: HashMap<String, Arc<Regency>>,
    districts: HashMap<String, Arc<District>>,
}

impl Areas {
    pub async fn load(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let mut areas = Areas::default();
        let mut provinces: Vec<Province> = Vec::new();
        let mut regencies: HashMap<String, Regency> = HashMap::new();
        for p in province::Entity::find().order_by_asc(province::Column::Code).all(db).await? {
            areas.province_index.insert(p.code.clone(), provinces.len());
            provinces.push(Province { code: p.code, name: p.name, regency_codes: vec![] });
        }
        for r in regency::Entity::find().order_by_asc(regency::Column::Code).all(db).await? {
            if let Some(&i) = areas.province_index.get(&r.province_code) {
                provinces[i].regency_codes.push(r.code.clone());
            }
            let regency = Regency {
                code: r.code.clone(),
                province_code: r.province_code,
                name: r.name,
                kind: r.kind,
                district_codes: vec![],
            };
            regencies.insert(r.code, regency);
        }
        for d in district::Entity::find().order_by_asc(district::Column::Code).all(db).await? {
            if let Some(regency) = regencies.get_mut(&d.regency_code) {
                regency.district_codes.push(d.code.clone());
            }
            let district = District { code: d.code.clone(), regency_code: d.regency_code, name: d.name };
            areas.districts.insert(d.code, Arc::new(district));
        }
        areas.provinces = provinces.into_iter().map(Arc::new).collect();
        areas.regencies = regencies.into_iter().map(|(code, r)| (code, Arc::new(r))).collect();
        Ok(areas)
    }

    pub fn provinces(&self) -> &[Arc<Province>] {
        &self.provinces
    }

    pub fn province(&self, code: &str) -> Option<&Arc<Province>> {
        self.province_index.get(code).map(|&i| &self.provinces[i])
    }

    pub fn regency(&self, code: &str) -> Option<&Arc<Regency>> {
        self.regencies.get(code)
    }

    pub fn district(&self, code: &str) -> Option<&Arc<District>> {
        self.districts.get(code)
    }

    /// Regencies of one province (or all), optionally whose name contains `search` (any case).
    pub fn regencies(&self, province_code: Option<&str>, search: Option<&str>) -> Vec<&Arc<Regency>> {
        let needle = search.map(str::to_lowercase);
        let provinces: Vec<&Arc<Province>> = match province_code {
            Some(code) => self.province(code).into_iter().collect(),
            None => self.provinces.iter().collect(),
        };
        provinces
            .into_iter()
            .flat_map(|p| p.regency_codes.iter().filter_map(|c| self.regencies.get(c)))
            .filter(|r| needle.as_ref().is_none_or(|n| r.name.to_lowercase().contains(n)))
            .collect()
    }

    pub fn districts_of<'a>(&'a self, regency: &'a Regency) -> impl Iterator<Item = &'a Arc<District>> {
        regency.district_codes.iter().filter_map(|c| self.districts.get(c))
    }

    /// `None` = national, "36" = province, "36.03" = regency, "36.03.01" = district.
    pub fn area(&self, code: Option<&str>) -> AppResult<Area<'_>> {
        let Some(code) = code else { return Ok(Area::National) };
        let found = match code.len() {
            2 => self.province(code).map(|p| Area::Province(p)),
            5 => self.regency(code).map(|r| Area::Regency(r)),
            8 => self.district(code).map(|d| Area::District(d)),
            _ => None,
        };
        // Echo at most a short prefix: a megabyte of input is not repeated back.
        found.ok_or_else(|| AppError::NotFound(Msg::NoArea { code: code.chars().take(16).collect() }))
    }

    /// The areas one level down, in code order; none below a district.
    pub fn children<'a>(&'a self, area: &Area<'a>) -> Vec<Area<'a>> {
        match area {
            Area::National => self.provinces.iter().map(|p| Area::Province(p)).collect(),
            Area::Province(p) => {
                p.regency_codes.iter().filter_map(|c| self.regencies.get(c)).map(|r| Area::Regency(r)).collect()
            }
            Area::Regency(r) => self.districts_of(r).map(|d| Area::District(d)).collect(),
            Area::District(_) => vec![],
        }
    }
}

/// Complexity weight of an area list (a province has up to 38 regencies, a regency up to ~50
/// districts): what its selection counts for in `ApiLimits::max_complexity`.
pub const LIST_COST: usize = 10;

/// Complexity weight of the 514 regencies listed without a province: a nested selection under
/// them runs 514 times (a fuzzed query asking each of the 7,285 districts for its regency's
/// workers ran thousands of statements and exhausted the pool).
pub const ALL_REGENCIES_COST: usize = 514;
