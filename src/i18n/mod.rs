//! The users' language: English or Bahasa Indonesia, for what people read (error messages, the
//! import report, the CLI's output). Codes (`extensions.code`), logs and the audit log stay as
//! they are. The language of a request comes from its `Accept-Language` header, the CLI's from
//! `--lang`; messages are values (`Msg`, `Line`) rendered in a language at the edge.
/// Renders the English or the Indonesian format string, with the same arguments in scope.
macro_rules! say {
    ($lang:expr, $en:literal, $id:literal $(,)?) => {
        match $lang {
            Lang::En => format!($en),
            Lang::Id => format!($id),
        }
    };
}

mod lines;
mod messages;

pub use lines::Line;
pub use messages::{Msg, Noun};

use chrono::{Datelike, NaiveDate};

/// A language people read the server's texts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    En,
    Id,
}

impl Lang {
    /// The language an `Accept-Language` header prefers, by q-value (the first listed among
    /// equals); English when it names neither English nor Indonesian, or cannot be read.
    /// `id`, `id-ID` and the old code `in` are Indonesian.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let Some(lang) = Lang::of_tag(tag) else { continue };
            let mut quality = Some(1000);
            for param in parts {
                if let Some((name, value)) = param.split_once('=')
                    && name.trim().eq_ignore_ascii_case("q")
                {
                    quality = parse_quality(value.trim());
                }
            }
            let Some(quality) = quality.filter(|q| *q > 0) else { continue };
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// The language of a tag (`id-ID` -> Id), by its primary subtag.
    fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("id") || primary.eq_ignore_ascii_case("in") {
            Some(Lang::Id)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The tag for `Content-Language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
        }
    }
}

/// A q-value in thousandths ("0.8" -> 800); None when it is not one (RFC 9110: 0 to 1, at most
/// three decimals).
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A whole number for people: 86,000 in English, 86.000 in Indonesian.
pub fn number(n: i64, lang: Lang) -> String {
    let separator = match lang {
        Lang::En => ',',
        Lang::Id => '.',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// An amount of rupiah for people: Rp42,000,000 in English, Rp42.000.000 in Indonesian.
pub fn rupiah(amount: i64, lang: Lang) -> String {
    if amount < 0 {
        return format!("-Rp{}", number(-amount, lang));
    }
    format!("Rp{}", number(amount, lang))
}

/// A decimal for people, with `places` decimals: 1.5 in English, 1,5 in Indonesian.
pub fn decimal(x: f64, places: usize, lang: Lang) -> String {
    let text = format!("{x:.places$}");
    match lang {
        Lang::En => text,
        Lang::Id => text.replace('.', ","),
    }
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// A date for people: 2023-06-20 in English (as the API writes dates), 20 Juni 2023 in
/// Indonesian.
pub fn date(day: NaiveDate, lang: Lang) -> String {
    match lang {
        Lang::En => day.to_string(),
        Lang::Id => format!("{} {} {}", day.day(), MONTHS_ID[day.month0() as usize], day.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn indonesian_prefers_id() {
        for header in
            ["id", "id-ID", "ID-id", "in", "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "fr, id;q=0.5", "en;q=0.5, id"]
        {
            assert_eq!(Lang::from_accept_language(header), Lang::Id, "{header}");
        }
    }

    #[test]
    fn english_otherwise() {
        for header in [
            "",
            "en",
            "en-US",
            "en;q=0.9, id;q=0.8",
            "id;q=0.8, en;q=0.9",
            "id, en",
            "en, id",
            "fr",
            "*",
            "id;q=0",
            "id;q=2",
            "id;q=abc",
            "id;q=0.1234",
            ";;,,==",
            "indonesian",
            "\u{0}garbage\u{ff}",
        ] {
            // "id, en": equal q, the first listed wins.
            let expected = if header == "id, en" { Lang::Id } else { Lang::En };
            assert_eq!(Lang::from_accept_language(header), expected, "{header}");
        }
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.8"), Some(800));
        assert_eq!(parse_quality("0.05"), Some(50));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("-0.5"), None);
        assert_eq!(parse_quality(""), None);
    }

    #[test]
    fn indonesian_numbers_money_and_dates() {
        assert_eq!(number(86_000, Lang::Id), "86.000");
        assert_eq!(number(86_000, Lang::En), "86,000");
        assert_eq!(number(999, Lang::Id), "999");
        assert_eq!(number(0, Lang::Id), "0");
        assert_eq!(number(1_048_576, Lang::Id), "1.048.576");
        assert_eq!(number(-1_500, Lang::Id), "-1.500");
        assert_eq!(number(i64::MIN, Lang::Id), "-9.223.372.036.854.775.808");
        assert_eq!(rupiah(42_000_000, Lang::Id), "Rp42.000.000");
        assert_eq!(rupiah(42_000_000, Lang::En), "Rp42,000,000");
        assert_eq!(rupiah(13_704_633_600, Lang::Id), "Rp13.704.633.600");
        let day = NaiveDate::from_ymd_opt(2023, 6, 20).expect("a date");
        assert_eq!(date(day, Lang::Id), "20 Juni 2023");
        assert_eq!(date(day, Lang::En), "2023-06-20");
        let new_year = NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date");
        assert_eq!(date(new_year, Lang::Id), "1 Januari 1900");
        assert_eq!(decimal(0.0714, 3, Lang::Id), "0,071");
        assert_eq!(decimal(1.26, 1, Lang::En), "1.3");
    }

    proptest! {
        #[test]
        fn any_header_is_answered(header in ".*") {
            let _ = Lang::from_accept_language(&header);
        }

        #[test]
        fn the_higher_quality_wins(a in 1u16..=1000, b in 1u16..=1000, id_first in any::<bool>()) {
            let (id, en) = (format!("id;q={}", f64::from(a) / 1000.0), format!("en;q={}", f64::from(b) / 1000.0));
            let header = if id_first { format!("{id}, {en}") } else { format!("{en}, {id}") };
            let expected = if a > b || (a == b && id_first) { Lang::Id } else { Lang::En };
            prop_assert_eq!(Lang::from_accept_language(&header), expected);
        }

        #[test]
        fn numbers_round_trip(n in any::<i64>()) {
            let id = number(n, Lang::Id);
            prop_assert_eq!(id.replace('.', "").parse::<i64>().ok(), Some(n));
            prop_assert_eq!(number(n, Lang::En).replace(',', "."), id);
        }
    }
}
