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
    assert!(listed.contains("desk 36.03\tOPERATOR\t36.03\tactive"), "{listed}");
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
