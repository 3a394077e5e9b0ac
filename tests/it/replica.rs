//! Read replicas: a real streaming replica of the test PostgreSQL (a second cluster on another
//! port, made with pg_basebackup) serves the queries, mutations stay on the primary, and when the
//! replica stops the queries read from the primary. Skipped, saying why, where a replica cannot
//! be made (no PostgreSQL binaries, no replication access); CI sets JAMINAN_REQUIRE_REPLICA so
//! that there it fails instead.
use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, data};
use jaminan::config::DatabaseArgs;
use jaminan::db::{self, replica::ReadReplica};
use sea_orm::ConnectionTrait;
use serde_json::json;

const COUNT: &str = "{ workers { totalCount } }";

/// A standby cluster of the test server, stopped and removed when dropped.
struct Standby {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Drop for Standby {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"), &["-D", path(&self.dir), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// PostgreSQL refuses to run as root: its tools run as the postgres user.
fn as_postgres(program: &Path, args: &[&str]) -> Command {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program).args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

/// Makes and starts a standby of the server at `primary` (host, port), or says why it cannot.
fn standby(primary_port: u16) -> Result<Standby, String> {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no PostgreSQL binaries under /usr/lib/postgresql".to_owned())?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("pg_basebackup").exists())
        .max()
        .ok_or("no pg_basebackup under /usr/lib/postgresql/*/bin")?;
    let port =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let dir = std::env::temp_dir().join(format!("jaminan-standby-{}", uuid::Uuid::new_v4().simple()));
    let backup = as_postgres(
        &bin.join("pg_basebackup"),
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &primary_port.to_string(),
            "-U",
            "postgres",
            "-D",
            path(&dir),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
    )
    .output()
    .map_err(|e| format!("pg_basebackup: {e}"))?;
    let standby = Standby { bin, dir, port };
    if !backup.status.success() {
        return Err(format!(
            "pg_basebackup failed (the server must allow replication from 127.0.0.1: \
             `host replication all 127.0.0.1/32 trust` in pg_hba.conf): {}",
            String::from_utf8_lossy(&backup.stderr)
        ));
    }
    // Debian keeps the configuration outside the data directory: the standby gets its own.
    let conf = format!(
        "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nhot_standby = on\n",
        path(&standby.dir)
    );
    let hba = "local all all trust\nhost all all 127.0.0.1/32 trust\n";
    for (file, content) in [("postgresql.conf", conf.as_str()), ("pg_hba.conf", hba)] {
        let written = as_postgres(Path::new("sh"), &["-c", &format!("cat > '{}/{file}'", path(&standby.dir))])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                child.stdin.take().expect("stdin").write_all(content.as_bytes())?;
                child.wait()
            })
            .map_err(|e| e.to_string())?;
        if !written.success() {
            return Err(format!("cannot write the standby's {file}"));
        }
    }
    let log = standby.dir.join("log");
    let started =
        as_postgres(&standby.bin.join("pg_ctl"), &["-D", path(&standby.dir), "-l", path(&log), "-w", "start"])
            .output()
            .map_err(|e| e.to_string())?;
    if !started.status.success() {
        return Err(format!("the standby did not start: {}", std::fs::read_to_string(&log).unwrap_or_default()));
    }
    Ok(standby)
}

async fn count(app: &TestApp) -> i64 {
    data(&app.gql_as(&app.admin, COUNT, json!({})).await)["workers"]["totalCount"].as_i64().expect("count")
}

async fn readyz(app: &TestApp) -> (StatusCode, String) {
    let (status, body) = app.send_raw(Request::get("/readyz").body(Body::empty()).unwrap()).await;
    (status, String::from_utf8(body).unwrap())
}

/// Polls `check` every 100 ms for up to 10 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}: not within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn queries_read_from_a_streaming_replica_and_fall_back_to_the_primary() {
    let _shared = common::shared().await;
    let app = TestApp::spawn_postgres().await;
    let base = std::env::var("TEST_DATABASE_URL").unwrap();
    let primary_port = url_port(&base);
    let standby = match standby(primary_port) {
        Ok(standby) => standby,
        Err(why) if std::env::var("JAMINAN_REQUIRE_REPLICA").is_err() => {
            eprintln!("skipped: no streaming replica can be made here: {why}");
            app.cleanup().await;
            return;
        }
        Err(why) => panic!("no streaming replica: {why}"),
    };
    let database = app.database_url().rsplit('/').next().unwrap().to_owned();
    let replica_url = format!("postgres://postgres@127.0.0.1:{}/{database}", standby.port);
    // The test database was created before the backup, so the standby has it from the start.
    let replica_db = db::connect_lazily(&DatabaseArgs::for_url(&replica_url)).await.unwrap();
    let mut http = app.http.clone();
    http.replica = Some(ReadReplica::new(replica_db.clone()));
    let served = app.with_http(http);
    let (status, body) = readyz(&served).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready\nprimary: ok\nreplica: ok"));

    // With replay paused on the replica, a worker registered through the API (on the primary,
    // which the mutation's own answer reads) does not show in queries: they read the replica.
    replica_db.execute_unprepared("SELECT pg_wal_replay_pause()").await.unwrap();
    let worker = served.register("3603121505800001", "Pekerja Replika", "36.03", None, "FISHER").await;
    assert!(!worker.is_empty());
    assert_eq!(common::TestApp::count(&app.state.db, "SELECT COUNT(*) AS n FROM worker").await, 1);
    assert_eq!(count(&served).await, 0, "queries read from the replica");
    replica_db.execute_unprepared("SELECT pg_wal_replay_resume()").await.unwrap();
    eventually("the replica catches up", async || count(&served).await == 1).await;

    // The replica stops: queries answer from the primary at once (the failed read is run
    // again there), /readyz says so, and the fallbacks are counted.
    let stopped = as_postgres(&standby.bin.join("pg_ctl"), &["-D", path(&standby.dir), "-m", "immediate", "stop"])
        .output()
        .unwrap();
    assert!(stopped.status.success());
    assert_eq!(count(&served).await, 1);
    assert_eq!(count(&served).await, 1);
    let (status, body) = readyz(&served).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("replica: unreachable"), "{body}");
    let metrics = served.scrape_metrics().await;
    let fallbacks = metrics.lines().find_map(|l| l.strip_prefix("jaminan_replica_fallbacks_total ")).expect("counter");
    assert!(fallbacks.parse::<f64>().unwrap() >= 1.0, "{fallbacks}");
    // Mutations never depended on it.
    served.register("3603121505800002", "Pekerja Dua", "36.03", None, "FISHER").await;
    assert_eq!(count(&served).await, 2);
    drop(standby);
    app.cleanup().await;
}

fn url_port(url: &str) -> u16 {
    let host = url.split('@').next_back().unwrap_or_default().split('/').next().unwrap_or_default();
    host.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).unwrap_or(5432)
}
