//! Bulk enrollment through the GraphQL multipart endpoint, on both databases: the rules per row,
//! all or nothing, partial imports, a file imported twice, file formats, access, interrupted
//! uploads, and statistics equal to a recomputation after every import.
use crate::common;

use std::io::Read;

use futures_util::StreamExt;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, data, error_code};
use jaminan::auth::{self, Role};
use jaminan::services::import::{self, ImportOptions};
use serde_json::{Value, json};

const HEADER: &str = "nik,full_name,occupation,district_code,starts_on,ends_on,funding_source,programs,declared_monthly_income,membership_number";

/// Three new workers of 36.03 (one woman), 2023, with every optional column used somewhere.
fn new_rows() -> String {
    [
        "3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01,2023-12-31,APBD,JKK|JKM,1000000,",
        "3603015505900002,Siti Aminah,street_vendor,36.03.02,2023-01-01,,,JKK JKM JHT,,12345",
        "3603010101800003,Ahmad,FARMER,36.03.01,2023-03-01,2023-12-31,SELF,,2000000,",
    ]
    .join("\n")
}

const DEWI_NIK: &str = "3603014404750004";

fn report(response: &Value) -> &Value {
    &data(response)["importEnrollments"]
}

async fn import(app: &TestApp, file: &str, options: Value) -> Value {
    let (_, body) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), options).await;
    body
}

async fn imports_audited(app: &TestApp) -> i64 {
    app.count_rows("audit_log WHERE entity_type = 'ENROLLMENT_IMPORT'").await
}

async fn covered(app: &TestApp, area: &str, year: i32) -> i64 {
    let response = app
        .gql(
            "query($a: String, $y: Int!) { coverageStats(areaCode: $a, year: $y) { coveredWorkers } }",
            json!({ "a": area, "y": year }),
        )
        .await;
    data(&response)["coverageStats"]["coveredWorkers"].as_i64().unwrap()
}

backend_test!(a_file_imports_once_and_the_second_time_changes_nothing, |app: TestApp| async move {
    let dewi = app.register(DEWI_NIK, "Dewi Lestari", "36.03", Some("36.03.01"), "FARMER").await;
    let file =
        format!("{HEADER}\n{}\n{DEWI_NIK},dewi  LESTARI,FARMER,36.03.01,2023-01-01,2023-12-31,APBD,,,\n", new_rows());

    let first = import(&app, &file, json!({})).await;
    assert_eq!(
        report(&first),
        &json!({
            "rowsRead": 4, "workersRegistered": 3, "workersKnown": 1, "coveragesCreated": 4, "rowsSkipped": 0,
            "rowsInError": 0, "written": true, "fileSha256": report(&first)["fileSha256"], "errors": []
        })
    );
    assert_eq!(report(&first)["fileSha256"].as_str().unwrap().len(), 64);
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (4, 4));
    assert_eq!(imports_audited(&app).await, 1, "one audit entry per import, not per row");
    assert_eq!(app.count_rows("audit_log WHERE operation = 'importEnrollments'").await, 1);
    assert!(app.stats_differences().await.is_empty());
    assert_eq!(covered(&app, "36.03", 2023).await, 4);
    assert_eq!(covered(&app, "36.03.02", 2023).await, 1);

    // The known worker was enrolled, not registered again nor renamed.
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { worker(id: $id) { fullName coverages { regency { code } startsOn } } }",
            json!({ "id": dewi }),
        )
        .await;
    assert_eq!(data(&response)["worker"]["fullName"], "Dewi Lestari");
    assert_eq!(data(&response)["worker"]["coverages"][0]["startsOn"], "2023-01-01");
    // Defaults and optional columns reached the coverage.
    let response = app
        .gql_as(
            &app.admin,
            "{ workers(filter: {search: \"Siti\"}) { nodes { membershipNumber coverages { fundingSource programs declaredMonthlyIncome monthlyPremium endsOn } } } }",
            json!({}),
        )
        .await;
    let siti = &data(&response)["workers"]["nodes"][0];
    assert_eq!(siti["membershipNumber"], "12345");
    assert_eq!(
        siti["coverages"][0],
        json!({ "fundingSource": "APBD", "programs": ["JKK", "JKM", "JHT"], "declaredMonthlyIncome": "1000000", "monthlyPremium": "36800", "endsOn": null })
    );

    let second = import(&app, &file, json!({})).await;
    assert_eq!(report(&second)["rowsSkipped"], 4);
    assert_eq!(report(&second)["workersRegistered"], 0);
    assert_eq!(report(&second)["coveragesCreated"], 0);
    assert_eq!(report(&second)["written"], false);
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (4, 4));
    assert_eq!(imports_audited(&app).await, 1, "a file imported before changes nothing, audit included");
    assert!(app.stats_differences().await.is_empty());
});

backend_test!(spreadsheet_exports_with_bom_semicolons_and_crlf_are_read, |app: TestApp| async move {
    // Columns in another order, optional ones left out, a quoted name holding the delimiter.
    let file = "\u{feff}district_code;NIK;starts_on;Occupation;full_name\r\n\
                36.03.01;3603011505850001;2023-01-01;fisher;\"Budi; the fisher\"\r\n\
                36.03.02;3603015505900002;2023-02-01;WASTE_PICKER;Siti Aminah\r\n\
                ;;;;\r\n";
    let response = import(&app, file, json!({})).await;
    assert_eq!(report(&response)["rowsRead"], 2, "{response}");
    assert_eq!(report(&response)["coveragesCreated"], 2);
    assert_eq!(report(&response)["written"], true);
    let names = app.gql_as(&app.admin, "{ workers { nodes { fullName } } }", json!({})).await;
    assert_eq!(data(&names)["workers"]["nodes"][0]["fullName"], "Budi; the fisher");
    assert!(app.stats_differences().await.is_empty());
});

backend_test!(any_error_row_writes_nothing_unless_partial, |app: TestApp| async move {
    let dewi = app.register(DEWI_NIK, "Dewi Lestari", "36.03", Some("36.03.01"), "FARMER").await;
    app.enroll(&dewi, "36.03", "2023-01-01", Some("2023-12-31")).await;
    let eko = app.register("3603010303830006", "Eko", "36.03", Some("36.03.01"), "FISHER").await;
    app.enroll(&eko, "36.03", "2023-01-01", None).await;
    let holder = app
        .gql_as(
            &app.admin,
            "mutation { registerWorker(input: {nik: \"3603010202820005\", fullName: \"Joko\", regencyCode: \"36.03\", occupation: OTHER, membershipNumber: \"777\"}) { id } }",
            json!({}),
        )
        .await;
    data(&holder);
    let rows: Vec<Vec<u8>> = vec![
        b"3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01,,,,,".to_vec(), // 2: good
        b"123,Bad Nik,FISHER,36.03.01,2023-01-01,,,,,".to_vec(),                   // 3
        b"3603011505850011,Pilot,PILOT,36.03.01,2023-01-01,,,,,".to_vec(),         // 4
        b"3603011505850012,Nowhere,FISHER,36.03.99,2023-01-01,,,,,".to_vec(),      // 5
        b"3603011505850001,Budi Again,FISHER,36.03.01,2024-01-01,,,,,".to_vec(),   // 6: NIK of line 2
        format!("{DEWI_NIK},Dewi Lain,FARMER,36.03.01,2024-01-01,,,,,").into_bytes(), // 7: another name
        b"3603010303830006,Eko,FISHER,36.03.01,2023-06-01,,,,,".to_vec(),          // 8: overlaps
        b"3603010101900013,Too Early,FISHER,36.03.01,1989-01-01,,,,,".to_vec(),    // 9: before birth
        b"3603011505850014,Backwards,FISHER,36.03.01,2023-05-01,2023-04-01,,,,".to_vec(), // 10
        b"3603011505850015,Bad \xff UTF8,FISHER,36.03.01,2023-01-01,,,,,".to_vec(), // 11
        b"3603011505850016,Taken Number,FISHER,36.03.01,2023-01-01,,,,,777".to_vec(), // 12
        b"3603011505850017,Good Too,FARMER,36.03.02,2023-01-01,,,,,".to_vec(),     // 13: good
        b"3603011505850018,No Such Day,FISHER,36.03.01,30/02/2023,,,,,".to_vec(),  // 14
        b"3603011505850019,Only Jkk,FISHER,36.03.01,2023-01-01,,,JKK,,".to_vec(),  // 15
    ];
    let mut file = format!("{HEADER}\n").into_bytes();
    for row in &rows {
        file.extend_from_slice(row);
        file.push(b'\n');
    }
    let before = (app.count_rows("worker").await, app.count_rows("coverage").await, app.count_rows("audit_log").await);
    let expected_errors = json!([
        { "line": 3, "column": "nik", "code": "BAD_USER_INPUT" },
        { "line": 4, "column": "occupation", "code": "BAD_USER_INPUT" },
        { "line": 5, "column": "district_code", "code": "BAD_USER_INPUT" },
        { "line": 6, "column": "nik", "code": "CONFLICT" },
        { "line": 7, "column": "full_name", "code": "CONFLICT" },
        { "line": 8, "column": null, "code": "CONFLICT" },
        { "line": 9, "column": "starts_on", "code": "BAD_USER_INPUT" },
        { "line": 10, "column": "ends_on", "code": "BAD_USER_INPUT" },
        { "line": 11, "column": "full_name", "code": "BAD_USER_INPUT" },
        { "line": 12, "column": "membership_number", "code": "CONFLICT" },
        { "line": 14, "column": "starts_on", "code": "BAD_USER_INPUT" },
        { "line": 15, "column": "programs", "code": "BAD_USER_INPUT" },
    ]);
    let errors_of = |response: &Value| -> Value {
        let errors = report(response)["errors"].as_array().unwrap();
        errors.iter().map(|e| json!({ "line": e["line"], "column": e["column"], "code": e["code"] })).collect()
    };

    let (_, all_or_nothing) = app.import_csv(Some(&app.admin), "36.03", &file, json!({})).await;
    assert_eq!(errors_of(&all_or_nothing), expected_errors, "{all_or_nothing}");
    assert!(
        report(&all_or_nothing)["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["message"].as_str().unwrap().is_empty())
    );
    // A clerk's file has columns, not the API's fields: no message names one.
    let backwards = &report(&all_or_nothing)["errors"][7];
    assert_eq!(backwards["message"], "the end date is before the start date", "{backwards}");
    assert!(
        report(&all_or_nothing)["errors"].as_array().unwrap().iter().all(|e| {
            let message = e["message"].as_str().unwrap();
            !["endsOn", "startsOn", "diedOn", "declaredMonthlyIncome"].iter().any(|field| message.contains(field))
        }),
        "{all_or_nothing}"
    );
    assert_eq!(report(&all_or_nothing)["rowsInError"], 12);
    assert_eq!(report(&all_or_nothing)["rowsRead"], 14);
    assert_eq!(report(&all_or_nothing)["written"], false);
    let after = (app.count_rows("worker").await, app.count_rows("coverage").await, app.count_rows("audit_log").await);
    assert_eq!(after, before, "nothing written, audit included");

    let (_, dry_run) =
        app.import_csv(Some(&app.admin), "36.03", &file, json!({ "dryRun": true, "partial": true })).await;
    assert_eq!(report(&dry_run)["written"], false);
    assert_eq!(report(&dry_run)["workersRegistered"], 2);
    assert_eq!((app.count_rows("worker").await, app.count_rows("audit_log").await), (before.0, before.2));

    let (_, partial) = app.import_csv(Some(&app.admin), "36.03", &file, json!({ "partial": true })).await;
    assert_eq!(errors_of(&partial), expected_errors);
    assert_eq!(report(&partial)["written"], true);
    assert_eq!(report(&partial)["workersRegistered"], 2);
    assert_eq!(report(&partial)["coveragesCreated"], 2);
    assert_eq!(app.count_rows("worker").await, before.0 + 2);
    assert_eq!(app.count_rows("coverage").await, before.1 + 2);
    assert!(app.stats_differences().await.is_empty());
    // Dewi's record is as it was.
    let response =
        app.gql_as(&app.admin, "query($id: ID!) { worker(id: $id) { fullName } }", json!({ "id": dewi })).await;
    assert_eq!(data(&response)["worker"]["fullName"], "Dewi Lestari");
});

backend_test!(files_that_are_not_enrollment_lists_are_refused, |app: TestApp| async move {
    for (file, says) in [
        ("nik,full_name,occupation,starts_on\n3603011505850001,Budi,FISHER,2023-01-01\n", "district_code"),
        (&format!("{HEADER},notes\n")[..], "unknown column"),
        ("", "empty"),
        ("nik,nik,full_name,occupation,district_code,starts_on\n", "twice"),
    ] {
        let (status, response) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(response["errors"][0]["extensions"]["field"], "file");
        assert!(response["errors"][0]["message"].as_str().unwrap().contains(says), "{response}");
    }
    let (_, header_only) = app.import_csv(Some(&app.admin), "36.03", format!("{HEADER}\n").as_bytes(), json!({})).await;
    assert_eq!(report(&header_only)["rowsRead"], 0);
    assert_eq!(report(&header_only)["written"], false);

    let mut http = app.http.clone();
    http.limits.max_upload_bytes = 100;
    let small = app.with_http(http);
    let file = format!("{HEADER}\n{}\n", new_rows());
    let (status, response) = small.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("100 bytes"));

    let (_, unknown) = app.import_csv(Some(&app.admin), "99.99", file.as_bytes(), json!({})).await;
    assert_eq!(error_code(&unknown), "BAD_USER_INPUT");
    assert_eq!(app.count_rows("worker").await, 0);
});

backend_test!(imports_are_for_operators_within_their_scope, |app: TestApp| async move {
    let key = |role: Role, scope: Option<&str>| {
        let db = app.state.db.clone();
        let scope = scope.map(str::to_owned);
        async move { auth::keys::create_key(&db, "desk", role, scope).await.unwrap().0 }
    };
    let file = format!("{HEADER}\n{}\n", new_rows());
    let (status, anonymous) = app.import_csv(None, "36.03", file.as_bytes(), json!({})).await;
    assert_eq!((status, error_code(&anonymous)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"));
    let viewer = key(Role::Viewer, None).await;
    let (status, response) = app.import_csv(Some(&viewer), "36.03", file.as_bytes(), json!({})).await;
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let elsewhere = key(Role::Operator, Some("36.71")).await;
    let (_, response) = app.import_csv(Some(&elsewhere), "36.03", file.as_bytes(), json!({})).await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    assert_eq!(app.count_rows("worker").await, 0);

    // A 36.03 operator: a new worker living in 36.71 is not its to register, and a worker
    // registered by 36.71 is not its to see: both FORBIDDEN for the domicile, as registerWorker
    // answers before it looks a NIK up (a CONFLICT would tell the NIK is registered).
    app.register("3671014404750004", "Rina", "36.71", Some("36.71.01"), "FARMER").await;
    let operator = key(Role::Operator, Some("36.03")).await;
    let file = format!(
        "{HEADER}\n{}\n3671011505850021,Lives Elsewhere,FISHER,36.71.01,2023-01-01,,,,,\n3671014404750004,Rina,FARMER,36.71.01,2023-01-01,,,,,\n",
        new_rows()
    );
    let (_, response) = app.import_csv(Some(&operator), "36.03", file.as_bytes(), json!({ "partial": true })).await;
    let errors = &report(&response)["errors"];
    assert_eq!((errors[0]["line"].as_i64(), errors[0]["code"].as_str()), (Some(5), Some("FORBIDDEN")));
    assert_eq!((errors[1]["line"].as_i64(), errors[1]["code"].as_str()), (Some(6), Some("FORBIDDEN")));
    assert_eq!(report(&response)["coveragesCreated"], 3);
    assert!(app.stats_differences().await.is_empty());
});

/// A multipart upload whose body sends its first part, then nothing, forever.
fn endless_upload(key: Option<&str>) -> Request<Body> {
    let boundary = "------------------------jaminanTestBoundary";
    let first = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n",
        json!({ "query": "{ provinces { code } }" })
    );
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first.into_bytes()) })
        .chain(futures_util::stream::pending());
    let mut request =
        Request::post("/graphql").header("content-type", format!("multipart/form-data; boundary={boundary}"));
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    request.body(Body::from_stream(stream)).unwrap()
}

// Uploads are spooled to disk as they arrive (up to --max-upload-bytes): only a key that may
// import is read that far. Anyone else is answered at once, without the body being read: the
// body here never ends, so an answer at all shows it was not read.
backend_test!(uploads_are_refused_before_their_body_is_read, |app: TestApp| async move {
    let viewer = auth::keys::create_key(&app.state.db, "desk", Role::Viewer, None).await.unwrap().0;
    let answer = |request| tokio::time::timeout(std::time::Duration::from_secs(5), app.send(request));
    let (status, response) = answer(endless_upload(None)).await.expect("answered before the body ends");
    assert_eq!((status, error_code(&response)), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "{response}");
    let (status, response) = answer(endless_upload(Some(&viewer))).await.expect("answered before the body ends");
    assert_eq!((status, error_code(&response)), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{response}");
    // An operator's upload is read (and here never ends).
    let operator = auth::keys::create_key(&app.state.db, "desk", Role::Operator, None).await.unwrap().0;
    let read = tokio::time::timeout(std::time::Duration::from_millis(300), app.send(endless_upload(Some(&operator))));
    assert!(read.await.is_err(), "an operator's upload is read");
});

/// A source that breaks after some bytes: an upload or a disk that fails mid-file.
struct Broken(std::io::Cursor<Vec<u8>>, usize);

impl Read for Broken {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.position() as usize >= self.1 {
            return Err(std::io::Error::other("connection reset"));
        }
        let end = buf.len().min(self.1 - self.0.position() as usize);
        self.0.read(&mut buf[..end])
    }
}

backend_test!(an_interrupted_file_leaves_nothing_written, |app: TestApp| async move {
    // Enough rows that several chunks are staged before the source breaks.
    let mut file = format!("{HEADER}\n");
    for n in 0..20_000 {
        let (day, serial) = (10 + n / 9_000, 1 + n % 9_000);
        file.push_str(&format!("360301{day}0585{serial:04},Worker {n},FISHER,36.03.01,2023-01-01,,,,,\n"));
    }
    let bytes = file.into_bytes();
    let cut = bytes.len() * 3 / 4;
    let caller = Some(jaminan::auth::Actor::command_line());
    let options = ImportOptions { keep_errors: 10, ..ImportOptions::default() };
    let source = Box::new(Broken(std::io::Cursor::new(bytes.clone()), cut));
    let result = import::import_enrollments(&app.state, &caller, "36.03", source, options, Arc::new(|_| {})).await;
    let err = result.expect_err("a broken source fails the import");
    assert_eq!(err.code(), "BAD_USER_INPUT");
    assert!(err.text(jaminan::i18n::Lang::En).contains("could not be read"), "{err:?}");
    assert_eq!((app.count_rows("worker").await, app.count_rows("coverage").await), (0, 0));
    assert!(app.stats_differences().await.is_empty());

    // An upload cut off before its end never reaches the import.
    let mut body = Vec::new();
    body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n");
    body.extend_from_slice(br#"{"query":"mutation($f: Upload!) { importEnrollments(regencyCode: \"36.03\", file: $f) { written } }","variables":{"f":null}}"#);
    body.extend_from_slice(
        b"\r\n--b\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{\"0\": [\"variables.f\"]}\r\n",
    );
    body.extend_from_slice(b"--b\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.csv\"\r\n\r\n");
    body.extend_from_slice(&bytes[..cut]);
    let request = Request::post("/graphql")
        .header("content-type", "multipart/form-data; boundary=b")
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::from(body))
        .unwrap();
    let (status, response) = app.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(app.count_rows("worker").await, 0);

    // The whole file goes in, and the statistics follow.
    let (_, response) = app.import_csv(Some(&app.admin), "36.03", &bytes, json!({})).await;
    assert_eq!(report(&response)["coveragesCreated"], 20_000);
    assert_eq!(covered(&app, "36.03.01", 2023).await, 20_000);
    assert!(app.stats_differences().await.is_empty());
});

/// The list as a village head makes it in Excel set to Indonesian: Indonesian headers and a `No`
/// column, occupations and kecamatan by name, dates and amounts written the Indonesian way, the
/// empty column Excel leaves at the end of each line, CRLF.
pub const CLERK_FILE: &str = "No;NIK;Nama Lengkap;Pekerjaan;Kecamatan;Tanggal Mulai;Tanggal Selesai;Sumber Dana;Program;Penghasilan;No KPJ;\r\n\
    1;3603011505850001;Budi Santoso;Pemulung;Balaraja;01/07/2023;1-Jan-24;APBD;JKK JKM;1.500.000;;\r\n\
    2;3603015505900002;Siti Aminah;Pedagang kaki lima;pasar  KEMIS;1 Juli 2023;31-12-2023;;;Rp1.500.000;12345;\r\n\
    3;3603010101800003;Ahmad;nelayan;36.03.05;2023-07-01;;Mandiri;;Rp 2.000.000;;\r\n";

backend_test!(a_clerks_list_in_indonesian_imports_in_one_go, |app: TestApp| async move {
    let (_, dry) = app.import_csv(Some(&app.admin), "36.03", CLERK_FILE.as_bytes(), json!({ "dryRun": true })).await;
    assert_eq!(report(&dry)["errors"], json!([]), "{dry}");
    assert_eq!((report(&dry)["rowsRead"].as_i64(), report(&dry)["coveragesCreated"].as_i64()), (Some(3), Some(3)));
    assert_eq!(report(&dry)["written"], false);
    assert_eq!(app.count_rows("worker").await, 0);

    let (_, real) = app.import_csv(Some(&app.admin), "36.03", CLERK_FILE.as_bytes(), json!({})).await;
    assert_eq!(report(&real)["errors"], json!([]), "{real}");
    assert_eq!(
        (report(&real)["workersRegistered"].as_i64(), report(&real)["written"].as_bool()),
        (Some(3), Some(true))
    );
    let response = app
        .gql_as(
            &app.admin,
            "{ workers(first: 10) { nodes { nik occupation membershipNumber district { code } \
               coverages { startsOn endsOn fundingSource programs declaredMonthlyIncome } } } }",
            json!({}),
        )
        .await;
    let mut workers = data(&response)["workers"]["nodes"].as_array().unwrap().clone();
    workers.sort_by_key(|w| w["nik"].as_str().unwrap().to_owned());
    let coverage = |starts: &str, ends: Value, income: &str| json!([{ "startsOn": starts, "endsOn": ends, "fundingSource": "APBD", "programs": ["JKK", "JKM"], "declaredMonthlyIncome": income }]);
    let mut self_funded = coverage("2023-07-01", Value::Null, "2000000");
    self_funded[0]["fundingSource"] = json!("SELF");
    assert_eq!(
        Value::Array(workers),
        json!([
            { "nik": "3603010101800003", "occupation": "FISHER", "membershipNumber": null, "district": { "code": "36.03.05" },
              "coverages": self_funded },
            { "nik": "3603011505850001", "occupation": "WASTE_PICKER", "membershipNumber": null, "district": { "code": "36.03.01" },
              "coverages": coverage("2023-07-01", json!("2024-01-01"), "1500000") },
            { "nik": "3603015505900002", "occupation": "STREET_VENDOR", "membershipNumber": "12345", "district": { "code": "36.03.12" },
              "coverages": coverage("2023-07-01", json!("2023-12-31"), "1500000") },
        ])
    );
    assert!(app.stats_differences().await.is_empty());
});

/// Errors as the GraphQL report gives them: line, column, value, code.
fn error_cells(response: &Value) -> Vec<(i64, Value, Value, String)> {
    report(response)["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{response}"))
        .iter()
        .map(|e| {
            (
                e["line"].as_i64().unwrap(),
                e["column"].clone(),
                e["value"].clone(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

backend_test!(every_error_of_a_row_is_reported_with_its_line_in_crlf_files, |app: TestApp| async move {
    let file = "NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai;Tanggal Selesai;Program;Penghasilan;\r\n\
        3603011505850001;Budi Santoso;Pemulung;Balaraja;01/07/2023;;;;\r\n\
        123;Bad;PILOT;Nowhere;31/02/2023;;;1,5 juta;\r\n\
        \r\n\
        3603011505850002;Eko;FISHER;Jambe;01/07/2023;01/06/2023;JKK;0;\r\n\
        3603011505850003;Joko;FISHER;Jambe;;;;;\r\n";
    let (_, response) = app.in_language("id").import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    let bad = "BAD_USER_INPUT".to_owned();
    assert_eq!(
        error_cells(&response),
        [
            (3, json!("NIK"), json!("123"), bad.clone()),
            (3, json!("Pekerjaan"), json!("PILOT"), bad.clone()),
            (3, json!("Kecamatan"), json!("Nowhere"), bad.clone()),
            (3, json!("Penghasilan"), json!("1,5 juta"), bad.clone()),
            (3, json!("Tanggal Mulai"), json!("31/02/2023"), bad.clone()),
            (5, json!("Program"), json!("JKK"), bad.clone()),
            (5, json!("Penghasilan"), json!("0"), bad.clone()),
            (5, json!("Tanggal Selesai"), json!("01/06/2023"), bad.clone()),
            (6, json!("Tanggal Mulai"), Value::Null, bad.clone()),
        ]
    );
    assert_eq!((report(&response)["rowsRead"].as_i64(), report(&response)["rowsInError"].as_i64()), (Some(4), Some(3)));
    assert_eq!(report(&response)["written"], false);
    let messages: Vec<&str> =
        report(&response)["errors"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert!(messages[2].contains("bukan nama kecamatan di Kabupaten Tangerang (36.03)"), "{messages:?}");
    assert!(messages[4].contains("Tanggal Mulai adalah tanggal, hari lebih dulu"), "{messages:?}");
    assert!(messages[8].contains("Tanggal Mulai wajib diisi"), "{messages:?}");
    assert_eq!(app.count_rows("worker").await, 0);

    // The same in English.
    let (_, english) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    assert!(
        report(&english)["errors"][1]["message"].as_str().unwrap().contains("\"PILOT\" is not one of FARMER (Petani)")
    );
});

backend_test!(lines_count_the_line_breaks_inside_quoted_cells, |app: TestApp| async move {
    for end in ["\n", "\r\n"] {
        let file = [
            "nik,full_name,occupation,district_code,starts_on,programs",
            "3603011505850001,Budi,FISHER,36.03.01,2023-01-01,\"JKK",
            "JKM\"",
            "3603011505850002,Eko,FISHER,36.03.01,2023-13-01,\"JKK",
            "",
            "JKM\"",
            "3603011505850003,Joko,PILOT,36.03.01,2023-01-01,",
        ]
        .join(end);
        let (_, response) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({ "dryRun": true })).await;
        let lines: Vec<(i64, Value)> =
            error_cells(&response).into_iter().map(|(line, column, ..)| (line, column)).collect();
        assert_eq!(lines, [(4, json!("starts_on")), (7, json!("occupation"))], "{end:?}: {response}");
        assert_eq!(report(&response)["coveragesCreated"], 1);
    }
});

backend_test!(files_excel_damaged_are_refused_whole, |app: TestApp| async move {
    let header = "No;NIK;Nama;Pekerjaan;Kecamatan;Tanggal Mulai;No KPJ";
    let scientific = format!(
        "{header}\r\n1;3603011505850001;Budi;FISHER;Balaraja;01/07/2023;\r\n2;3,60313E+15;Siti;FISHER;Balaraja;01/07/2023;\r\n\
         3;3603011505850003;Eko;FISHER;Balaraja;01/07/2023;1,23457E+19\r\n"
    );
    // Twenty NIKs, every one ending in 0: valid NIKs, but not a list Excel left alone.
    let mut truncated = format!("{header}\n");
    for n in 1..=20 {
        truncated.push_str(&format!("{n};360301150585{:04};Worker {n};FISHER;Balaraja;01/07/2023;\n", n * 10));
    }
    for (file, says_en, says_id) in [
        (
            &scientific,
            "2 NIK or membership-number cell(s) hold a number in scientific notation (line 3, NIK: \"3,60313E+15\")",
            "format kolom NIK dan nomor kepesertaan sebagai Teks",
        ),
        (&truncated, "20 of its 20 NIKs end in 0", "format kolom NIK sebagai Teks"),
    ] {
        for options in [json!({}), json!({ "partial": true }), json!({ "dryRun": true })] {
            let (_, response) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), options).await;
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
            assert_eq!(response["errors"][0]["extensions"]["field"], "file");
            let message = response["errors"][0]["message"].as_str().unwrap();
            assert!(message.contains(says_en) && message.contains("format the NIK"), "{message}");
        }
        let (_, response) =
            app.in_language("id").import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("dirusak Excel") && message.contains(says_id), "{message}");
    }
    assert_eq!(
        (app.count_rows("worker").await, app.count_rows("coverage").await, app.count_rows("audit_log").await),
        (0, 0, 0)
    );
    assert!(app.stats_differences().await.is_empty());
});
