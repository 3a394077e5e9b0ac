//! Values as clerks write them in spreadsheet cells, parsed into the domain's types: dates day
//! first (`01/07/2023`, `1 Juli 2023`, `1-Jul-23`, or ISO), rupiah with Indonesian thousands
//! separators (`Rp1.500.000`), occupations by the Indonesian names the dashboard shows, and names
//! compared without case, spaces or punctuation. Pure: no I/O, nothing allocated per call beyond
//! what is returned.
use chrono::NaiveDate;
use sea_orm::ActiveEnum;

use super::types::Occupation;

/// The key a header or a name is compared by: its letters and digits, lowercase ("Nama Lengkap",
/// "nama_lengkap" and "NAMA LENGKAP" are all "namalengkap").
pub fn name_key(text: &str) -> String {
    key_chars(text).collect()
}

fn key_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase)
}

/// Names looked up by their key, built once (per import) and then asked without allocating.
#[derive(Debug, Clone)]
pub struct NameTable<T> {
    entries: Vec<(String, T)>,
}

impl<T: Clone> NameTable<T> {
    /// Later names with the key of an earlier one are ignored.
    pub fn new<'a>(names: impl IntoIterator<Item = (&'a str, T)>) -> Self {
        let mut entries: Vec<(String, T)> = Vec::new();
        for (name, value) in names {
            let key = name_key(name);
            if !key.is_empty() && !entries.iter().any(|(k, _)| *k == key) {
                entries.push((key, value));
            }
        }
        NameTable { entries }
    }

    pub fn find(&self, text: &str) -> Option<T> {
        self.entries.iter().find(|(key, _)| key_chars(text).eq(key.chars())).map(|(_, value)| value.clone())
    }
}

/// What the dashboard calls each occupation in Indonesian.
pub const OCCUPATION_NAMES_ID: [(Occupation, &str); 14] = [
    (Occupation::Farmer, "Petani"),
    (Occupation::FarmLaborer, "Buruh tani"),
    (Occupation::Fisher, "Nelayan"),
    (Occupation::StreetVendor, "Pedagang kaki lima"),
    (Occupation::OnlineDriver, "Pengemudi ojek daring"),
    (Occupation::MotorcycleTaxi, "Ojek pangkalan"),
    (Occupation::ConstructionWorker, "Pekerja konstruksi"),
    (Occupation::DomesticWorker, "Pekerja rumah tangga"),
    (Occupation::WastePicker, "Pemulung"),
    (Occupation::ReligiousWorker, "Pekerja keagamaan"),
    (Occupation::VillageFacilitator, "Pendamping desa"),
    (Occupation::NeighborhoodOfficial, "Pengurus RT/RW"),
    (Occupation::MicroEntrepreneur, "Pelaku usaha mikro"),
    (Occupation::Other, "Lainnya"),
];

/// Occupations by their API names (`WASTE_PICKER`, `waste picker`) and their Indonesian ones
/// (`Pemulung`).
pub fn occupations() -> NameTable<Occupation> {
    let api: Vec<(String, Occupation)> = OCCUPATION_NAMES_ID.iter().map(|(o, _)| (o.to_value(), *o)).collect();
    NameTable::new(
        api.iter().map(|(name, o)| (name.as_str(), *o)).chain(OCCUPATION_NAMES_ID.iter().map(|(o, name)| (*name, *o))),
    )
}

/// A date as the file writes it, day always before month: `2023-07-01` (ISO, year first),
/// `01/07/2023`, `1-7-2023`, `01.07.2023`, `1 Juli 2023`, `1-Jul-23`, `1 July 2023`, months by
/// their Indonesian or English names or first three letters. A two-digit year is 2000-2029 below
/// 30 and 1930-1999 otherwise (as Excel reads them).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let bytes = text.as_bytes();
    // The common case first, without splitting.
    if bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        return ymd(digits(&bytes[0..4])?, digits(&bytes[5..7])?, digits(&bytes[8..10])?);
    }
    let separator = text.chars().find(|c| matches!(c, '/' | '-' | '.' | ' '))?;
    let mut parts = if separator == ' ' {
        text.split_whitespace().collect::<Vec<_>>().into_iter()
    } else {
        text.split(separator).collect::<Vec<_>>().into_iter()
    };
    let (first, second, third) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    if first.len() == 4 && separator != ' ' {
        return ymd(digits(first.as_bytes())?, digits(second.as_bytes())?, digits(third.as_bytes())?);
    }
    let day = if (1..=2).contains(&first.len()) { digits(first.as_bytes())? } else { return None };
    let month = if (1..=2).contains(&second.len()) { digits(second.as_bytes())? } else { month_by_name(second)? };
    let year = match third.len() {
        4 => digits(third.as_bytes())?,
        2 => {
            let yy = digits(third.as_bytes())?;
            if yy < 30 { 2000 + yy } else { 1900 + yy }
        }
        _ => return None,
    };
    ymd(year, month, day)
}

fn ymd(year: u32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// Decimal digits only (no sign, no spaces), at most 9 of them.
fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0, |n, b| n * 10 + u32::from(b - b'0')))
}

/// Month names in Indonesian and English, with their usual abbreviations.
const MONTHS: [&[&str]; 12] = [
    &["januari", "january", "jan"],
    &["februari", "february", "feb", "pebruari", "peb"],
    &["maret", "march", "mar"],
    &["april", "apr"],
    &["mei", "may"],
    &["juni", "june", "jun"],
    &["juli", "july", "jul"],
    &["agustus", "august", "agu", "agt", "agus", "aug"],
    &["september", "sep", "sept"],
    &["oktober", "october", "okt", "oct"],
    &["november", "nopember", "nov", "nop"],
    &["desember", "december", "des", "dec"],
];

fn month_by_name(name: &str) -> Option<u32> {
    let name = name.strip_suffix('.').unwrap_or(name);
    MONTHS.iter().position(|names| names.iter().any(|n| n.eq_ignore_ascii_case(name))).map(|i| i as u32 + 1)
}

/// Whole rupiah as the file writes them: `1500000`, `1.500.000` (Indonesian thousands
/// separators, in groups of three), with `Rp` in front or not (`Rp1.500.000`, `Rp 1.500.000`,
/// `Rp. 1.500.000`), and zero sen after a comma (`1.500.000,00`, `1.500.000,-`). None for anything else: a
/// fraction of a rupiah, a sign, a comma as thousands separator (`1,500` could be 1.5).
pub fn parse_rupiah(text: &str) -> Option<i64> {
    let mut text = text.trim();
    if let Some(rest) = text.get(..2).filter(|rp| rp.eq_ignore_ascii_case("rp")).map(|_| &text[2..]) {
        text = rest.strip_prefix('.').unwrap_or(rest).trim_start();
    }
    if let Some((whole, sen)) = text.split_once(',') {
        let zero = sen == "-" || (!sen.is_empty() && sen.len() <= 2 && sen.bytes().all(|b| b == b'0'));
        if !zero {
            return None;
        }
        text = whole;
    }
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return None;
    }
    let grouped = bytes.contains(&b'.');
    let mut amount: i64 = 0;
    for (i, group) in text.split('.').enumerate() {
        let fits = if !grouped {
            true
        } else if i == 0 {
            (1..=3).contains(&group.len())
        } else {
            group.len() == 3
        };
        if !fits || group.is_empty() || !group.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        for b in group.bytes() {
            amount = amount.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        }
    }
    Some(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn dates_as_clerks_write_them() {
        for (text, date) in [
            ("2023-07-01", day(2023, 7, 1)),
            ("2023/07/01", day(2023, 7, 1)),
            ("01/07/2023", day(2023, 7, 1)),
            ("1/7/2023", day(2023, 7, 1)),
            ("01-07-2023", day(2023, 7, 1)),
            ("01.07.2023", day(2023, 7, 1)),
            ("1 Juli 2023", day(2023, 7, 1)),
            ("1  juli   2023", day(2023, 7, 1)),
            ("1 July 2023", day(2023, 7, 1)),
            ("1-Jul-23", day(2023, 7, 1)),
            ("1-Jan-24", day(2024, 1, 1)),
            ("17 Agustus 1945", day(1945, 8, 17)),
            ("17-Agu-45", day(1945, 8, 17)),
            ("25-Des-29", day(2029, 12, 25)),
            ("25-Dec-30", day(1930, 12, 25)),
            ("31 Okt 2024", day(2024, 10, 31)),
            ("1 Mei 2024", day(2024, 5, 1)),
            ("12/01/2024", day(2024, 1, 12)), // day first, always
            (" 2024-02-29 ", day(2024, 2, 29)),
        ] {
            assert_eq!(parse_date(text), Some(date), "{text:?}");
        }
        for text in [
            "",
            "2023-13-01",
            "31/02/2023",
            "07/31/2023", // month 31: day first
            "2023-7-1x",
            "1 Juli",
            "1 Juli 2023 10:00",
            "1 Jully 2023",
            "1-Jul-023",
            "01/07-2023",
            "-1/07/2023",
            "١/٧/٢٠٢٣",
            "45108", // an Excel serial date: not guessed
        ] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn rupiah_as_clerks_write_them() {
        for (text, amount) in [
            ("1500000", 1_500_000),
            ("1.500.000", 1_500_000),
            ("Rp1.500.000", 1_500_000),
            ("Rp 1.500.000", 1_500_000),
            ("rp. 1.500.000", 1_500_000),
            ("RP1500000", 1_500_000),
            ("1.500.000,00", 1_500_000),
            ("Rp1.500.000,-", 1_500_000),
            ("999", 999),
            ("0", 0),
        ] {
            assert_eq!(parse_rupiah(text), Some(amount), "{text:?}");
        }
        for text in
            ["", "Rp", "1,500,000", "1.5", "1.500.00", "15.00.000", "1.500,50", "-1500000", "1 500 000", "1e6", "Rp-1"]
        {
            assert_eq!(parse_rupiah(text), None, "{text:?}");
        }
        assert_eq!(parse_rupiah("99999999999999999999"), None, "overflow");
    }

    #[test]
    fn occupations_by_api_and_indonesian_names() {
        let table = occupations();
        for (text, occupation) in [
            ("WASTE_PICKER", Occupation::WastePicker),
            ("waste picker", Occupation::WastePicker),
            ("Pemulung", Occupation::WastePicker),
            ("  PEMULUNG ", Occupation::WastePicker),
            ("Pedagang kaki lima", Occupation::StreetVendor),
            ("pedagang  kaki-lima", Occupation::StreetVendor),
            ("Nelayan", Occupation::Fisher),
            ("pengurus rt/rw", Occupation::NeighborhoodOfficial),
            ("Lainnya", Occupation::Other),
        ] {
            assert_eq!(table.find(text), Some(occupation), "{text:?}");
        }
        assert_eq!(table.find("Pilot"), None);
        assert_eq!(table.find(""), None);
    }

    #[test]
    fn keys_ignore_case_spaces_and_punctuation() {
        assert_eq!(name_key(" Nama  Lengkap "), "namalengkap");
        assert_eq!(name_key("full_name"), "fullname");
        assert_eq!(name_key("No. KPJ"), "nokpj");
    }

    fn dotted(n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(d);
        }
        out
    }

    proptest! {
        #[test]
        fn every_way_of_writing_an_amount_reads_back(n in 0u64..=1_000_000_000_000) {
            let amount = Some(n as i64);
            prop_assert_eq!(parse_rupiah(&n.to_string()), amount);
            prop_assert_eq!(parse_rupiah(&dotted(n)), amount);
            prop_assert_eq!(parse_rupiah(&format!("Rp{}", dotted(n))), amount);
            prop_assert_eq!(parse_rupiah(&format!("Rp {},00", dotted(n))), amount);
        }

        #[test]
        fn every_way_of_writing_a_date_reads_back(days in 0i64..(200 * 366)) {
            let date = day(1930, 1, 1) + chrono::Duration::days(days);
            let (d, m, y) = (date.format("%d"), date.format("%m"), date.format("%Y"));
            prop_assert_eq!(parse_date(&date.to_string()), Some(date));
            prop_assert_eq!(parse_date(&format!("{d}/{m}/{y}")), Some(date));
            prop_assert_eq!(parse_date(&format!("{d}-{m}-{y}")), Some(date));
            let month = chrono::Datelike::month0(&date) as usize;
            prop_assert_eq!(parse_date(&format!("{d} {} {y}", MONTHS[month][0])), Some(date));
            prop_assert_eq!(parse_date(&format!("{d} {} {y}", MONTHS[month][1])), Some(date));
            if (1930..2030).contains(&chrono::Datelike::year(&date)) {
                let short = &MONTHS[month].iter().find(|n| n.len() == 3).unwrap();
                prop_assert_eq!(parse_date(&format!("{}-{short}-{}", chrono::Datelike::day(&date), date.format("%y"))), Some(date));
            }
        }

        #[test]
        fn dates_and_amounts_never_panic(text in ".{0,24}") {
            let _ = parse_date(&text);
            let _ = parse_rupiah(&text);
        }
    }
}
