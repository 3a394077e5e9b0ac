//! What clients are told, in both languages side by side: the messages of errors (`AppError`,
//! requests refused before they ran) and of an import's error rows. A message is a value (a kind
//! and its arguments); `text` renders it. A new kind without its Indonesian (or English) text
//! does not compile.
//!
//! English texts are those the server always had; Indonesian ones write numbers, rupiah and dates
//! as Indonesians do (86.000, Rp42.000.000, 20 Juni 2023). Names of the API (fields such as
//! `endsOn`, enum values such as SUBMITTED, codes) are the same in both.
use chrono::NaiveDate;

use super::{Lang, date, number, rupiah};
use crate::domain::coverage_period::ProgramsError;
use crate::domain::nik::NikError;
use crate::domain::payout_state::PayoutAction;

/// What a client is told: the message of an error (`AppError`, a request refused before it ran)
/// or of an import's error row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    // Access and keys.
    KeyRequired,
    UnknownKey,
    KeyExpired,
    // Access tokens (OpenID Connect).
    TokensNotAccepted,
    TokenMalformed,
    TokenSignature,
    TokenExpired,
    TokenIssuer,
    TokenAudience,
    TokenUnknownSigningKey,
    TokenNoRole {
        claim: String,
    },
    TokenScope {
        claim: String,
    },
    TokenAdminWithScope,
    NeedsRole {
        role: &'static str,
    },
    OutsideScope {
        regency: String,
    },
    AdminsOnlyAuditLog,
    FindByNikNeedsFullNiks,
    BirthDateNeedsFullNiks,
    KeyNameLength,
    // Rate limits.
    TooManyWrongKeys,
    TooManyProbes,
    TooManyKeyRequests,
    TooManySubscriptions {
        max: usize,
    },
    TooManyConnections {
        max: u32,
    },
    TooManyPendingConnections,
    TooManyAnonymousRequests,
    // The database and the server.
    Internal {
        error_id: Option<String>,
    },
    RecordExists,
    StatementTimeout,
    DatabaseUnreachable,
    DatabaseBusy,
    RequestTimeout {
        secs: u64,
    },
    // Requests refused before they ran.
    NotJson,
    BodyTooLarge {
        max: usize,
    },
    BatchRefused,
    NotAGraphqlBody {
        detail: String,
    },
    UploadTooLarge {
        max: usize,
    },
    MultipartInvalid {
        detail: String,
    },
    QueryStringInvalid {
        detail: String,
    },
    MutationNeedsPost,
    OneMutationPerRequest,
    SubscriptionNeedsWebSocket,
    OnlySubscriptionsOverWebSocket,
    TooManyTokens {
        max: usize,
    },
    TooManyAliases {
        max: usize,
    },
    PersistedQueryNotFound {
        id: String,
    },
    OnlyTrustedDocuments,
    IntrospectionNeedsKey,
    TrustedDocumentsOff,
    DocumentMismatch,
    // Input in general.
    InvalidId,
    InvalidCursor,
    CursorOfAnotherOrdering,
    PageSizeBetween {
        field: &'static str,
        max: u64,
    },
    FirstOrLast,
    FirstBetween {
        max: u64,
    },
    DateRange,
    YearRange,
    Empty {
        field: &'static str,
    },
    TooLong {
        field: &'static str,
        max: usize,
    },
    ControlCharacters {
        field: &'static str,
    },
    FormulaStart {
        field: &'static str,
    },
    NotNegative {
        field: &'static str,
    },
    // Areas and statistics.
    UnknownRegency,
    UnknownDistrict,
    DistrictNotInRegency,
    NoArea {
        code: String,
    },
    NoProvince {
        code: String,
    },
    ToYearBeforeFromYear,
    TrendTooLong {
        max: i32,
    },
    // Workers.
    Nik(NikError),
    NikProvinceUnknown,
    GenderMismatch,
    BirthDateMismatch,
    MembershipNumberFormat,
    NikRegistered,
    MembershipNumberTaken,
    NoWorker {
        id: i64,
    },
    // Coverage.
    Programs(ProgramsError),
    IncomeBetween {
        max: i64,
    },
    EndsBeforeStarts,
    /// `EndsBeforeStarts` in an import's row, whose reader has columns, not the API's fields.
    EndDateBeforeStartDate,
    CoverageOverlaps {
        id: i64,
        starts_on: NaiveDate,
        ends_on: Option<NaiveDate>,
    },
    StartsAfterDeath,
    EndsAfterDeathEndIt,
    EndsAfterDeath,
    StartsBeforeBirth,
    NoCoverage {
        id: i64,
    },
    CoverageAlreadyEnded,
    EndsBeforeCoverageStarts,
    EndsAfterPlannedEnd,
    DeathAlreadyRecorded,
    DeathOutsideScope {
        regency: String,
        died_on: NaiveDate,
    },
    DeathInFuture,
    DeathBeforeBirth,
    CoverageCancelled {
        id: i64,
    },
    CoverageStarted {
        id: i64,
        starts_on: NaiveDate,
    },
    // Payouts.
    NoCoverageWith {
        program: String,
        on: NaiveDate,
    },
    ClaimEnrolledAfter {
        on: NaiveDate,
    },
    DeathBenefitExists,
    DeathBenefitBeingHandled,
    DeathRecordedOn {
        died_on: NaiveDate,
    },
    IdempotencyKeyReused,
    IncidentInFuture,
    DeathBenefitComputed,
    AmountBetween {
        max: i64,
    },
    AmountRequired,
    ClaimLapsed,
    ScholarshipToChildren,
    NoJkmDeathBenefit,
    ScholarshipAfterDeath,
    ScholarshipIncident {
        died_on: NaiveDate,
    },
    ScholarshipContributions {
        months: i64,
    },
    ScholarshipTwoChildren,
    NoPayout {
        id: i64,
    },
    FourEyes {
        action: PayoutAction,
    },
    /// `--four-eyes strict`: the verifier may not approve as well.
    FourEyesStrict,
    // People (audit entries by person, tokens renewed on a WebSocket).
    AuditActorEmpty,
    FreshTokenOtherCaller,
    PaidInFuture,
    PaidBeforeIncident,
    PayoutState {
        action: PayoutAction,
        status: String,
    },
    // The import file.
    UploadUnreadable {
        detail: String,
    },
    FileEmpty,
    FileUnreadableToTheEnd {
        detail: String,
    },
    FileUnreadable {
        detail: String,
    },
    NotCsv {
        detail: String,
    },
    HeaderNotUtf8,
    UnknownColumn {
        name: String,
        columns: String,
    },
    ColumnTwice {
        column: String,
    },
    MissingColumns {
        columns: String,
    },
    CellNotUtf8,
    CellIsNumber {
        column: String,
    },
    ExampleRow,
    NotAWorkbook {
        detail: String,
    },
    WorkbookTooLarge {
        max: u64,
    },
    CellRequired {
        column: String,
    },
    RowWidth {
        cells: usize,
        header: usize,
    },
    NikOnEarlierLine,
    MembershipNumberOnEarlierLine,
    IncomeNotWhole,
    DateFormat {
        column: String,
        text: String,
    },
    NoDistrictNamed {
        regency: String,
    },
    ExcelScientific {
        cells: u64,
        line: u64,
        column: String,
        value: String,
    },
    ExcelTruncated {
        ending_in_zero: u64,
        niks: u64,
    },
    NotOneOf {
        text: String,
        names: String,
    },
    RegisteredWith {
        what: Noun,
        registered: String,
    },
}

/// What a registered worker has that a file row may contradict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Noun {
    Name,
    Occupation,
    District,
    MembershipNumber,
}

impl Msg {
    #[expect(clippy::too_many_lines, reason = "a lookup table: one arm per message, both languages side by side")]
    pub fn text(&self, lang: Lang) -> String {
        let num = |n: i64| number(n, lang);
        let day = |d: NaiveDate| date(d, lang);
        match self {
            Msg::KeyRequired => say!(
                lang,
                "an API key is required: send `Authorization: Bearer <key>`",
                "kunci API diperlukan: kirim `Authorization: Bearer <kunci>`"
            ),
            Msg::UnknownKey => {
                say!(lang, "unknown or revoked API key", "kunci API tidak dikenal atau sudah dicabut")
            }
            Msg::KeyExpired => say!(
                lang,
                "this API key has expired: ask an administrator for a new one",
                "kunci API ini sudah kedaluwarsa: mintalah kunci baru kepada administrator"
            ),
            Msg::TokensNotAccepted => say!(
                lang,
                "this server accepts no access tokens (no OpenID Connect issuer is configured): send an API key",
                "server ini tidak menerima token akses (tidak ada penerbit OpenID Connect yang diatur): kirim kunci API"
            ),
            Msg::TokenMalformed => say!(lang, "the access token is not a valid JWT", "token akses bukan JWT yang sah"),
            Msg::TokenSignature => say!(
                lang,
                "the access token's signature is not valid (RS256 or ES256 by the issuer's keys)",
                "tanda tangan token akses tidak sah (RS256 atau ES256 dengan kunci penerbit)"
            ),
            Msg::TokenExpired => {
                say!(
                    lang,
                    "the access token has expired: sign in again",
                    "token akses sudah kedaluwarsa: masuk kembali"
                )
            }
            Msg::TokenIssuer => {
                say!(lang, "the access token comes from another issuer", "token akses berasal dari penerbit lain")
            }
            Msg::TokenAudience => {
                say!(lang, "the access token is meant for another audience", "token akses ditujukan untuk audiens lain")
            }
            Msg::TokenUnknownSigningKey => say!(
                lang,
                "the access token is signed with a key the issuer does not publish",
                "token akses ditandatangani dengan kunci yang tidak diterbitkan oleh penerbit"
            ),
            Msg::TokenNoRole { claim } => say!(
                lang,
                "the access token names no role (VIEWER, OPERATOR, SUPERVISOR or ADMIN) in its claim `{claim}`",
                "token akses tidak menyebut peran (VIEWER, OPERATOR, SUPERVISOR, atau ADMIN) pada klaim `{claim}`"
            ),
            Msg::TokenScope { claim } => say!(
                lang,
                "the access token's claim `{claim}` is not a province or regency code (or ID for the whole country)",
                "klaim `{claim}` pada token akses bukan kode provinsi atau kabupaten/kota (atau ID untuk seluruh negeri)"
            ),
            Msg::TokenAdminWithScope => say!(
                lang,
                "an ADMIN access token cannot be limited to an area",
                "token akses ADMIN tidak dapat dibatasi pada satu wilayah"
            ),
            Msg::NeedsRole { role } => say!(lang, "this needs a {role} key", "tindakan ini memerlukan kunci {role}"),
            Msg::OutsideScope { regency } => say!(
                lang,
                "regency {regency} is outside this key's scope",
                "kabupaten/kota {regency} berada di luar cakupan kunci ini"
            ),
            Msg::AdminsOnlyAuditLog => {
                say!(lang, "only admins read the audit log", "hanya admin yang dapat membaca log audit")
            }
            Msg::FindByNikNeedsFullNiks => say!(
                lang,
                "finding a worker by NIK needs a key that sees full NIKs (OPERATOR or above)",
                "pencarian pekerja berdasarkan NIK memerlukan kunci yang dapat melihat NIK lengkap (OPERATOR atau lebih tinggi)"
            ),
            Msg::BirthDateNeedsFullNiks => say!(
                lang,
                "birthDate needs a key that may see full NIKs",
                "birthDate memerlukan kunci yang dapat melihat NIK lengkap"
            ),
            Msg::KeyNameLength => {
                say!(lang, "a key name has 1 to 100 characters", "nama kunci terdiri atas 1 sampai 100 karakter")
            }
            Msg::TooManyWrongKeys => say!(
                lang,
                "too many wrong API keys from this address; wait before trying again",
                "terlalu banyak kunci API yang salah dari alamat ini; tunggu sebelum mencoba lagi"
            ),
            Msg::TooManyProbes => say!(
                lang,
                "this key was refused too often for records it cannot see; wait before trying again",
                "kunci ini terlalu sering ditolak untuk data yang tidak dapat dilihatnya; tunggu sebelum mencoba lagi"
            ),
            Msg::TooManyKeyRequests => say!(
                lang,
                "too many requests with this API key; slow down",
                "terlalu banyak permintaan dengan kunci API ini; kurangi frekuensinya"
            ),
            Msg::TooManyConnections { max } => say!(
                lang,
                "at most {max} WebSocket connections open at once per API key (or per address without one): close one first",
                "paling banyak {max} koneksi WebSocket terbuka sekaligus per kunci API (atau per alamat tanpa kunci): tutup salah satu terlebih dahulu"
            ),
            Msg::TooManyPendingConnections => say!(
                lang,
                "too many WebSocket connections are opening at once: try again shortly",
                "terlalu banyak koneksi WebSocket yang sedang dibuka sekaligus: coba lagi sebentar lagi"
            ),
            Msg::TooManySubscriptions { max } => say!(
                lang,
                "at most {max} subscriptions at once on one connection: complete one first",
                "paling banyak {max} langganan sekaligus pada satu koneksi: selesaikan salah satu terlebih dahulu"
            ),
            Msg::TooManyAnonymousRequests => say!(
                lang,
                "too many requests from this address; slow down",
                "terlalu banyak permintaan dari alamat ini; kurangi frekuensinya"
            ),
            Msg::Internal { error_id: None } => say!(lang, "internal error", "kesalahan internal"),
            Msg::Internal { error_id: Some(id) } => {
                say!(lang, "internal error (id {id})", "kesalahan internal (id {id})")
            }
            Msg::RecordExists => say!(lang, "this record already exists", "data ini sudah ada"),
            Msg::StatementTimeout => say!(
                lang,
                "the database took too long to answer and the statement was cancelled",
                "basis data terlalu lama merespons dan perintahnya dibatalkan"
            ),
            Msg::DatabaseUnreachable => say!(
                lang,
                "the database is unreachable; nothing was changed, retry later",
                "basis data tidak dapat dihubungi; tidak ada yang diubah, coba lagi nanti"
            ),
            Msg::DatabaseBusy => say!(
                lang,
                "the database is busy; nothing was changed, retry later",
                "basis data sedang sibuk; tidak ada yang diubah, coba lagi nanti"
            ),
            Msg::RequestTimeout { secs } => {
                let n = num(*secs as i64);
                say!(
                    lang,
                    "the request ran longer than {secs}s and was cancelled",
                    "permintaan berjalan lebih dari {n} detik dan dibatalkan"
                )
            }
            Msg::NotJson => say!(
                lang,
                "send the GraphQL request as JSON with `Content-Type: application/json` (or a file upload as multipart/form-data)",
                "kirim permintaan GraphQL sebagai JSON dengan `Content-Type: application/json` (atau unggahan berkas sebagai multipart/form-data)"
            ),
            Msg::BodyTooLarge { max } => {
                let n = num(*max as i64);
                say!(lang, "the request body exceeds {max} bytes", "isi permintaan melebihi {n} bita")
            }
            Msg::BatchRefused => say!(
                lang,
                "batched requests are not accepted: send one operation per request",
                "permintaan berkelompok (batch) tidak diterima: kirim satu operasi per permintaan"
            ),
            Msg::NotAGraphqlBody { detail } => say!(
                lang,
                "the body is not a GraphQL request: {detail}",
                "isi permintaan bukan permintaan GraphQL: {detail}"
            ),
            Msg::UploadTooLarge { max } => {
                let n = num(*max as i64);
                say!(
                    lang,
                    "the file exceeds the upload limit of {max} bytes",
                    "berkas melebihi batas unggahan sebesar {n} bita"
                )
            }
            Msg::MultipartInvalid { detail } => {
                say!(lang, "the multipart request is not valid: {detail}", "permintaan multipart tidak valid: {detail}")
            }
            Msg::QueryStringInvalid { detail } => say!(
                lang,
                "the query string is not a GraphQL request: {detail}",
                "query string bukan permintaan GraphQL: {detail}"
            ),
            Msg::MutationNeedsPost => {
                say!(lang, "mutations must be sent with POST", "mutasi harus dikirim dengan POST")
            }
            Msg::SubscriptionNeedsWebSocket => say!(
                lang,
                "subscriptions run over WebSocket (graphql-transport-ws) at /graphql",
                "langganan (subscription) berjalan melalui WebSocket (graphql-transport-ws) di /graphql"
            ),
            Msg::OnlySubscriptionsOverWebSocket => say!(
                lang,
                "only subscriptions run over WebSocket: send queries and mutations over HTTP",
                "hanya langganan (subscription) yang berjalan melalui WebSocket: kirim kueri dan mutasi melalui HTTP"
            ),
            Msg::OneMutationPerRequest => say!(
                lang,
                "one mutation per request: send each mutation on its own (only ADMIN keys may combine them)",
                "satu mutasi per permintaan: kirim setiap mutasi secara terpisah (hanya kunci ADMIN yang boleh menggabungkannya)"
            ),
            Msg::TooManyTokens { max } => {
                let n = num(*max as i64);
                say!(lang, "the document has more than {max} tokens", "dokumen memiliki lebih dari {n} token")
            }
            Msg::TooManyAliases { max } => {
                let n = num(*max as i64);
                say!(lang, "the document has more than {max} aliases", "dokumen memiliki lebih dari {n} alias")
            }
            // Apollo clients recognise the leading word: it stays in both languages.
            Msg::PersistedQueryNotFound { id } => say!(
                lang,
                "PersistedQueryNotFound: no trusted document {id:?}",
                "PersistedQueryNotFound: dokumen tepercaya {id:?} tidak ditemukan"
            ),
            Msg::IntrospectionNeedsKey => say!(
                lang,
                "introspection is off on this server for anonymous callers: send an API key (Authorization: Bearer ...; in GraphiQL, the Headers tab)",
                "introspeksi dimatikan di server ini bagi pemanggil anonim: kirim API key (Authorization: Bearer ...; di GraphiQL, tab Headers)"
            ),
            Msg::OnlyTrustedDocuments => say!(
                lang,
                "this server runs only the trusted documents of its frontends: send a documentId (ADMIN keys may send any query)",
                "server ini hanya menjalankan dokumen tepercaya milik frontend-nya: kirim documentId (kunci ADMIN boleh mengirim query apa pun)"
            ),
            Msg::TrustedDocumentsOff => say!(
                lang,
                "trusted documents are not enabled on this server: send the query",
                "dokumen tepercaya tidak diaktifkan di server ini: kirim query-nya"
            ),
            Msg::DocumentMismatch => say!(
                lang,
                "the query does not match the document named by its id",
                "query tidak sesuai dengan dokumen yang ditunjuk oleh id-nya"
            ),
            Msg::InvalidId => say!(lang, "not a valid id", "bukan id yang valid"),
            Msg::InvalidCursor => say!(lang, "invalid cursor", "kursor tidak valid"),
            Msg::CursorOfAnotherOrdering => {
                say!(lang, "this cursor belongs to another ordering", "kursor ini berasal dari urutan yang berbeda")
            }
            Msg::PageSizeBetween { field, max } => {
                say!(lang, "{field} must be between 0 and {max}", "{field} harus antara 0 dan {max}")
            }
            Msg::FirstOrLast => say!(lang, "give first or last, not both", "isi first atau last, jangan keduanya"),
            Msg::FirstBetween { max } => {
                say!(lang, "first must be between 1 and {max}", "first harus antara 1 dan {max}")
            }
            Msg::DateRange => say!(
                lang,
                "the date must be between 1900-01-01 and 2100-12-31",
                "tanggal harus antara 1 Januari 1900 dan 31 Desember 2100"
            ),
            Msg::YearRange => say!(lang, "the year must be between 1900 and 2100", "tahun harus antara 1900 dan 2100"),
            Msg::Empty { field } => say!(lang, "{field} must not be empty", "{field} tidak boleh kosong"),
            Msg::TooLong { field, max } => {
                let n = num(*max as i64);
                say!(lang, "{field} has at most {max} characters", "{field} paling banyak {n} karakter")
            }
            Msg::ControlCharacters { field } => {
                say!(lang, "{field} must not contain control characters", "{field} tidak boleh berisi karakter kontrol")
            }
            Msg::FormulaStart { field } => say!(
                lang,
                "{field} must not start with =, + or @ (spreadsheets would run it as a formula)",
                "{field} tidak boleh diawali =, + atau @ (spreadsheet akan menjalankannya sebagai rumus)"
            ),
            Msg::NotNegative { field } => say!(lang, "{field} cannot be negative", "{field} tidak boleh negatif"),
            Msg::UnknownRegency => say!(
                lang,
                "unknown regency code (expected e.g. \"36.03\")",
                "kode kabupaten/kota tidak dikenal (contoh: \"36.03\")"
            ),
            Msg::UnknownDistrict => say!(
                lang,
                "unknown district code (expected e.g. \"36.03.01\")",
                "kode kecamatan tidak dikenal (contoh: \"36.03.01\")"
            ),
            Msg::DistrictNotInRegency => say!(
                lang,
                "the district is not in the regency",
                "kecamatan tersebut tidak berada di kabupaten/kota ini"
            ),
            Msg::NoArea { code } => {
                say!(lang, "no area with code {code:?}", "wilayah dengan kode {code:?} tidak ditemukan")
            }
            Msg::NoProvince { code } => {
                say!(lang, "no province with code {code}", "provinsi dengan kode {code} tidak ditemukan")
            }
            Msg::ToYearBeforeFromYear => say!(lang, "toYear is before fromYear", "toYear lebih awal dari fromYear"),
            Msg::TrendTooLong { max } => {
                say!(lang, "a trend spans at most {max} years", "rentang tren paling panjang {max} tahun")
            }
            Msg::Nik(NikError::Format) => say!(lang, "a NIK has exactly 16 digits", "NIK terdiri atas tepat 16 angka"),
            Msg::Nik(NikError::Serial) => say!(
                lang,
                "the NIK's serial number 0000 is never issued",
                "nomor urut NIK 0000 tidak pernah diterbitkan"
            ),
            Msg::Nik(NikError::BirthDate) => {
                say!(lang, "the NIK does not encode a real birth date", "NIK tidak memuat tanggal lahir yang valid")
            }
            Msg::NikProvinceUnknown => say!(
                lang,
                "the NIK's province code is not a known province",
                "kode provinsi pada NIK bukan provinsi yang dikenal"
            ),
            Msg::GenderMismatch => {
                say!(lang, "gender does not match the NIK", "jenis kelamin (gender) tidak sesuai dengan NIK")
            }
            Msg::BirthDateMismatch => {
                say!(lang, "birthDate does not match the NIK", "birthDate tidak sesuai dengan NIK")
            }
            Msg::MembershipNumberFormat => say!(
                lang,
                "a membership number (KPJ) has 1 to 20 digits",
                "nomor kepesertaan (KPJ) terdiri atas 1 sampai 20 angka"
            ),
            Msg::NikRegistered => {
                say!(lang, "a worker with this NIK is already registered", "pekerja dengan NIK ini sudah terdaftar")
            }
            Msg::MembershipNumberTaken => say!(
                lang,
                "another worker has this membership number",
                "nomor kepesertaan ini sudah dimiliki pekerja lain"
            ),
            Msg::NoWorker { id } => {
                say!(lang, "no worker with id {id}", "pekerja dengan id {id} tidak ditemukan")
            }
            Msg::Programs(ProgramsError::MissingJkkOrJkm) => say!(
                lang,
                "JKK and JKM are always required together",
                "program JKK dan JKM selalu wajib diikuti bersamaan"
            ),
            Msg::IncomeBetween { max } => {
                let (one, top) = (rupiah(1, lang), rupiah(*max, lang));
                say!(
                    lang,
                    "declared monthly income must be between 1 and {max}",
                    "penghasilan bulanan yang dilaporkan harus antara {one} dan {top}"
                )
            }
            Msg::EndsBeforeStarts => say!(lang, "endsOn is before startsOn", "endsOn lebih awal dari startsOn"),
            Msg::EndDateBeforeStartDate => {
                say!(lang, "the end date is before the start date", "tanggal selesai lebih awal dari tanggal mulai")
            }
            Msg::CoverageOverlaps { id, starts_on, ends_on } => match (lang, ends_on) {
                (Lang::En, None) => format!("the worker already has coverage {id} with this regency from {starts_on}"),
                (Lang::En, Some(end)) => {
                    format!("the worker already has coverage {id} with this regency from {starts_on} to {end}")
                }
                (Lang::Id, None) => format!(
                    "pekerja sudah memiliki kepesertaan {id} dengan kabupaten/kota ini sejak {}",
                    day(*starts_on)
                ),
                (Lang::Id, Some(end)) => format!(
                    "pekerja sudah memiliki kepesertaan {id} dengan kabupaten/kota ini dari {} sampai {}",
                    day(*starts_on),
                    day(*end)
                ),
            },
            Msg::StartsAfterDeath => say!(
                lang,
                "coverage cannot start after the worker's death",
                "kepesertaan tidak dapat dimulai setelah pekerja meninggal dunia"
            ),
            Msg::EndsAfterDeathEndIt => say!(
                lang,
                "coverage cannot extend past the worker's death: end it on or before diedOn",
                "kepesertaan tidak dapat melewati tanggal meninggalnya pekerja: akhiri pada atau sebelum diedOn"
            ),
            Msg::EndsAfterDeath => say!(
                lang,
                "coverage cannot extend past the worker's death",
                "kepesertaan tidak dapat melewati tanggal meninggalnya pekerja"
            ),
            Msg::StartsBeforeBirth => say!(
                lang,
                "coverage cannot start before the worker's birth date",
                "kepesertaan tidak dapat dimulai sebelum tanggal lahir pekerja"
            ),
            Msg::NoCoverage { id } => {
                say!(lang, "no coverage with id {id}", "kepesertaan dengan id {id} tidak ditemukan")
            }
            Msg::CoverageAlreadyEnded => {
                say!(lang, "this coverage has already been ended", "kepesertaan ini sudah diakhiri")
            }
            Msg::EndsBeforeCoverageStarts => {
                say!(lang, "endsOn is before the coverage starts", "endsOn lebih awal dari tanggal mulai kepesertaan")
            }
            Msg::EndsAfterPlannedEnd => say!(
                lang,
                "endCoverage can only end a period on or before its planned end",
                "endCoverage hanya dapat mengakhiri periode pada atau sebelum tanggal akhir yang direncanakan"
            ),
            Msg::DeathAlreadyRecorded => {
                say!(lang, "the worker's death is already recorded", "kematian pekerja sudah dicatat")
            }
            Msg::DeathOutsideScope { regency, died_on } => {
                let d = day(*died_on);
                say!(
                    lang,
                    "regency {regency} is outside this key's scope and none of its coverage enrolled by {died_on} includes that day",
                    "kabupaten/kota {regency} berada di luar cakupan kunci ini dan tidak satu pun kepesertaannya yang didaftarkan paling lambat {d} mencakup hari itu"
                )
            }
            Msg::DeathInFuture => {
                say!(lang, "the date of death is in the future", "tanggal kematian berada di masa depan")
            }
            Msg::DeathBeforeBirth => say!(
                lang,
                "the date of death is before the worker's birth date",
                "tanggal kematian lebih awal dari tanggal lahir pekerja"
            ),
            Msg::CoverageCancelled { id } => say!(
                lang,
                "coverage {id} was cancelled; it can be neither ended nor cancelled again",
                "kepesertaan {id} sudah dibatalkan; tidak dapat diakhiri maupun dibatalkan lagi"
            ),
            Msg::CoverageStarted { id, starts_on } => {
                let d = day(*starts_on);
                say!(
                    lang,
                    "coverage {id} started on {starts_on}; only coverage that has not started can be cancelled: end it with endCoverage",
                    "kepesertaan {id} sudah dimulai pada {d}; hanya kepesertaan yang belum dimulai yang dapat dibatalkan: akhiri dengan endCoverage"
                )
            }
            Msg::NoCoverageWith { program, on } => {
                let d = day(*on);
                say!(
                    lang,
                    "the worker had no coverage with {program} on {on}",
                    "pekerja tidak memiliki kepesertaan {program} pada {d}"
                )
            }
            Msg::ClaimEnrolledAfter { on } => {
                let d = day(*on);
                say!(
                    lang,
                    "the coverage under which this is claimed was enrolled after {on} and the worker lives outside this key's scope",
                    "kepesertaan yang menjadi dasar klaim ini didaftarkan setelah {d} dan pekerja berdomisili di luar cakupan kunci ini"
                )
            }
            Msg::DeathBenefitExists => say!(
                lang,
                "a death benefit for this worker already exists (reject it first to submit another)",
                "santunan kematian untuk pekerja ini sudah ada (tolak terlebih dahulu untuk mengajukan yang lain)"
            ),
            Msg::DeathBenefitBeingHandled => say!(
                lang,
                "a death benefit for this worker is already being handled",
                "santunan kematian untuk pekerja ini sedang diproses"
            ),
            Msg::DeathRecordedOn { died_on } => {
                let d = day(*died_on);
                say!(lang, "the worker's death is recorded on {died_on}", "kematian pekerja tercatat pada {d}")
            }
            Msg::IdempotencyKeyReused => say!(
                lang,
                "this idempotencyKey was already used for a submission for another worker",
                "idempotencyKey ini sudah digunakan untuk pengajuan bagi pekerja lain"
            ),
            Msg::IncidentInFuture => say!(lang, "incidentOn is in the future", "incidentOn berada di masa depan"),
            Msg::DeathBenefitComputed => say!(
                lang,
                "the server computes death benefits: leave amount out",
                "santunan kematian dihitung oleh server: jangan isi amount"
            ),
            Msg::AmountBetween { max } => {
                let (one, top) = (rupiah(1, lang), rupiah(*max, lang));
                say!(
                    lang,
                    "amount is required: whole rupiah between 1 and {max}",
                    "amount wajib diisi: rupiah bulat antara {one} dan {top}"
                )
            }
            Msg::AmountRequired => say!(lang, "amount is required", "amount wajib diisi"),
            Msg::ClaimLapsed => say!(
                lang,
                "the right to claim a work-accident benefit lapses 5 years after the accident",
                "hak klaim manfaat kecelakaan kerja gugur 5 tahun setelah kecelakaan"
            ),
            Msg::ScholarshipToChildren => {
                say!(lang, "scholarships are paid to children", "beasiswa hanya dibayarkan kepada anak")
            }
            Msg::NoJkmDeathBenefit => say!(
                lang,
                "no JKM death benefit was in force on incidentOn",
                "tidak ada santunan kematian JKM yang berlaku pada incidentOn"
            ),
            Msg::ScholarshipAfterDeath => say!(
                lang,
                "a scholarship is paid only after the worker's death",
                "beasiswa hanya dibayarkan setelah pekerja meninggal dunia"
            ),
            Msg::ScholarshipIncident { died_on } => {
                let d = day(*died_on);
                say!(
                    lang,
                    "a scholarship's incident is the worker's death on {died_on}",
                    "peristiwa yang mendasari beasiswa adalah kematian pekerja pada {d}"
                )
            }
            Msg::ScholarshipContributions { months } => say!(
                lang,
                "after a JKM death a scholarship needs 3 years of contributions; the worker has {months} months",
                "setelah kematian yang ditanggung JKM, beasiswa memerlukan iuran selama 3 tahun; pekerja baru memiliki {months} bulan"
            ),
            Msg::ScholarshipTwoChildren => say!(
                lang,
                "scholarships are paid for at most 2 children per worker",
                "beasiswa dibayarkan untuk paling banyak 2 anak per pekerja"
            ),
            Msg::NoPayout { id } => {
                say!(lang, "no payout with id {id}", "pembayaran manfaat dengan id {id} tidak ditemukan")
            }
            Msg::FourEyes { action } => {
                let (en, id) = (action.verb(), verb_id(*action));
                say!(
                    lang,
                    "four-eyes rule: the person who submitted a payout cannot {en} it, with any key or token",
                    "aturan empat mata: pembayaran manfaat tidak boleh {id} oleh orang yang mengajukannya, dengan kunci atau token apa pun"
                )
            }
            Msg::FourEyesStrict => say!(
                lang,
                "four-eyes rule (strict): the person who verified a payout cannot approve it",
                "aturan empat mata (ketat): pembayaran manfaat tidak boleh disetujui oleh orang yang memverifikasinya"
            ),
            Msg::AuditActorEmpty => {
                say!(lang, "actor must name a person or a key", "actor harus menyebut seseorang atau sebuah kunci")
            }
            Msg::FreshTokenOtherCaller => say!(
                lang,
                "a fresh token must name the same person, role and area as the connection's: connect again to change them",
                "token baru harus menyebut orang, peran, dan wilayah yang sama dengan koneksi ini: sambungkan ulang untuk mengubahnya"
            ),
            Msg::PaidInFuture => say!(lang, "paidOn is in the future", "paidOn berada di masa depan"),
            Msg::PaidBeforeIncident => {
                say!(lang, "paidOn is before the incident", "paidOn lebih awal dari tanggal kejadian")
            }
            Msg::PayoutState { action, status } => {
                let (en, id) = (action.verb(), verb_id(*action));
                say!(
                    lang,
                    "cannot {en} a payout that is {status}",
                    "pembayaran manfaat yang berstatus {status} tidak dapat {id}"
                )
            }
            Msg::UploadUnreadable { detail } => say!(
                lang,
                "the uploaded file could not be read: {detail}",
                "berkas yang diunggah tidak dapat dibaca: {detail}"
            ),
            Msg::FileEmpty => say!(
                lang,
                "the file is empty: expected a header row",
                "berkas kosong: seharusnya ada baris judul (header)"
            ),
            Msg::FileUnreadableToTheEnd { detail } => say!(
                lang,
                "the file could not be read to the end: {detail}",
                "berkas tidak dapat dibaca sampai selesai: {detail}"
            ),
            Msg::FileUnreadable { detail } => {
                say!(lang, "the file could not be read: {detail}", "berkas tidak dapat dibaca: {detail}")
            }
            Msg::NotCsv { detail } => {
                say!(lang, "the file is not valid CSV: {detail}", "berkas bukan CSV yang valid: {detail}")
            }
            Msg::HeaderNotUtf8 => {
                say!(lang, "the header row is not valid UTF-8", "baris judul (header) bukan UTF-8 yang valid")
            }
            Msg::UnknownColumn { name, columns } => say!(
                lang,
                "unknown column {name:?} in the header; the columns are {columns}",
                "kolom {name:?} pada baris judul tidak dikenal; kolom yang tersedia: {columns}"
            ),
            Msg::ColumnTwice { column } => say!(
                lang,
                "the column {column} appears twice in the header",
                "kolom {column} muncul dua kali pada baris judul"
            ),
            Msg::MissingColumns { columns } => say!(
                lang,
                "the header lacks the required column(s) {columns}",
                "baris judul tidak memuat kolom wajib {columns}"
            ),
            Msg::CellNotUtf8 => say!(
                lang,
                "the cell is not valid UTF-8 (save the file as CSV UTF-8)",
                "isi sel bukan UTF-8 yang valid (simpan berkas sebagai CSV UTF-8)"
            ),
            Msg::CellIsNumber { column } => say!(
                lang,
                "the {column} cell holds a number, not text: Excel keeps only 15 digits of a number, so its last digits may be lost and it cannot be trusted. Format the {column} column as Text (Format Cells > Text), type or paste the numbers again from the source, and save",
                "sel {column} berisi angka, bukan teks: Excel hanya menyimpan 15 digit sebuah angka, sehingga digit terakhirnya bisa hilang dan tidak dapat dipercaya. Format kolom {column} sebagai Teks (Format Cells > Text), ketik atau tempel ulang angkanya dari sumbernya, lalu simpan"
            ),
            Msg::ExampleRow => say!(
                lang,
                "this is the template's example row: replace it with the workers to enroll (or delete it)",
                "ini baris contoh dari templat: ganti dengan pekerja yang akan didaftarkan (atau hapus baris ini)"
            ),
            Msg::NotAWorkbook { detail } => say!(
                lang,
                "the file is a ZIP archive but not an Excel workbook (.xlsx) that can be read: {detail}. Send the list as .xlsx or CSV",
                "berkas ini arsip ZIP tetapi bukan buku kerja Excel (.xlsx) yang dapat dibaca: {detail}. Kirim daftar sebagai .xlsx atau CSV"
            ),
            Msg::WorkbookTooLarge { max } => {
                let n = num(*max as i64);
                say!(
                    lang,
                    "the workbook unpacks to more than {max} bytes (or its sheet has more rows or columns than Excel allows): split the list into several files",
                    "buku kerja ini jika dibuka melebihi {n} bita (atau lembarnya punya lebih banyak baris atau kolom daripada yang diizinkan Excel): bagi daftar menjadi beberapa berkas"
                )
            }
            Msg::CellRequired { column } => say!(lang, "{column} is required", "{column} wajib diisi"),
            Msg::RowWidth { cells, header } => say!(
                lang,
                "the row has {cells} cells, the header {header}",
                "baris ini memiliki {cells} sel, sedangkan baris judul {header}"
            ),
            Msg::NikOnEarlierLine => say!(
                lang,
                "this NIK is on an earlier line of the file",
                "NIK ini sudah tercantum pada baris sebelumnya dalam berkas"
            ),
            Msg::MembershipNumberOnEarlierLine => say!(
                lang,
                "this membership number is on an earlier line of the file",
                "nomor kepesertaan ini sudah tercantum pada baris sebelumnya dalam berkas"
            ),
            Msg::IncomeNotWhole => say!(
                lang,
                "the declared monthly income is a whole number of rupiah, written 1500000, 1.500.000 or Rp1.500.000",
                "penghasilan bulanan yang dilaporkan harus berupa bilangan bulat rupiah, ditulis 1500000, 1.500.000 atau Rp1.500.000"
            ),
            Msg::DateFormat { column, text } => say!(
                lang,
                "{column} is a date, day first: 01/07/2023, 01-07-2023, 1 Juli 2023, 1-Jul-23 or 2023-07-01 (got {text:?})",
                "{column} adalah tanggal, hari lebih dulu: 01/07/2023, 01-07-2023, 1 Juli 2023, 1-Jul-23 atau 2023-07-01 (tertulis {text:?})"
            ),
            Msg::NoDistrictNamed { regency } => say!(
                lang,
                "neither a district code (e.g. 36.03.01) nor the name of a district of {regency}",
                "bukan kode kecamatan (contoh: 36.03.01) dan bukan nama kecamatan di {regency}"
            ),
            Msg::ExcelScientific { cells, line, column, value } => {
                let n = num(*cells as i64);
                say!(
                    lang,
                    "Excel has damaged this file: {cells} NIK or membership-number cell(s) hold a number in scientific notation (line {line}, {column}: {value:?}); Excel keeps only 15 digits of a number, so their last digits are lost. Nothing was imported. In Excel, format the NIK and membership-number columns as Text before typing or pasting the numbers (or paste them again from the source into columns formatted as Text), then save as CSV",
                    "berkas ini sudah dirusak Excel: {n} sel NIK atau nomor kepesertaan berisi angka dalam notasi ilmiah (baris {line}, {column}: {value:?}); Excel hanya menyimpan 15 digit sebuah angka, sehingga digit terakhirnya hilang. Tidak ada yang diimpor. Di Excel, format kolom NIK dan nomor kepesertaan sebagai Teks (Text) sebelum mengetik atau menempelkan angkanya (atau tempel ulang dari sumbernya ke kolom berformat Teks), lalu simpan sebagai CSV"
                )
            }
            Msg::ExcelTruncated { ending_in_zero, niks } => {
                let (zeros, all) = (num(*ending_in_zero as i64), num(*niks as i64));
                say!(
                    lang,
                    "Excel has damaged this file: {ending_in_zero} of its {niks} NIKs end in 0, far more than chance allows. Excel keeps only 15 digits of a number, so a NIK typed or pasted into a cell not formatted as Text has its 16th digit replaced by 0. Nothing was imported. In Excel, format the NIK column as Text, type or paste the NIKs again from the source, then save as CSV",
                    "berkas ini sudah dirusak Excel: {zeros} dari {all} NIK berakhiran 0, jauh lebih banyak daripada yang mungkin terjadi secara kebetulan. Excel hanya menyimpan 15 digit sebuah angka, sehingga NIK yang diketik atau ditempel ke sel yang tidak berformat Teks (Text) digit ke-16-nya diganti 0. Tidak ada yang diimpor. Di Excel, format kolom NIK sebagai Teks, ketik atau tempel ulang NIK dari sumbernya, lalu simpan sebagai CSV"
                )
            }
            Msg::NotOneOf { text, names } => {
                say!(lang, "{text:?} is not one of {names}", "{text:?} bukan salah satu dari {names}")
            }
            Msg::RegisteredWith { what, registered } => {
                let (en, id) = noun(*what);
                say!(
                    lang,
                    "the worker with this NIK is registered with {en} {registered:?}; correct the file or update the worker first",
                    "pekerja dengan NIK ini terdaftar dengan {id} {registered:?}; perbaiki berkas atau perbarui data pekerja terlebih dahulu"
                )
            }
        }
    }
}

/// What `PayoutAction::verb` says in English, in the passive voice Indonesian messages use
/// ("pembayaran manfaat ... tidak dapat disetujui").
fn verb_id(action: PayoutAction) -> &'static str {
    match action {
        PayoutAction::Verify => "diverifikasi",
        PayoutAction::Approve => "disetujui",
        PayoutAction::MarkPaid => "ditandai sudah dibayar",
        PayoutAction::Reject => "ditolak",
    }
}

fn noun(what: Noun) -> (&'static str, &'static str) {
    match what {
        Noun::Name => ("the name", "nama"),
        Noun::Occupation => ("the occupation", "pekerjaan"),
        Noun::District => ("the district", "kecamatan"),
        Noun::MembershipNumber => ("the membership number", "nomor kepesertaan"),
    }
}

impl From<NikError> for Msg {
    fn from(err: NikError) -> Self {
        Msg::Nik(err)
    }
}

impl From<ProgramsError> for Msg {
    fn from(err: ProgramsError) -> Self {
        Msg::Programs(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().expect("a date")
    }

    #[test]
    fn indonesian_writes_dates_money_and_numbers_its_own_way() {
        let death = Msg::DeathRecordedOn { died_on: day("2023-06-20") };
        assert_eq!(death.text(Lang::En), "the worker's death is recorded on 2023-06-20");
        assert_eq!(death.text(Lang::Id), "kematian pekerja tercatat pada 20 Juni 2023");
        let amount = Msg::AmountBetween { max: 42_000_000 };
        assert_eq!(amount.text(Lang::En), "amount is required: whole rupiah between 1 and 42000000");
        assert_eq!(amount.text(Lang::Id), "amount wajib diisi: rupiah bulat antara Rp1 dan Rp42.000.000");
        let body = Msg::BodyTooLarge { max: 86_000 };
        assert_eq!(body.text(Lang::Id), "isi permintaan melebihi 86.000 bita");
        let state = Msg::PayoutState { action: PayoutAction::Approve, status: "SUBMITTED".into() };
        assert_eq!(state.text(Lang::En), "cannot approve a payout that is SUBMITTED");
        assert_eq!(state.text(Lang::Id), "pembayaran manfaat yang berstatus SUBMITTED tidak dapat disetujui");
    }

    #[test]
    fn every_sampled_message_is_translated() {
        let samples = [
            Msg::KeyRequired,
            Msg::UnknownKey,
            Msg::KeyExpired,
            Msg::TokensNotAccepted,
            Msg::TokenSignature,
            Msg::TokenScope { claim: "jaminan_scope".into() },
            Msg::NeedsRole { role: "OPERATOR" },
            Msg::OutsideScope { regency: "36.03".into() },
            Msg::TooManyWrongKeys,
            Msg::Internal { error_id: Some("x".into()) },
            Msg::RecordExists,
            Msg::NotJson,
            Msg::OneMutationPerRequest,
            Msg::PersistedQueryNotFound { id: "abc".into() },
            Msg::InvalidCursor,
            Msg::Nik(NikError::Serial),
            Msg::Programs(ProgramsError::MissingJkkOrJkm),
            Msg::EndDateBeforeStartDate,
            Msg::CoverageOverlaps { id: 7, starts_on: day("2023-06-20"), ends_on: None },
            Msg::DeathOutsideScope { regency: "36.03".into(), died_on: day("2023-06-20") },
            Msg::FourEyes { action: PayoutAction::MarkPaid },
            Msg::FourEyesStrict,
            Msg::AuditActorEmpty,
            Msg::FreshTokenOtherCaller,
            Msg::ScholarshipContributions { months: 12 },
            Msg::UnknownColumn { name: "nama".into(), columns: "nik".into() },
            Msg::ExcelScientific { cells: 67, line: 3, column: "NIK".into(), value: "3,60313E+15".into() },
            Msg::ExcelTruncated { ending_in_zero: 133, niks: 200 },
            Msg::CellIsNumber { column: "NIK".into() },
            Msg::ExampleRow,
            Msg::NotAWorkbook { detail: "no workbook.xml".into() },
            Msg::WorkbookTooLarge { max: 4_294_967_296 },
            Msg::NoDistrictNamed { regency: "Kabupaten Tangerang (36.03)".into() },
            Msg::RegisteredWith { what: Noun::Occupation, registered: "FISHER".into() },
        ];
        for message in samples {
            let (en, id) = (message.text(Lang::En), message.text(Lang::Id));
            assert!(!id.is_empty() && en != id, "{message:?}: {id}");
        }
    }
}
