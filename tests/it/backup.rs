//! Backups: `jaminan backup FILE` copies the embedded database while writes go on, and the copy
//! is consistent; PostgreSQL is backed up with pg_dump and restored with pg_restore, as the
//! docs/operations.md says, and the server migrates and serves the restored database.
use crate::common;

use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Backend, TestApp};
use sea_orm::ConnectionTrait;

fn jaminan(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaminan")).args(args).env("DATABASE_URL", database_url).output().expect("jaminan")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Registrations and enrollments until told to stop; returns how many workers were registered.
fn keep_writing(app: &TestApp, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    let app = app.clone();
    tokio::spawn(async move {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let nik = format!("360312{:02}0185{:04}", 1 + n % 28, n);
            let worker = app.register(&nik, "Pekerja", "36.03", Some("36.03.12"), "FISHER").await;
            app.enroll(&worker, "36.03", "2025-01-01", None).await;
        }
        n
    })
}

backend_test!(backups_are_consistent_and_restore, |app: TestApp| async move {
    let dir = std::env::temp_dir().join("jaminan-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = keep_writing(&app, stop.clone());
    // The backup is taken while the writer writes.
    common::eventually("the writer writing", std::time::Duration::from_secs(10), || async {
        app.count_rows("coverage").await > 0
    })
    .await;
    match app.backend {
        Backend::Sqlite => {
            let copy = dir.join(format!("backup-{}.db", uuid::Uuid::new_v4()));
            let url = app.database_url();
            let path = copy.clone();
            let output =
                tokio::task::spawn_blocking(move || jaminan(&url, &["backup", path.to_str().unwrap()])).await.unwrap();
            stop.store(true, Ordering::SeqCst);
            let written = writer.await.unwrap();
            assert!(output.status.success(), "{}", text(&output));
            let again = jaminan(&app.database_url(), &["backup", copy.to_str().unwrap()]);
            assert!(!again.status.success() && text(&again).contains("exists"), "{}", text(&again));

            // The copy is a database of its own, taken at one instant: intact, its statistics
            // equal to a recomputation, every worker enrolled (no half of a request).
            let copy_url = format!("sqlite://{}?mode=rw", copy.display());
            let verify = jaminan(&copy_url, &["stats", "verify"]);
            assert!(verify.status.success(), "{}", text(&verify));
            let restored = jaminan::app::startup::open_url(&copy_url).await.unwrap();
            let copied = TestApp::count(&restored, "SELECT COUNT(*) AS n FROM worker").await;
            assert!(copied >= 1 && copied as u64 <= written, "{copied} of {written}");
            let unenrolled = "SELECT COUNT(*) AS n FROM worker w WHERE NOT EXISTS (SELECT 1 FROM coverage c WHERE c.worker_id = w.id)";
            // The writer registers then enrolls in two requests: at most the last one is between.
            assert!(TestApp::count(&restored, unenrolled).await <= 1);
            let check = TestApp::count(
                &restored,
                "SELECT COUNT(*) AS n FROM pragma_integrity_check WHERE integrity_check = 'ok'",
            );
            assert_eq!(check.await, 1);
            restored.close().await.ok();
            for suffix in ["", "-wal", "-shm"] {
                std::fs::remove_file(format!("{}{suffix}", copy.display())).ok();
            }
        }
        Backend::Postgres => {
            let refused = jaminan(&app.database_url(), &["backup", dir.join("never.db").to_str().unwrap()]);
            assert!(!refused.status.success() && text(&refused).contains("pg_dump"), "{}", text(&refused));
            // docs/operations.md's commands: pg_dump -Fc, pg_restore into a new database, migrate.
            let dump = dir.join(format!("backup-{}.dump", uuid::Uuid::new_v4()));
            let output = Command::new("pg_dump")
                .args(["-Fc", "-f", dump.to_str().unwrap(), "-d", &app.database_url()])
                .output()
                .expect("pg_dump");
            stop.store(true, Ordering::SeqCst);
            writer.await.unwrap();
            assert!(output.status.success(), "{}", text(&output));
            let restored = app.database_url().replace("jaminan_test_", "jaminan_restored_");
            let name = restored.rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
            let admin = jaminan::db::connect(&std::env::var("TEST_DATABASE_URL").unwrap(), 10).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            let output = Command::new("pg_restore")
                .args(["--no-owner", "-d", &restored, dump.to_str().unwrap()])
                .output()
                .expect("pg_restore");
            assert!(output.status.success(), "{}", text(&output));
            let migrated = jaminan(&restored, &["migrate"]);
            assert!(migrated.status.success(), "{}", text(&migrated));
            let verify = jaminan(&restored, &["stats", "verify"]);
            assert!(verify.status.success(), "{}", text(&verify));
            admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
            admin.close().await.ok();
            std::fs::remove_file(dump).ok();
        }
    }
});
