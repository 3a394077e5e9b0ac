//! Enumerations of the domain, shared by the database (stored as their SCREAMING_SNAKE names) and
//! the GraphQL schema (same names), so a value never needs translating between layers.
use async_graphql::Enum;
use sea_orm::sea_query::StringLen;
use sea_orm::{DeriveActiveEnum, EnumIter};

macro_rules! domain_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum, Enum, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)", rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }
    };
}

domain_enum!(Gender { Male, Female });
domain_enum!(WorkerStatus { Alive, Deceased });
domain_enum!(Occupation {
    Farmer,
    FarmLaborer,
    Fisher,
    StreetVendor,
    OnlineDriver,
    MotorcycleTaxi,
    ConstructionWorker,
    DomesticWorker,
    WastePicker,
    ReligiousWorker,
    VillageFacilitator,
    NeighborhoodOfficial,
    MicroEntrepreneur,
    Other,
});
domain_enum!(
    /// JKK: work-accident cover. JKM: death cover. JHT: old-age savings (optional for non-wage workers).
    Program { Jkk, Jkm, Jht }
);
domain_enum!(
    /// Who pays the premium. APBD = regency budget, APBD_PERUBAHAN = the revised/supplementary regency
    /// budget (ABT), APBD_PROVINCE = province budget, APBDES = village budget.
    FundingSource { Apbd, ApbdPerubahan, ApbdProvince, Apbdes, Csr,
        /// Stored as SELF_FUNDED (`Self` is a Rust keyword), named SELF in the API.
        #[graphql(name = "SELF")]
        #[serde(rename = "SELF")]
        SelfFunded,
    }
);
domain_enum!(CoverageEndReason { Expired, Deceased, Moved, Cancelled });
domain_enum!(RegencyKind { Kabupaten, Kota });
domain_enum!(
    /// DEATH = JKM death benefit (fixed by regulation, Rp42,000,000 since 2019-12-02).
    /// WORK_ACCIDENT_DEATH = JKK death, 48 x declared monthly income. WORK_ACCIDENT_CARE = JKK
    /// treatment, actual cost. SCHOLARSHIP = child education benefit.
    Benefit { Death, WorkAccidentDeath, WorkAccidentCare, Scholarship }
);
domain_enum!(
    /// SUBMITTED -> VERIFIED -> APPROVED -> PAID; SUBMITTED/VERIFIED/APPROVED -> REJECTED.
    PayoutStatus { Submitted, Verified, Approved, Paid, Rejected }
);
domain_enum!(Relationship { Spouse, Child, Parent, Sibling, Grandchild, Other });

/// Levels of the administrative hierarchy that statistics roll up through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
pub enum AreaLevel {
    National,
    Province,
    Regency,
    District,
}
