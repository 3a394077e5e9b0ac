//! Synthetic people for the demo and the national seed: a deterministic random generator, names,
//! occupations by gender, NIKs and membership numbers. Same seed, same people, on every platform.
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::domain::types::{Gender, Occupation};

/// Birth years of the workers (aged about 19 to 63 in 2023).
pub(crate) const BORN_FROM: NaiveDate = date(1960, 1, 1);
pub(crate) const BORN_UNTIL: NaiveDate = date(2004, 12, 31);
pub(crate) const MALE_PERCENT: u64 = 55;

/// Occupations with their weights among men and among women: informal work in a regency with
/// rice fields, a fishing coast in the north and industrial suburbs in the south.
pub(crate) const OCCUPATIONS: [(Occupation, u32, u32); 14] = [
    (Occupation::Farmer, 8, 4),
    (Occupation::FarmLaborer, 13, 11),
    (Occupation::Fisher, 7, 1),
    (Occupation::StreetVendor, 12, 19),
    (Occupation::OnlineDriver, 8, 2),
    (Occupation::MotorcycleTaxi, 10, 1),
    (Occupation::ConstructionWorker, 14, 1),
    (Occupation::DomesticWorker, 2, 21),
    (Occupation::WastePicker, 5, 4),
    (Occupation::ReligiousWorker, 5, 4),
    (Occupation::VillageFacilitator, 2, 2),
    (Occupation::NeighborhoodOfficial, 5, 4),
    (Occupation::MicroEntrepreneur, 6, 20),
    (Occupation::Other, 3, 6),
];

// Sundanese, Javanese and Betawi names, common among workers born 1960-2004. Kept as compact
// paragraphs: rustfmt would put each name on its own line.
#[rustfmt::skip]
pub(crate) const MALE_FIRST_NAMES: &[&str] = &[
    "Asep", "Ujang", "Dedi", "Cecep", "Dadang", "Agus", "Budi", "Ahmad", "Muhammad", "Rudi", "Hendra", "Iwan",
    "Yanto", "Slamet", "Sutrisno", "Bambang", "Joko", "Wahyu", "Eko", "Teguh", "Sugeng", "Mamat", "Udin", "Rohmat",
    "Jaja", "Ade", "Dede", "Yayan", "Rojali", "Sanusi", "Marzuki", "Nasrudin", "Saiful", "Ridwan", "Hasan",
    "Komarudin", "Tatang", "Endang", "Usep", "Wawan", "Ruslan", "Jumadi", "Kusnadi", "Nanang", "Deden", "Fajar",
    "Rizky", "Dimas", "Bayu", "Aditya",
];
#[rustfmt::skip]
pub(crate) const MALE_SECOND_NAMES: &[&str] = &[
    "Hidayat", "Saputra", "Setiawan", "Kurniawan", "Gunawan", "Suryana", "Sopian", "Supriatna", "Hermawan",
    "Wijaya", "Rahmat", "Firmansyah", "Ramdani", "Sulaeman", "Permana", "Nugraha", "Santoso", "Susanto",
    "Prasetyo", "Wibowo", "Hartono", "Purnomo", "Sugiarto", "Mulyana", "Sukmana", "Kusuma", "Maulana",
    "Syahputra", "Nurdin", "Fauzi", "Hakim", "Arifin", "Jaelani", "Sobari", "Mansur", "Suherman", "Kosasih",
    "Suparman", "Effendi", "Rusdi", "Anwar", "Hasanudin", "Sarmili", "Sabeni", "Mursid",
];
#[rustfmt::skip]
pub(crate) const FEMALE_FIRST_NAMES: &[&str] = &[
    "Siti", "Nur", "Euis", "Neneng", "Iis", "Enok", "Imas", "Cucu", "Yati", "Tuti", "Sri", "Dewi", "Wati", "Lilis",
    "Nining", "Eti", "Yeni", "Rina", "Ratna", "Ani", "Atikah", "Rohmah", "Aisyah", "Fatimah", "Nurhayati", "Sumiati",
    "Kartini", "Rini", "Ida", "Entin", "Titin", "Nani", "Nia", "Fitri", "Putri", "Rizka", "Ayu", "Indah", "Novi",
    "Maya", "Dian", "Lina", "Mimin", "Onah", "Acih", "Juju", "Enah", "Ipah",
];
#[rustfmt::skip]
pub(crate) const FEMALE_SECOND_NAMES: &[&str] = &[
    "Rahmawati", "Nurhasanah", "Suryani", "Kurniasih", "Handayani", "Lestari", "Wulandari", "Purnamasari",
    "Rosita", "Komalasari", "Maryani", "Nurjanah", "Hasanah", "Fitriani", "Susanti", "Yuliani", "Rahayu",
    "Mulyani", "Sari", "Setiawati", "Herawati", "Nurlaela", "Sumarni", "Marlina", "Hartati", "Wahyuni",
    "Agustina", "Anggraeni", "Juariah", "Rohayati", "Nuraeni", "Kartika", "Permatasari", "Damayanti", "Safitri",
    "Oktaviani", "Fauziah", "Khotimah", "Aminah", "Rukmini", "Sulastri", "Zubaedah", "Halimah", "Maesaroh",
    "Jubaedah",
];

/// The NIK's first twelve digits: area + DDMMYY, with 40 added to the day for women.
pub(crate) fn nik_prefix(area: &str, gender: Gender, birth_date: NaiveDate) -> String {
    let day = birth_date.day() + if gender == Gender::Female { 40 } else { 0 };
    format!("{area}{day:02}{:02}{:02}", birth_date.month(), birth_date.year() % 100)
}

/// KPJ numbers: "2" and 10 digits. Multiplying by a number coprime with 10^10, modulo 10^10,
/// permutes 0..10^10, so numbers stay unique while not looking like a counter.
pub(crate) fn membership_number(index: u64) -> String {
    const SPACE: u128 = 10_000_000_000;
    format!("2{:010}", u128::from(index + 1) * 6_364_136_223 % SPACE)
}

pub(crate) fn occupations_of(gender: Gender) -> Vec<(Occupation, u32)> {
    OCCUPATIONS
        .iter()
        .map(|&(occupation, men, women)| (occupation, if gender == Gender::Male { men } else { women }))
        .collect()
}

pub(crate) fn full_name(rng: &mut SplitMix64, gender: Gender) -> String {
    let (first, second) = match gender {
        Gender::Male => (MALE_FIRST_NAMES, MALE_SECOND_NAMES),
        Gender::Female => (FEMALE_FIRST_NAMES, FEMALE_SECOND_NAMES),
    };
    format!("{} {}", rng.pick(first), rng.pick(second))
}

/// splitmix64: tiny, fast, and the same numbers on every platform and Rust version, which is all
/// demo data needs (no dependency on `rand`'s algorithm choices).
pub(crate) struct SplitMix64(pub(crate) u64);

impl SplitMix64 {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform enough in 0..n (n > 0): the modulo bias is negligible for n this small.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// One item, with probability proportional to its weight (the weights of a table are not all 0).
pub(crate) fn pick_weighted<T: Copy>(rng: &mut SplitMix64, table: &[(T, u32)]) -> T {
    let total: u64 = table.iter().map(|&(_, weight)| u64::from(weight)).sum();
    let mut ticket = rng.below(total);
    for &(item, weight) in table {
        if ticket < u64::from(weight) {
            return item;
        }
        ticket -= u64::from(weight);
    }
    table[table.len() - 1].0 // unreachable: ticket < total
}

/// A date written in the source; an invalid one fails the build, since constants are evaluated
/// at compile time.
pub(crate) const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        None => panic!("invalid date constant"),
    }
}

/// An instant written in the source, on the hour, UTC.
pub(crate) const fn utc(year: i32, month: u32, day: u32, hour: u32) -> DateTime<Utc> {
    match date(year, month, day).and_hms_opt(hour, 0, 0) {
        Some(instant) => instant.and_utc(),
        None => panic!("invalid time constant"),
    }
}
