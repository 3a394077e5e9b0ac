//! The `jaminan api-key` commands as an admin runs them (on the embedded SQLite database; the
//! key functions they call are exercised on PostgreSQL by the other suites).
use std::process::{Command, Output};

struct Cli {
    database_url: String,
    path: std::path::PathBuf,
}

impl Cli {
    fn new() -> Cli {
        let dir = std::env::temp_dir().join("jaminan-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("cli-{}.db", uuid::Uuid::new_v4()));
        Cli { database_url: format!("sqlite://{}?mode=rwc", path.display()), path }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_jaminan")).args(args).env("DATABASE_URL", &self.database_url).output().unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn api_keys_are_created_listed_and_revoked() {
    let cli = Cli::new();
    let created = cli.run(&["api-key", "create", "--name", "desk 36.03", "--role", "operator", "--scope", "36.03"]);
    assert!(created.status.success(), "{created:?}");
    let key = stdout(&created).lines().last().unwrap().to_owned();
    assert!(key.starts_with("jmn_") && key.len() == 4 + 64, "{key}");

    let listed = stdout(&cli.run(&["api-key", "list"]));
    assert!(listed.contains("desk 36.03\tOPERATOR\t36.03\t-\tactive"), "{listed}");
    assert!(!listed.contains(&key[4..]), "the key itself is never shown again");

    assert!(cli.run(&["api-key", "revoke", "1"]).status.success());
    assert!(stdout(&cli.run(&["api-key", "list"])).contains("revoked"));
    assert!(!cli.run(&["api-key", "revoke", "1"]).status.success(), "nothing left to revoke");
}

#[test]
fn bad_scopes_are_refused() {
    let cli = Cli::new();
    for args in [
        ["api-key", "create", "--name", "x", "--role", "viewer", "--scope", "99"],
        ["api-key", "create", "--name", "x", "--role", "viewer", "--scope", "36.03' OR 1=1"],
        ["api-key", "create", "--name", "x", "--role", "admin", "--scope", "36"],
    ] {
        let output = cli.run(&args);
        assert!(!output.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&output.stderr).contains("scope"), "{output:?}");
    }
    assert_eq!(stdout(&cli.run(&["api-key", "list"])), "");
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn seed_then_verify_and_rebuild_the_summaries() {
    let cli = Cli::new();
    let seeded = cli.run(&["seed", "--workers", "400", "--seed", "3"]);
    assert!(seeded.status.success(), "{seeded:?}");
    assert!(stdout(&seeded).contains("seeded 400 workers"), "{}", stdout(&seeded));
    let again = cli.run(&["seed", "--workers", "400"]);
    assert!(!again.status.success() && stderr(&again).contains("empty database"), "{again:?}");

    let verified = cli.run(&["stats", "verify"]);
    assert!(verified.status.success() && stdout(&verified).contains("match"), "{verified:?}");

    // Summaries that drifted (rows loaded with SQL, say): verify lists the figures and exits 1.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let db = jaminan::db::connect(&cli.database_url, 10).await.unwrap();
        db.execute_unprepared(
            "INSERT INTO coverage_summary (area_code, year, shard, run_starts) VALUES ('36.03', 2023, 3, 1)",
        )
        .await
        .unwrap();
    });
    let drifted = cli.run(&["stats", "verify"]);
    assert_eq!(drifted.status.code(), Some(1), "{drifted:?}");
    let listed = stdout(&drifted);
    assert!(listed.contains("36.03 2023 coveredWorkers: summaries "), "{listed}");
    assert!(listed.contains("36.03 2023 newlyCovered: summaries "), "{listed}");
    let last_year = listed.lines().rfind(|l| l.contains(" coveredWorkers: ")).unwrap_or_default();
    assert!(last_year.ends_with("(and every later year)"), "{listed}");

    let rebuilt = cli.run(&["stats", "rebuild"]);
    assert!(rebuilt.status.success(), "{rebuilt:?}");
    assert!(cli.run(&["stats", "verify"]).status.success());
}

/// `jaminan` with these arguments, the database named only by `--database-url` (no environment).
fn run_with_url(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("JAMINAN_LANG")
        .env_remove("JAMINAN_LOG_FORMAT")
        .output()
        .unwrap()
}

#[test]
fn global_options_are_accepted_by_every_subcommand_in_any_position() {
    let cli = Cli::new();
    let url = cli.database_url.as_str();
    let created = run_with_url(&["api-key", "create", "--name", "desk", "--role", "viewer", "--database-url", url]);
    assert!(created.status.success(), "{created:?}");
    let runs: [&[&str]; 8] = [
        &["audit", "verify", "--database-url", url],
        &["--database-url", url, "audit", "verify"],
        &["audit", "--database-url", url, "verify", "--lang", "id"],
        &["stats", "verify", "--database-url", url, "--log-format", "json"],
        &["--lang", "id", "stats", "--database-url", url, "verify"],
        &["api-key", "list", "--database-url", url],
        &["api-key", "--log-format", "json", "list", "--lang", "id", "--database-url", url],
        &["export", "enrollments", "--regency", "36.03", "--year", "2023", "--database-url", url],
    ];
    for args in runs {
        let output = run_with_url(args);
        assert!(output.status.success(), "{args:?}: {output:?}");
        if args.contains(&"api-key") {
            assert!(stdout(&output).contains("desk\tVIEWER"), "the key made in that database: {args:?} {output:?}");
        }
        let indonesian = args.windows(2).any(|w| w == ["--lang", "id"]);
        if args.contains(&"verify") {
            let text = stdout(&output);
            assert_eq!(text.contains("diperiksa") || text.contains("sesuai"), indonesian, "{args:?}: {text}");
        }
    }
    // The embedded default database was never touched: every run used the one named.
    let listed = run_with_url(&["api-key", "list", "--database-url", url]);
    assert_eq!(stdout(&listed).lines().count(), 2, "a header and the one key: {listed:?}");
}

/// Runs the command with its stdout read by nobody (as `| head` leaves it once it has its lines):
/// it must end with success, quietly.
fn with_closed_stdout(cli: &Cli, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(args)
        .env("DATABASE_URL", &cli.database_url)
        .env("RUST_BACKTRACE", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let cli = Cli::new();
    assert!(cli.run(&["seed", "--workers", "300", "--seed", "5"]).status.success());
    assert!(cli.run(&["api-key", "create", "--name", "desk", "--role", "viewer"]).status.success());
    for args in [
        &["audit", "verify"][..],
        &["stats", "verify"],
        &["api-key", "list"],
        &["export", "enrollments", "--regency", "36.03", "--year", "2023"],
        &["export-schema"],
    ] {
        let output = with_closed_stdout(&cli, args);
        let err = stderr(&output);
        assert!(output.status.success(), "{args:?}: {output:?}");
        assert!(
            !err.contains("panicked") && !err.contains("internal error") && !err.contains("failed"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn api_key_list_has_a_header_and_dates_in_both_languages() {
    let cli = Cli::new();
    let created = cli.run(&["api-key", "create", "--name", "desk 36.03", "--role", "operator", "--scope", "36.03"]);
    let key = stdout(&created).lines().last().unwrap().to_owned();
    assert!(cli.run(&["api-key", "create", "--name", "idle", "--role", "viewer"]).status.success());
    let today = chrono::Utc::now().date_naive();

    let listed = stdout(&cli.run(&["api-key", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines[0], "id\tname\trole\tscope\towner\tstatus\tcreated\texpires\tlast used", "{listed}");
    assert!(lines[1].starts_with(&format!("1\tdesk 36.03\tOPERATOR\t36.03\t-\tactive\t{today} ")), "{listed}");
    assert!(lines[1].ends_with(" UTC\tnever"), "{listed}");

    // The key is used (a server's key cache writes the last use with its next refresh).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = jaminan::db::connect(&cli.database_url, 10).await.unwrap();
        let cache = jaminan::auth::keys::KeyCache::new(std::time::Duration::ZERO);
        // Written in the background: poll until it is there.
        for _ in 0..50 {
            cache.authenticate(&db, Some(&format!("Bearer {key}"))).await.unwrap().unwrap();
            let keys = jaminan::auth::keys::list_keys(&db).await.unwrap();
            if keys[0].last_used_at.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        db.close().await.unwrap();
    });
    let listed = stdout(&cli.run(&["api-key", "list"]));
    let used = listed.lines().nth(1).unwrap();
    assert!(!used.ends_with("never") && used.ends_with(" UTC"), "{listed}");
    assert!(listed.lines().nth(2).unwrap().ends_with("\tnever"), "the other key was not used: {listed}");

    let listed = stdout(&cli.run(&["api-key", "list", "--lang", "id"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines[0], "id\tnama\tperan\tcakupan\tpemilik\tstatus\tdibuat\tkedaluwarsa\tterakhir dipakai",
        "{listed}"
    );
    let tanggal = jaminan::i18n::date(today, jaminan::i18n::Lang::Id);
    assert!(lines[1].contains(&format!("\taktif\t{tanggal} ")), "{listed}");
    assert!(lines[2].ends_with("\tbelum pernah"), "{listed}");
}

// Keys belong to someone and end: `--owner` and `--expires-in` (90 days unless told), both shown
// by `api-key list` with the last use; a duration that is none, or past two years, is refused.
#[test]
fn api_keys_have_an_owner_and_an_end() {
    let cli = Cli::new();
    let created = cli.run(&[
        "api-key",
        "create",
        "--name",
        "desk siti",
        "--role",
        "operator",
        "--scope",
        "36.03",
        "--owner",
        "f3a1-siti",
        "--expires-in",
        "30d",
    ]);
    assert!(created.status.success(), "{created:?}");
    let in_30_days = (chrono::Utc::now() + chrono::Duration::days(30)).date_naive();
    assert!(stdout(&created).contains(&format!("works until {in_30_days} ")), "{created:?}");
    assert!(cli.run(&["api-key", "create", "--name", "sync", "--role", "viewer"]).status.success());
    let in_90_days = (chrono::Utc::now() + chrono::Duration::days(90)).date_naive();

    let listed = stdout(&cli.run(&["api-key", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    let siti: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(siti[4..6], ["f3a1-siti", "active"], "{listed}");
    assert!(siti[7].starts_with(&in_30_days.to_string()) && siti[8] == "never", "{listed}");
    let sync: Vec<&str> = lines[2].split('\t').collect();
    assert_eq!(sync[4], "-", "{listed}");
    assert!(sync[7].starts_with(&in_90_days.to_string()), "the default is 90 days: {listed}");

    for bad in ["0h", "731d", "90", "3m", "-5d", "soon"] {
        let output = cli.run(&["api-key", "create", "--name", "x", "--role", "viewer", &format!("--expires-in={bad}")]);
        assert!(!output.status.success(), "{bad}");
        assert!(stderr(&output).contains("--expires-in"), "{bad}: {}", stderr(&output));
    }
    assert_eq!(stdout(&cli.run(&["api-key", "list"])).lines().count(), 3, "nothing made by the refused ones");
}
