//! `jaminan import enrollments` and `jaminan export enrollments` as an operator runs them, on both
//! databases: the report, the error file next to the input, dry runs and partial imports, a
//! process killed in the middle, and an export that imports back into the same statistics.
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{TestApp, data};
use serde_json::json;

const HEADER: &str = "nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number";

fn jaminan(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A folder of its own per test, removed at the end.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let path = std::env::temp_dir().join(format!("jaminan-import-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

backend_test!(the_cli_reports_writes_an_error_file_and_imports_partially, |app: TestApp| async move {
    let folder = Folder::new();
    let good = "3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01,2023-12-31,,,,\n\
                3603015505900002,Siti Aminah,STREET_VENDOR,36.03.02,2023-01-01,,,,,";
    let list = folder.write("list.csv", &format!("{HEADER}\n{good}\n123,Bad,FISHER,36.03.01,2023-01-01,,,,,\n3603011505850003,Nowhere,FISHER,36.03.99,2023-01-01,,,,,\n"));

    let refused = jaminan(&app, &["import", "enrollments", arg(&list), "--regency", "36.03"]);
    assert!(!refused.status.success());
    let report = stdout(&refused);
    assert!(report.contains("rows read:            4"), "{report}");
    assert!(report.contains("rows in error:        2"), "{report}");
    assert!(report.contains("nothing written"), "{report}");
    let errors_path = folder.0.join("list.errors.csv");
    let errors = std::fs::read_to_string(&errors_path).unwrap();
    assert_eq!(errors.lines().next(), Some("line,column,code,message"));
    assert!(errors.lines().nth(1).unwrap().starts_with("4,nik,BAD_USER_INPUT,"), "{errors}");
    assert!(errors.lines().nth(2).unwrap().starts_with("5,district_code,BAD_USER_INPUT,"), "{errors}");
    assert_eq!(errors.lines().count(), 3);
    assert_eq!(app.count_rows("worker").await, 0);

    let dry = jaminan(&app, &["import", "enrollments", arg(&list), "--regency", "36.03", "--dry-run", "--partial"]);
    assert!(stdout(&dry).contains("dry run: nothing written"));
    assert_eq!((app.count_rows("worker").await, app.count_rows("audit_log").await), (0, 0));

    let partial = jaminan(&app, &["import", "enrollments", arg(&list), "--regency", "36.03", "--partial"]);
    assert!(stdout(&partial).contains("workers registered:   2"), "{}", stdout(&partial));
    assert!(stdout(&partial).contains("written"));
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (2, 2));
    assert!(app.stats_differences().await.is_empty());

    // The fixed file: the rows imported before are skipped, the error file goes away.
    let fixed = folder.write("list.csv", &format!("{HEADER}\n{good}\n"));
    let again = jaminan(&app, &["import", "enrollments", arg(&fixed), "--regency", "36.03"]);
    assert!(again.status.success(), "{again:?}");
    assert!(stdout(&again).contains("rows already imported: 2"), "{}", stdout(&again));
    assert!(stdout(&again).contains("nothing to write"));
    assert!(!errors_path.exists());
    assert_eq!(app.count_rows("worker").await, 2);
});

backend_test!(a_killed_import_leaves_nothing_written, |app: TestApp| async move {
    let folder = Folder::new();
    let mut file = format!("{HEADER}\n");
    for n in 0..300_000 {
        let (day, serial) = (10 + n / 9_000, 1 + n % 9_000);
        file.push_str(&format!("360301{day:02}0585{serial:04},Worker {n},FISHER,36.03.01,2023-01-01,,,,,\n"));
    }
    let list = folder.write("big.csv", &file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(["import", "enrollments", arg(&list), "--regency", "36.03"])
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(child.try_wait().unwrap().is_none(), "the import should still be running");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (0, 0));
    assert_eq!(app.count_rows("audit_log").await, 0);
    assert!(app.stats_differences().await.is_empty());
});

const STATS: &str = "query($a: String, $y: Int!) { coverageStats(areaCode: $a, year: $y) { coveredWorkers premiumCost \
    byOccupation { occupation coveredWorkers } byGender { gender coveredWorkers } } }";

backend_test!(an_export_imports_back_into_the_same_statistics, |app: TestApp| async move {
    let folder = Folder::new();
    let list = folder.write(
        "2023.csv",
        &format!(
            "{HEADER}\n\
             3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01,2023-12-31,APBD,JKK|JKM,1000000,111\n\
             3603015505900002,Siti Aminah,STREET_VENDOR,36.03.02,2022-07-01,,APBDES,JKK|JKM|JHT,2500000,\n\
             3603010101800003,Ahmad,FARMER,36.03.01,2023-03-15,2023-08-31,SELF,,,\n\
             3603014404750004,Dewi Lestari,FARM_LABORER,36.03.02,2021-01-01,2022-12-31,APBD,,,\n"
        ),
    );
    assert!(jaminan(&app, &["import", "enrollments", arg(&list), "--regency", "36.03"]).status.success());
    // Coverage paid by another regency is not 36.03's to export.
    let other = app.register("3671011505850009", "Rina", "36.71", Some("36.71.01"), "OTHER").await;
    app.enroll(&other, "36.71", "2023-01-01", None).await;

    let exported = folder.0.join("export.csv");
    let output = jaminan(&app, &["export", "enrollments", "--regency", "36.03", "--year", "2023", arg(&exported)]);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("3 coverage periods written"), "{}", stdout(&output));
    let text = std::fs::read_to_string(&exported).unwrap();
    assert_eq!(text.lines().next(), Some(HEADER));
    assert!(
        text.contains("3603015505900002,Siti Aminah,STREET_VENDOR,36.03.02,2022-07-01,,APBDES,JKK|JKM|JHT,2500000,")
    );
    assert!(text.contains(",SELF,JKK|JKM,1000000,"));
    assert!(!text.contains("Dewi") && !text.contains("Rina"));
    assert!(!stdout(&jaminan(&app, &["export", "enrollments", "--regency", "36.03", "--year", "2023"])).is_empty());

    let empty = TestApp::spawn(app.backend).await;
    let imported = jaminan(&empty, &["import", "enrollments", arg(&exported), "--regency", "36.03"]);
    assert!(imported.status.success(), "{imported:?}");
    for area in ["36.03", "36.03.01", "36.03.02"] {
        let variables = json!({ "a": area, "y": 2023 });
        let (original, copy) = (app.gql(STATS, variables.clone()).await, empty.gql(STATS, variables).await);
        assert_eq!(data(&original), data(&copy), "{area}");
    }
    let covered = empty.gql(STATS, json!({ "a": "36.03", "y": 2023 })).await;
    assert_eq!(data(&covered)["coverageStats"]["coveredWorkers"], 3);
    assert!(empty.stats_differences().await.is_empty());
    empty.cleanup().await;
});
