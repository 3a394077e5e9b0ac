//! Excel workbooks on both databases: an .xlsx list imported over GraphQL and the CLI with the
//! CSV's rules (recognised by content; a NIK held as a number is an error row; date cells are
//! dates), exports as .xlsx and `;` CSV over HTTP (with access and the audit) and the CLI, the
//! round trip export -> import changing nothing in every format, and the template.
use crate::common;

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use calamine::{Data, Reader, Xlsx};
use common::{TestApp, data};
use jaminan::auth::{self, Role};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use serde_json::{Value, json};
use tower::ServiceExt;

/// A cell of a test workbook, as Excel-like software writes it.
enum X {
    S(&'static str),
    N(f64),
    D(u16, u8, u8),
    E,
}

/// A workbook of one sheet: the header, then the rows (row 1 is the header, as in Excel).
fn workbook(header: &[&str], rows: &[Vec<X>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (c, name) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *name).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                X::S(text) => {
                    sheet.write_string(r, c, *text).unwrap();
                }
                X::N(n) => {
                    sheet.write_number(r, c, *n).unwrap();
                }
                X::D(y, m, d) => {
                    sheet
                        .write_datetime_with_format(r, c, ExcelDateTime::from_ymd(*y, *m, *d).unwrap(), &date)
                        .unwrap();
                }
                X::E => {}
            }
        }
    }
    book.save_to_buffer().unwrap()
}

const ID_HEADER: [&str; 7] = ["No", "NIK", "Nama Lengkap", "Pekerjaan", "Kecamatan", "Tanggal Mulai", "Penghasilan"];

fn report(response: &Value) -> &Value {
    &data(response)["importEnrollments"]
}

/// The first sheet's cells as calamine reads them.
fn sheet_of(bytes: &[u8]) -> (Vec<String>, calamine::Range<Data>) {
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let names = book.sheet_names();
    let range = book.worksheet_range(&names[0]).unwrap();
    (names, range)
}

backend_test!(an_xlsx_list_imports_with_the_csv_rules, |app: TestApp| async move {
    let file = workbook(
        &ID_HEADER,
        &[
            vec![
                X::N(1.0),
                X::S("3603011505850001"),
                X::S("Budi Santoso"),
                X::S("Nelayan"),
                X::S("Balaraja"),
                X::D(2023, 7, 1),
                X::N(1_500_000.0),
            ],
            vec![
                X::N(2.0),
                X::S("3603015505900002"),
                X::S("Siti Aminah"),
                X::S("Pemulung"),
                X::S("36.03.02"),
                X::S("01/02/2023"),
                X::E,
            ],
        ],
    );
    let (status, response) = app.import_csv(Some(&app.admin), "36.03", &file, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    let got = report(&response);
    assert_eq!(
        (got["rowsRead"].as_i64(), got["coveragesCreated"].as_i64(), &got["errors"]),
        (Some(2), Some(2), &json!([])),
        "{response}"
    );
    assert_eq!(got["written"], true);
    let workers = app
        .gql_as(
            &app.admin,
            "{ workers { nodes { nik fullName occupation coverages { startsOn declaredMonthlyIncome } } } }",
            json!({}),
        )
        .await;
    let nodes = &data(&workers)["workers"]["nodes"];
    let budi = nodes.as_array().unwrap().iter().find(|w| w["fullName"] == "Budi Santoso").unwrap();
    assert_eq!(budi["nik"], "3603011505850001");
    assert_eq!(budi["occupation"], "FISHER");
    assert_eq!(budi["coverages"][0]["startsOn"], "2023-07-01", "a date cell is a date");
    assert_eq!(budi["coverages"][0]["declaredMonthlyIncome"], "1500000", "a number cell is whole rupiah");
    assert!(app.stats_differences().await.is_empty());
});

backend_test!(a_nik_held_as_a_number_is_an_error_row_and_nothing_is_written, |app: TestApp| async move {
    let file = workbook(
        &ID_HEADER,
        &[
            vec![
                X::N(1.0),
                X::S("3603011505850001"),
                X::S("Budi Santoso"),
                X::S("Nelayan"),
                X::S("Balaraja"),
                X::D(2023, 7, 1),
                X::E,
            ],
            // What Excel does to a NIK typed into a General column: a number, 15 digits kept.
            vec![
                X::N(2.0),
                X::N(3_603_015_505_900_000.0),
                X::S("Siti Aminah"),
                X::S("Pemulung"),
                X::S("Nowhere"),
                X::D(2023, 7, 1),
                X::E,
            ],
        ],
    );
    let (_, response) =
        app.in_language("id").import_csv(Some(&app.admin), "36.03", &file, json!({ "partial": false })).await;
    let got = report(&response);
    assert_eq!(
        (got["rowsRead"].as_i64(), got["rowsInError"].as_i64(), got["written"].as_bool()),
        (Some(2), Some(1), Some(false))
    );
    let errors = got["errors"].as_array().unwrap();
    assert_eq!(errors[0]["line"], 3, "the Excel row number");
    assert_eq!(errors[0]["column"], "NIK");
    assert_eq!(errors[0]["value"], "3603015505900000", "as Excel shows it");
    assert_eq!(errors[0]["code"], "BAD_USER_INPUT");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains("15 digit") && message.contains("Teks"), "{message}");
    assert_eq!(errors[1]["column"], "Kecamatan", "every error of the row at once: {errors:?}");
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (0, 0));

    // A membership number held as a number too.
    let file = workbook(
        &["NIK", "Nama", "Pekerjaan", "Kecamatan", "Tanggal Mulai", "No KPJ"],
        &[vec![
            X::S("3603011505850001"),
            X::S("Budi"),
            X::S("Petani"),
            X::S("Balaraja"),
            X::D(2023, 1, 1),
            X::N(12345.0),
        ]],
    );
    let (_, response) = app.import_csv(Some(&app.admin), "36.03", &file, json!({ "partial": true })).await;
    let got = report(&response);
    assert_eq!(got["errors"][0]["column"], "No KPJ", "{response}");
    assert_eq!(got["errors"][0]["value"], "12345");
    assert!(got["errors"][0]["message"].as_str().unwrap().contains("Text"));
    assert_eq!(app.count_rows("worker").await, 0);
});

backend_test!(a_zip_that_is_no_workbook_is_refused_and_writes_nothing, |app: TestApp| async move {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    zip.start_file("list.csv", zip::write::SimpleFileOptions::default()).unwrap();
    zip.write_all(b"nik,full_name\n").unwrap();
    let file = zip.finish().unwrap().into_inner();
    let (_, response) = app.import_csv(Some(&app.admin), "36.03", &file, json!({})).await;
    assert_eq!(response["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{response}");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("not an Excel workbook"), "{message}");
    assert_eq!((app.count_rows("worker").await, app.count_rows("audit_log").await), (0, 0));
    // A name says nothing: a CSV called .xlsx is read as CSV (the test helper names every upload list.csv).
});

/// GET `uri` with an optional key and language: status, content type and body.
async fn get(app: &TestApp, uri: &str, key: Option<&str>, lang: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut request = Request::get(uri);
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if let Some(lang) = lang {
        request = request.header("accept-language", lang);
    }
    let response = app.router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let media = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec();
    (status, media, bytes)
}

fn code_of(body: &[u8]) -> String {
    let value: Value = serde_json::from_slice(body).unwrap();
    value["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
}

/// Four workers of 36.03 (one with a name that starts like a formula), one of 36.71.
async fn enrolled(app: &TestApp) {
    let file = "nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number\n\
                3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01,2023-12-31,APBD,JKK|JKM,1000000,111\n\
                3603015505900002,Siti Aminah,STREET_VENDOR,36.03.02,2022-07-01,,APBDES,JKK|JKM|JHT,2500000,\n\
                3603010101800003,Ahmad,FARMER,36.03.01,2023-03-15,2023-08-31,SELF,,,0000012345678\n\
                3603012202900004,\"'-Joko\",OTHER,36.03.01,2023-02-01,,,,,\n";
    let (_, response) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    assert_eq!(report(&response)["written"], true, "{response}");
    let other = app.register("3671011505850009", "Rina", "36.71", Some("36.71.01"), "OTHER").await;
    app.enroll(&other, "36.71", "2023-01-01", None).await;
}

const EXPORT: &str = "/exports/enrollments?regency=36.03&year=2023";

backend_test!(exports_download_for_operators_in_scope_and_are_audited, |app: TestApp| async move {
    enrolled(&app).await;
    let (operator, _) =
        auth::keys::create_key(&app.state.db, "desk", Role::Operator, Some("36.03".into())).await.unwrap();
    let (elsewhere, _) =
        auth::keys::create_key(&app.state.db, "far", Role::Operator, Some("36.71".into())).await.unwrap();
    let (viewer, _) = auth::keys::create_key(&app.state.db, "eyes", Role::Viewer, None).await.unwrap();

    let (status, media, body) = get(&app, EXPORT, None, None).await;
    assert_eq!((status, code_of(&body).as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "{media}");
    assert!(media.contains("json"));
    let (status, _, body) = get(&app, EXPORT, Some(&viewer), None).await;
    assert_eq!((status, code_of(&body).as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (status, _, body) = get(&app, EXPORT, Some(&elsewhere), None).await;
    assert_eq!((status, code_of(&body).as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let (status, _, body) = get(&app, &format!("{EXPORT}&format=pdf"), Some(&operator), None).await;
    assert_eq!((status, code_of(&body).as_str()), (StatusCode::BAD_REQUEST, "BAD_USER_INPUT"));
    assert_eq!(app.count_rows("audit_log WHERE operation = 'exportEnrollments'").await, 0, "refusals read nothing");

    let (status, media, csv) = get(&app, EXPORT, Some(&operator), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(media, "text/csv; charset=utf-8");
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("nik,full_name,"), "{text}");
    assert!(
        text.contains(
            "3603010101800003,Ahmad,FARMER,36.03.01,2023-03-15,2023-08-31,SELF,JKK|JKM,1000000,0000012345678"
        )
    );
    assert!(text.contains("\"'-Joko\""), "inert: {text}");
    assert!(!text.contains("Rina"));
    let audited = "audit_log WHERE entity_type = 'PERSONAL_DATA_READ' AND operation = 'exportEnrollments'";
    assert_eq!(app.count_rows(audited).await, 4, "one entry per exported worker, before the file left");

    let (_, _, semicolons) = get(&app, EXPORT, Some(&operator), Some("id-ID,id;q=0.9")).await;
    let text = String::from_utf8(semicolons).unwrap();
    assert!(text.starts_with("\u{feff}nik;full_name;occupation;"), "{text}");
    assert!(
        text.contains(
            "3603010101800003;Ahmad;FARMER;36.03.01;2023-03-15;2023-08-31;SELF;JKK|JKM;1000000;0000012345678"
        )
    );
    let (_, _, commas) = get(&app, &format!("{EXPORT}&delimiter=,"), Some(&operator), Some("id")).await;
    assert!(commas.starts_with(b"nik,full_name"));

    let (status, media, xlsx) = get(&app, &format!("{EXPORT}&format=xlsx"), Some(&app.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(media, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let (_, range) = sheet_of(&xlsx);
    assert_eq!(range.get_value((0, 0)), Some(&Data::String("nik".into())));
    let rows: Vec<_> = range.rows().skip(1).collect();
    assert_eq!(rows.len(), 4);
    let ahmad = rows.iter().find(|r| r[1] == Data::String("Ahmad".into())).unwrap();
    assert_eq!(ahmad[0], Data::String("3603010101800003".into()), "NIK as text");
    assert_eq!(ahmad[9], Data::String("0000012345678".into()), "membership number as text, zeros kept");
    assert!(matches!(ahmad[4], Data::DateTime(_)), "a real date: {:?}", ahmad[4]);
    assert_eq!(ahmad[8], Data::Float(1_000_000.0));
    assert!(rows.iter().any(|r| r[1] == Data::String("-Joko".into())), "as stored, quote-prefixed");
    assert_eq!(app.count_rows(audited).await, 16);
});

backend_test!(export_then_import_changes_nothing_in_every_format, |app: TestApp| async move {
    enrolled(&app).await;
    let before = (
        app.count_rows("worker").await,
        app.count_rows("coverage").await,
        app.count_rows("audit_log WHERE entity_type = 'ENROLLMENT_IMPORT'").await,
    );
    let formats = [("csv", None), ("csv", Some("id")), ("xlsx", None)];
    let empty = TestApp::spawn(app.backend).await;
    let mut first = true;
    for (format, lang) in formats {
        let (status, _, file) = get(&app, &format!("{EXPORT}&format={format}"), Some(&app.admin), lang).await;
        assert_eq!(status, StatusCode::OK);
        // Into the database it came from: every row is already there.
        let (_, response) = app.import_csv(Some(&app.admin), "36.03", &file, json!({})).await;
        let got = report(&response);
        assert_eq!(
            (got["rowsRead"].as_i64(), got["rowsSkipped"].as_i64(), got["written"].as_bool()),
            (Some(4), Some(4), Some(false)),
            "{format} {lang:?}: {response}"
        );
        let after = (
            app.count_rows("worker").await,
            app.count_rows("coverage").await,
            app.count_rows("audit_log WHERE entity_type = 'ENROLLMENT_IMPORT'").await,
        );
        assert_eq!(after, before, "{format} {lang:?}");
        // Into an empty database: the same file comes back out.
        let (_, response) = empty.import_csv(Some(&empty.admin), "36.03", &file, json!({})).await;
        let got = report(&response);
        let expected = if first { "coveragesCreated" } else { "rowsSkipped" };
        assert_eq!(got[expected], 4, "{format} {lang:?}: {response}");
        first = false;
        let (_, _, again) = get(&empty, &format!("{EXPORT}&format=csv"), Some(&empty.admin), None).await;
        let (_, _, original) = get(&app, &format!("{EXPORT}&format=csv"), Some(&app.admin), None).await;
        assert_eq!(String::from_utf8(again).unwrap(), String::from_utf8(original).unwrap(), "{format} {lang:?}");
    }
    assert!(empty.stats_differences().await.is_empty());
    empty.cleanup().await;
});

fn jaminan(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaminan"))
        .args(args)
        .env("DATABASE_URL", app.database_url())
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

struct Folder(PathBuf);

impl Folder {
    fn new() -> Folder {
        let path = std::env::temp_dir().join(format!("jaminan-xlsx-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Folder(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
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

backend_test!(the_cli_exports_xlsx_and_semicolons_and_imports_them_back, |app: TestApp| async move {
    enrolled(&app).await;
    let folder = Folder::new();
    let xlsx = folder.path("export.xlsx");
    let output = jaminan(
        &app,
        &["export", "enrollments", "--regency", "36.03", "--year", "2023", "--format", "xlsx", arg(&xlsx)],
    );
    assert!(output.status.success(), "{output:?}");
    let (_, range) = sheet_of(&std::fs::read(&xlsx).unwrap());
    assert_eq!(range.height(), 5);
    let semicolons = folder.path("export.csv");
    let output = jaminan(
        &app,
        &["export", "enrollments", "--regency", "36.03", "--year", "2023", "--delimiter", ";", arg(&semicolons)],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(std::fs::read_to_string(&semicolons).unwrap().starts_with("\u{feff}nik;full_name;"));
    let indonesian = jaminan(&app, &["--lang", "id", "export", "enrollments", "--regency", "36.03", "--year", "2023"]);
    assert!(String::from_utf8_lossy(&indonesian.stdout).starts_with("\u{feff}nik;full_name;"));
    let refused = jaminan(&app, &["export", "enrollments", "--regency", "36.03", "--year", "2023", "--delimiter", "|"]);
    assert!(!refused.status.success());

    let empty = TestApp::spawn(app.backend).await;
    let imported = jaminan(&empty, &["import", "enrollments", arg(&xlsx), "--regency", "36.03"]);
    assert!(imported.status.success(), "{imported:?}");
    assert!(String::from_utf8_lossy(&imported.stdout).contains("workers registered:   4"), "{imported:?}");
    let again = jaminan(&empty, &["import", "enrollments", arg(&semicolons), "--regency", "36.03"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("rows already imported: 4"), "{again:?}");
    assert!(empty.stats_differences().await.is_empty());
    empty.cleanup().await;
});

/// The XML of one part of a workbook.
fn part(bytes: &[u8], name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
    text
}

fn check_template(bytes: &[u8]) {
    let (names, range) = sheet_of(bytes);
    assert_eq!(names, ["Peserta", "Daftar"]);
    let header: Vec<_> = range.rows().next().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(
        header,
        [
            "NIK",
            "Nama Lengkap",
            "Pekerjaan",
            "Kecamatan",
            "Tanggal Mulai",
            "Tanggal Selesai",
            "Sumber Dana",
            "Program",
            "Penghasilan",
            "No KPJ"
        ]
    );
    assert_eq!(range.height(), 2, "one example row");
    let example = range.rows().nth(1).unwrap();
    assert_eq!(example[0], Data::String("3603010101900001".into()), "the NIK as text");
    assert!(matches!(example[4], Data::DateTime(_)));
    let sheet = part(bytes, "xl/worksheets/sheet1.xml");
    assert_eq!(sheet.matches("<dataValidation ").count(), 3, "{sheet}");
    assert!(sheet.contains("<formula1>Daftar!$A$1:$A$14</formula1>"), "{sheet}");
    assert!(sheet.contains("Daftar!$B$1:$B$"), "{sheet}");
    let styles = part(bytes, "xl/styles.xml");
    assert!(styles.contains("formatCode=\"@\""), "NIK and KPJ columns formatted as Text");
    let lists = part(bytes, "xl/workbook.xml");
    assert!(lists.contains("state=\"hidden\""), "{lists}");
    let mut book = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    let daftar = book.worksheet_range("Daftar").unwrap();
    assert_eq!(daftar.get_value((0, 0)), Some(&Data::String("Petani".into())));
    assert!(daftar.rows().any(|r| r[1] == Data::String("Balaraja".into())));
}

backend_test!(the_template_opens_has_its_drop_downs_and_imports_as_its_example_only, |app: TestApp| async move {
    let (status, media, bytes) = get(&app, "/templates/enrollments.xlsx?regency=36.03", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(media, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    check_template(&bytes);
    let (status, _, body) = get(&app, "/templates/enrollments.xlsx?regency=99.99", None, None).await;
    assert_eq!((status, code_of(&body).as_str()), (StatusCode::BAD_REQUEST, "BAD_USER_INPUT"));
    let (status, _, _) = get(&app, "/templates/enrollments.xlsx", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let folder = Folder::new();
    let path = folder.path("template.xlsx");
    let output = jaminan(&app, &["export", "template", "--regency", "36.03", arg(&path)]);
    assert!(output.status.success(), "{output:?}");
    let from_cli = std::fs::read(&path).unwrap();
    check_template(&from_cli);

    // Sent back as it is: its example row is refused by name, with nothing else wrong with it.
    let (_, response) = app.import_csv(Some(&app.admin), "36.03", &from_cli, json!({ "partial": true })).await;
    let got = report(&response);
    assert_eq!(
        (got["rowsRead"].as_i64(), got["rowsInError"].as_i64(), got["written"].as_bool()),
        (Some(1), Some(1), Some(false)),
        "{response}"
    );
    assert_eq!(got["errors"].as_array().unwrap().len(), 1, "{response}");
    assert_eq!(got["errors"][0]["column"], "Nama Lengkap");
    assert!(got["errors"][0]["message"].as_str().unwrap().contains("example row"));
    assert_eq!(app.count_rows("worker").await, 0);
});
