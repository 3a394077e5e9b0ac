//! What the command line tells the person running it, in both languages side by side (its logs
//! stay English). As with `Msg`, a new line without its Indonesian (or English) text does not
//! compile.
use super::{Lang, decimal, number};
use crate::domain::audit_chain::ChainBreak;

/// What the CLI tells the person running it (its logs stay English).
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A failure, as the last line on stderr.
    Failed {
        message: String,
    },
    MigrationsApplied,
    BackupWritten {
        path: String,
        secs: f64,
    },
    BackupNotSqlite,
    BackupExists {
        path: String,
    },
    PathNotUtf8 {
        path: String,
    },
    TrustedDocuments {
        count: usize,
        path: String,
        mode: String,
    },
    TrustedModeNeedsFile,
    DemoLoaded {
        secs: f64,
    },
    DemoNotLoaded,
    CannotListen {
        address: String,
        detail: String,
    },
    GraphiqlAt {
        address: String,
    },
    MetricsAt {
        address: String,
    },
    CannotListenForMetrics {
        address: String,
        detail: String,
    },
    ReplicaNeedsPostgres,
    CannotConnectToReplica {
        detail: String,
    },
    ReadsFromReplica,
    InvalidRedisUrl {
        detail: String,
    },
    SharedBudgets {
        prefix: String,
    },
    TokensFrom {
        issuer: String,
        keys: usize,
    },
    TokenIssuerUnreachable {
        issuer: String,
        detail: String,
    },
    PagesSignIn {
        client_id: String,
    },
    KeyHint,
    ReadsNotAudited {
        detail: String,
    },
    StoppedDrained,
    GraceExpired {
        secs: u64,
    },
    RowsWrittenTo {
        path: String,
    },
    Seeded {
        workers: u64,
        coverages: u64,
        payouts: u64,
        targets: u64,
        secs: f64,
        per_second: f64,
    },
    SummariesRebuilt {
        secs: f64,
    },
    FiguresDiffer {
        count: usize,
    },
    SummariesMatch {
        secs: f64,
    },
    ExpectHeadFormat,
    ExpectHeadId {
        id: String,
    },
    ChainBroken(ChainBreak),
    AuditBroken {
        id: i64,
        checked: u64,
        secs: f64,
    },
    AuditIntact {
        checked: u64,
        secs: f64,
    },
    Head {
        id: i64,
        hash: String,
    },
    NoHead,
    /// Entries committed but not yet chained by the sealer (`audit verify` seals nothing).
    AuditUnsealed {
        count: u64,
    },
    /// `serve` sealed entries committed before it started (after a crash).
    AuditSealedAtStart {
        count: u64,
    },
    CannotOpen {
        path: String,
        detail: String,
    },
    CannotCreate {
        path: String,
        detail: String,
    },
    CannotWrite {
        path: String,
        detail: String,
    },
    ImportCounts {
        read: u64,
        registered: u64,
        known: u64,
        created: u64,
        skipped: u64,
        in_error: u64,
    },
    ErrorRowsWritten {
        path: String,
    },
    ImportWritten {
        sha256: String,
    },
    DryRun,
    NothingWrittenErrors,
    NothingToWrite,
    RowsInError {
        count: u64,
    },
    ExportWritten {
        rows: u64,
        path: String,
    },
    TemplateWritten {
        path: String,
    },
    DelimiterUnknown {
        given: String,
    },
    AdminKeyWithScope,
    UnknownScope {
        code: String,
    },
    KeyCreated {
        id: i64,
        name: String,
        role: String,
        expires: String,
    },
    KeyExpired,
    KeyNeverExpires,
    /// The header row of `api-key list` (tab-separated, as its rows).
    KeyListHeader,
    KeyActive,
    KeyNeverUsed,
    KeyRevokedAt {
        at: String,
    },
    NoActiveKey {
        id: i64,
    },
    KeyRevoked {
        id: i64,
    },
}

impl Line {
    #[expect(clippy::too_many_lines, reason = "a lookup table: one arm per line, both languages side by side")]
    pub fn text(&self, lang: Lang) -> String {
        let num = |n: u64| number(i64::try_from(n).unwrap_or(i64::MAX), lang);
        let secs = |s: f64, places: usize| decimal(s, places, lang);
        match self {
            Line::Failed { message } => say!(lang, "error: {message}", "kesalahan: {message}"),
            Line::MigrationsApplied => say!(lang, "migrations applied", "migrasi telah diterapkan"),
            Line::BackupWritten { path, secs: s } => {
                let s = secs(*s, 1);
                say!(lang, "backup written to {path} in {s}s", "cadangan ditulis ke {path} dalam {s} detik")
            }
            Line::BackupNotSqlite => say!(
                lang,
                "`backup` copies the embedded SQLite database; back up PostgreSQL with pg_dump (see docs/operations.md, \"Backups\")",
                "`backup` menyalin basis data SQLite bawaan; cadangkan PostgreSQL dengan pg_dump (lihat docs/operations.md, bagian \"Backups\")"
            ),
            Line::BackupExists { path } => {
                say!(lang, "{path} exists: choose a new file name", "{path} sudah ada: pilih nama berkas yang baru")
            }
            Line::PathNotUtf8 { path } => say!(lang, "{path} is not valid UTF-8", "{path} bukan UTF-8 yang valid"),
            Line::TrustedDocuments { count, path, mode } => {
                let n = num(*count as u64);
                say!(
                    lang,
                    "Trusted documents: {count} from {path} ({mode})",
                    "Dokumen tepercaya: {n} dari {path} ({mode})"
                )
            }
            Line::TrustedModeNeedsFile => say!(
                lang,
                "--trusted-documents-mode needs --trusted-documents FILE",
                "--trusted-documents-mode memerlukan --trusted-documents BERKAS"
            ),
            Line::DemoLoaded { secs: s } => {
                let s = secs(*s, 1);
                say!(
                    lang,
                    "Demo data loaded in {s}s: Kabupaten Tangerang (36.03), 2022-2023.",
                    "Data demo dimuat dalam {s} detik: Kabupaten Tangerang (36.03), 2022-2023."
                )
            }
            Line::DemoNotLoaded => say!(
                lang,
                "Database already has workers: demo data not loaded again.",
                "Basis data sudah berisi pekerja: data demo tidak dimuat lagi."
            ),
            Line::CannotListen { address, detail } => {
                say!(lang, "cannot listen on {address}: {detail}", "tidak dapat mendengarkan di {address}: {detail}")
            }
            Line::MetricsAt { address } => {
                say!(lang, "Metrics: http://{address}/metrics", "Metrik: http://{address}/metrics")
            }
            Line::CannotListenForMetrics { address, detail } => say!(
                lang,
                "cannot listen on {address} for metrics: {detail}",
                "tidak dapat mendengarkan di {address} untuk metrik: {detail}"
            ),
            Line::ReplicaNeedsPostgres => say!(
                lang,
                "--read-database-url needs PostgreSQL, for the primary and the replica",
                "--read-database-url memerlukan PostgreSQL, untuk basis data utama dan replikanya"
            ),
            Line::CannotConnectToReplica { detail } => say!(
                lang,
                "cannot connect to the read replica: {detail}",
                "tidak dapat terhubung ke replika baca: {detail}"
            ),
            Line::TokensFrom { issuer, keys } => say!(
                lang,
                "Access tokens from {issuer} accepted beside API keys ({keys} signing keys)",
                "Token akses dari {issuer} diterima di samping kunci API ({keys} kunci penandatanganan)"
            ),
            Line::PagesSignIn { client_id } => say!(
                lang,
                "GraphiQL, /dashboard and /import sign people in as client {client_id}",
                "GraphiQL, /dashboard dan /import memakai klien {client_id} untuk masuk"
            ),
            Line::TokenIssuerUnreachable { issuer, detail } => say!(
                lang,
                "{issuer} did not answer ({detail}): access tokens are refused until it does (retried every 5 minutes and on each new signing key, at most once a minute); API keys work",
                "{issuer} tidak menjawab ({detail}): token akses ditolak sampai penerbit menjawab (dicoba lagi setiap 5 menit dan pada setiap kunci penandatanganan baru, paling sering sekali per menit); kunci API tetap berlaku"
            ),
            Line::ReadsFromReplica => say!(
                lang,
                "Queries read from the replica while it answers; mutations go to the primary.",
                "Kueri membaca dari replika selama replika menjawab; mutasi ke basis data utama."
            ),
            Line::InvalidRedisUrl { detail } => {
                say!(lang, "invalid --redis-url: {detail}", "--redis-url tidak valid: {detail}")
            }
            Line::SharedBudgets { prefix } => say!(
                lang,
                "Rate budgets and WebSocket caps are shared through Redis (keys {prefix}:*); while it does not answer, this instance counts its own.",
                "Batas laju dan batas WebSocket dibagi melalui Redis (kunci {prefix}:*); selama Redis tidak menjawab, instans ini menghitung sendiri."
            ),
            Line::GraphiqlAt { address } => say!(
                lang,
                "In a browser: GraphiQL at http://{address}/graphiql, the import page for operators at http://{address}/import, the dashboard at http://{address}/dashboard",
                "Di peramban: GraphiQL di http://{address}/graphiql, halaman impor untuk operator di http://{address}/import, dasbor di http://{address}/dashboard"
            ),
            Line::KeyHint => say!(
                lang,
                "Worker data and mutations need an API key: jaminan api-key create --name you --role admin\n  (from the source tree: cargo run --release -- api-key create --name you --role admin)\n  then, in GraphiQL's Headers tab: {{\"Authorization\": \"Bearer <key>\"}}",
                "Data pekerja dan mutasi memerlukan kunci API: jaminan api-key create --name anda --role admin\n  (dari kode sumber: cargo run --release -- api-key create --name anda --role admin)\n  lalu, di tab Headers GraphiQL: {{\"Authorization\": \"Bearer <kunci>\"}}"
            ),
            Line::ReadsNotAudited { detail } => say!(
                lang,
                "the last personal-data reads could not be audited: {detail}",
                "pembacaan data pribadi yang terakhir tidak dapat dicatat di log audit: {detail}"
            ),
            Line::StoppedDrained => {
                say!(lang, "stopped: every request finished", "berhenti: semua permintaan telah selesai")
            }
            Line::GraceExpired { secs: s } => say!(
                lang,
                "requests still running after the {s}s grace period were cut (their changes rolled back)",
                "permintaan yang masih berjalan setelah masa tenggang {s} detik dihentikan (perubahannya dibatalkan)"
            ),
            Line::RowsWrittenTo { path } => say!(lang, "rows written to {path}", "baris ditulis ke {path}"),
            Line::Seeded { workers, coverages, payouts, targets, secs: s, per_second } => match lang {
                Lang::En => format!(
                    "seeded {workers} workers, {coverages} coverage periods, {payouts} payouts, {targets} targets in {s:.1}s ({per_second:.0} workers/s)"
                ),
                Lang::Id => format!(
                    "dimuat {} pekerja, {} periode kepesertaan, {} pembayaran manfaat, {} target dalam {} detik ({} pekerja/detik)",
                    num(*workers),
                    num(*coverages),
                    num(*payouts),
                    num(*targets),
                    secs(*s, 1),
                    num(per_second.round() as u64)
                ),
            },
            Line::SummariesRebuilt { secs: s } => {
                let s = secs(*s, 1);
                say!(lang, "summaries rebuilt in {s}s", "ringkasan dibangun ulang dalam {s} detik")
            }
            Line::FiguresDiffer { count } => {
                let n = num(*count as u64);
                say!(
                    lang,
                    "{count} figures differ from a recomputation: run `jaminan stats rebuild`",
                    "{n} angka berbeda dari hasil hitung ulang: jalankan `jaminan stats rebuild`"
                )
            }
            Line::SummariesMatch { secs: s } => {
                let s = secs(*s, 1);
                say!(
                    lang,
                    "summaries match a recomputation ({s}s)",
                    "ringkasan sesuai dengan hasil hitung ulang ({s} detik)"
                )
            }
            Line::ExpectHeadFormat => say!(
                lang,
                "--expect-head takes ID:HASH, as `audit verify` prints it",
                "--expect-head berisi ID:HASH, seperti yang dicetak oleh `audit verify`"
            ),
            Line::ExpectHeadId { id } => {
                say!(lang, "--expect-head: {id:?} is not an entry id", "--expect-head: {id:?} bukan id entri")
            }
            Line::ChainBroken(broken) => match lang {
                Lang::En => broken.to_string(),
                Lang::Id => chain_break_id(broken),
            },
            Line::AuditBroken { id, checked, secs: s } => {
                let (n, s) = (num(*checked), secs(*s, 3));
                say!(
                    lang,
                    "audit log broken at entry {id}: {checked} entries checked in {s}s",
                    "log audit rusak pada entri {id}: {n} entri diperiksa dalam {s} detik"
                )
            }
            Line::AuditIntact { checked, secs: s } => {
                let (n, s) = (num(*checked), secs(*s, 3));
                say!(
                    lang,
                    "audit log intact: {checked} entries checked in {s}s",
                    "log audit utuh: {n} entri diperiksa dalam {s} detik"
                )
            }
            Line::Head { id, hash } => say!(
                lang,
                "head: entry {id}, hash {hash}\n  (keep it: deleting the newest entries shows only with --expect-head {id}:{hash})",
                "kepala (head): entri {id}, hash {hash}\n  (simpan: penghapusan entri terbaru hanya terlihat dengan --expect-head {id}:{hash})"
            ),
            Line::NoHead => say!(lang, "head: none (the log is empty)", "kepala (head): tidak ada (log kosong)"),
            Line::AuditSealedAtStart { count } => {
                let n = num(*count);
                say!(
                    lang,
                    "sealed {count} audit entries committed before this start",
                    "menyegel {n} entri audit yang di-commit sebelum server ini mulai"
                )
            }
            Line::AuditUnsealed { count } => {
                let n = num(*count);
                say!(
                    lang,
                    "{count} entries not yet sealed (after the head; a running server seals them within a second)",
                    "{n} entri belum disegel (setelah kepala; server yang berjalan menyegelnya dalam satu detik)"
                )
            }
            Line::CannotOpen { path, detail } => {
                say!(lang, "cannot open {path}: {detail}", "tidak dapat membuka {path}: {detail}")
            }
            Line::CannotCreate { path, detail } => {
                say!(lang, "cannot create {path}: {detail}", "tidak dapat membuat {path}: {detail}")
            }
            Line::CannotWrite { path, detail } => {
                say!(lang, "cannot write {path}: {detail}", "tidak dapat menulis {path}: {detail}")
            }
            Line::ImportCounts { read, registered, known, created, skipped, in_error } => match lang {
                Lang::En => format!(
                    "rows read:            {read}\nworkers registered:   {registered}\nworkers already known: {known}\ncoverages created:    {created}\nrows already imported: {skipped}\nrows in error:        {in_error}"
                ),
                Lang::Id => format!(
                    "baris dibaca:          {}\npekerja didaftarkan:   {}\npekerja sudah terdaftar: {}\nkepesertaan dibuat:    {}\nbaris sudah diimpor:   {}\nbaris bermasalah:      {}",
                    num(*read),
                    num(*registered),
                    num(*known),
                    num(*created),
                    num(*skipped),
                    num(*in_error)
                ),
            },
            Line::ErrorRowsWritten { path } => {
                say!(lang, "error rows written to {path}", "baris bermasalah ditulis ke {path}")
            }
            Line::ImportWritten { sha256 } => {
                say!(lang, "written (file SHA-256 {sha256})", "telah ditulis (SHA-256 berkas {sha256})")
            }
            Line::DryRun => say!(lang, "dry run: nothing written", "uji coba (dry run): tidak ada yang ditulis"),
            Line::NothingWrittenErrors => say!(
                lang,
                "nothing written: fix the error rows and import again, or use --partial",
                "tidak ada yang ditulis: perbaiki baris yang bermasalah lalu impor lagi, atau gunakan --partial"
            ),
            Line::NothingToWrite => say!(
                lang,
                "nothing to write: every good row was imported before",
                "tidak ada yang perlu ditulis: semua baris yang benar sudah diimpor sebelumnya"
            ),
            Line::RowsInError { count } => {
                let n = num(*count);
                say!(lang, "{count} rows in error", "{n} baris bermasalah")
            }
            Line::TemplateWritten { path } => {
                say!(lang, "template written to {path}", "templat ditulis ke {path}")
            }
            Line::DelimiterUnknown { given } => say!(
                lang,
                "--delimiter {given:?}: a CSV file is separated by ',' or ';'",
                "--delimiter {given:?}: berkas CSV dipisahkan dengan ',' atau ';'"
            ),
            Line::ExportWritten { rows, path } => {
                let n = num(*rows);
                say!(lang, "{rows} coverage periods written to {path}", "{n} periode kepesertaan ditulis ke {path}")
            }
            Line::AdminKeyWithScope => say!(
                lang,
                "an admin key reaches every regency: create it without --scope",
                "kunci admin menjangkau semua kabupaten/kota: buat tanpa --scope"
            ),
            Line::UnknownScope { code } => say!(
                lang,
                "scope {code:?} is neither a province nor a regency code",
                "cakupan {code:?} bukan kode provinsi maupun kode kabupaten/kota"
            ),
            Line::KeyCreated { id, name, role, expires } => say!(
                lang,
                "Created API key {id} ({name}, role {role}, works until {expires}). Send it as `Authorization: Bearer <key>`; it is shown only now:",
                "Kunci API {id} ({name}, peran {role}, berlaku sampai {expires}) telah dibuat. Kirim sebagai `Authorization: Bearer <kunci>`; kunci hanya ditampilkan sekarang:"
            ),
            Line::KeyListHeader => say!(
                lang,
                "id\tname\trole\tscope\towner\tstatus\tcreated\texpires\tlast used",
                "id\tnama\tperan\tcakupan\tpemilik\tstatus\tdibuat\tkedaluwarsa\tterakhir dipakai"
            ),
            Line::KeyExpired => say!(lang, "expired", "kedaluwarsa"),
            Line::KeyNeverExpires => say!(lang, "never", "tidak pernah"),
            Line::KeyActive => say!(lang, "active", "aktif"),
            Line::KeyNeverUsed => say!(lang, "never", "belum pernah"),
            Line::KeyRevokedAt { at } => say!(lang, "revoked {at}", "dicabut {at}"),
            Line::NoActiveKey { id } => {
                say!(lang, "no active key with id {id}", "kunci aktif dengan id {id} tidak ditemukan")
            }
            Line::KeyRevoked { id } => say!(lang, "revoked key {id}", "kunci {id} telah dicabut"),
        }
    }
}

fn chain_break_id(broken: &ChainBreak) -> String {
    match broken {
        ChainBreak::Edited { id } => format!("entri {id} telah diubah: isinya tidak sesuai dengan hash-nya"),
        ChainBreak::Unlinked { id, after: Some(after) } => format!(
            "entri {id} tidak menyambung ke entri {after}: entri di antaranya telah dihapus atau urutan entri telah diubah"
        ),
        ChainBreak::Unlinked { id, after: None } => format!(
            "entri {id} tidak menyambung ke awal log: entri sebelumnya telah dihapus atau urutan entri telah diubah"
        ),
        ChainBreak::Unsealed { id } => format!(
            "entri {id} tidak memiliki hash padahal entri sesudahnya sudah disegel: entri itu disisipkan di luar urutan atau hash-nya dihapus"
        ),
        ChainBreak::HeadGone { id } => {
            format!("entri {id}, kepala (head) yang dicatat sebelumnya, sudah tidak ada: entri terbaru telah dihapus")
        }
        ChainBreak::HeadRewritten { id } => format!(
            "entri {id} tidak lagi memiliki hash yang dicatat untuknya: entri tersebut dan entri sesudahnya telah ditulis ulang"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_writes_numbers_its_own_way() {
        let audit = Line::AuditIntact { checked: 86_000, secs: 0.0714 };
        assert_eq!(audit.text(Lang::En), "audit log intact: 86000 entries checked in 0.071s");
        assert_eq!(audit.text(Lang::Id), "log audit utuh: 86.000 entri diperiksa dalam 0,071 detik");
    }
}
