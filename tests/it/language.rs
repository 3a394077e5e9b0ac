//! The users' language (issue 15, item 5): error messages, the import report and the CLI's
//! output in Bahasa Indonesia when `Accept-Language` (or `--lang id`) prefers it, English
//! otherwise; `extensions.code` the same in both; Indonesian numbers and dates (20 Juni 2023,
//! Rp1.000.000.000, 1.048.576).
use crate::common;

use std::process::{Command, Output};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, error_code, error_field};
use jaminan::auth::throttle::Throttle;
use jaminan::config::RateLimits;
use jaminan::config::TrustedMode;
use jaminan::graphql::admission::trusted_documents::TrustedDocuments;
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";
const ENROLL: &str = "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }";

fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or_else(|| panic!("no error message in {response}"))
}

backend_test!(field_errors_follow_accept_language_and_keep_their_codes, |app: TestApp| async move {
    let bad_nik =
        json!({ "input": { "nik": "123", "fullName": "Budi", "regencyCode": "36.03", "occupation": "FISHER" } });
    let english = app.gql_as(&app.admin, REGISTER, bad_nik.clone()).await;
    assert_eq!(message(&english), "a NIK has exactly 16 digits");
    for header in ["id-ID", "id", "in", "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", "fr, id;q=0.5"] {
        let indonesian = app.in_language(header).gql_as(&app.admin, REGISTER, bad_nik.clone()).await;
        assert_eq!(message(&indonesian), "NIK terdiri atas tepat 16 angka", "{header}");
        let extensions = |response: &Value| {
            let mut extensions = response["errors"][0]["extensions"].clone();
            extensions["requestId"] = Value::Null;
            extensions
        };
        assert_eq!(extensions(&indonesian), extensions(&english));
        assert_eq!((error_code(&indonesian), error_field(&indonesian)), ("BAD_USER_INPUT", "nik"));
    }
    for header in ["en;q=0.9, id;q=0.8", "en", "fr", "id;q=0", "!!garbage!!"] {
        let response = app.in_language(header).gql_as(&app.admin, REGISTER, bad_nik.clone()).await;
        assert_eq!(message(&response), "a NIK has exactly 16 digits", "{header}");
    }

    // Dates as Indonesians write them.
    let id = app.in_language("id-ID");
    let worker = app.register("3603011505850001", "Budi Santoso", "36.03", Some("36.03.01"), "FISHER").await;
    let coverage = app.enroll(&worker, "36.03", "2023-06-20", Some("2023-12-31")).await;
    let again = json!({ "input": { "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": "2023-07-01" } });
    let english = app.gql_as(&app.admin, ENROLL, again.clone()).await;
    let indonesian = id.gql_as(&app.admin, ENROLL, again).await;
    assert_eq!(
        message(&english),
        format!("the worker already has coverage {coverage} with this regency from 2023-06-20 to 2023-12-31")
    );
    assert_eq!(
        message(&indonesian),
        format!(
            "pekerja sudah memiliki kepesertaan {coverage} dengan kabupaten/kota ini dari 20 Juni 2023 sampai 31 Desember 2023"
        )
    );
    assert_eq!((error_code(&english), error_code(&indonesian)), ("CONFLICT", "CONFLICT"));

    // Rupiah as Indonesians write them.
    let rich = json!({ "input": { "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": "2024-01-01", "declaredMonthlyIncome": "0" } });
    let indonesian = id.gql_as(&app.admin, ENROLL, rich).await;
    assert_eq!(message(&indonesian), "penghasilan bulanan yang dilaporkan harus antara Rp1 dan Rp1.000.000.000");
    assert_eq!((error_code(&indonesian), error_field(&indonesian)), ("BAD_USER_INPUT", "declaredMonthlyIncome"));

    // Anonymous where a key is needed.
    let response = id.gql("{ workers { totalCount } }", json!({})).await;
    assert_eq!(message(&response), "kunci API diperlukan: kirim `Authorization: Bearer <kunci>`");
    assert_eq!(error_code(&response), "UNAUTHENTICATED");

    // async-graphql's own validation stays English, with our code.
    let response = id.gql("{ noSuchField }", json!({})).await;
    assert!(message(&response).contains("noSuchField"), "{response}");
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
});

backend_test!(refusals_before_execution_follow_accept_language, |app: TestApp| async move {
    let id = app.in_language("id-ID");
    // A body that is not JSON.
    let (status, english) = app.post_json(None, "{not json").await;
    let (status_id, indonesian) = id.post_json(None, "{not json").await;
    assert_eq!((status, status_id), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    assert!(message(&english).starts_with("the body is not a GraphQL request: "), "{english}");
    assert!(message(&indonesian).starts_with("isi permintaan bukan permintaan GraphQL: "), "{indonesian}");
    assert_eq!((error_code(&english), error_code(&indonesian)), ("BAD_USER_INPUT", "BAD_USER_INPUT"));

    // A mutation over GET.
    let get = || {
        Request::get("/graphql?query=mutation%7BrecordDeath(workerId%3A%221%22%2CdiedOn%3A%222023-01-01%22)%7Bid%7D%7D")
            .body(Body::empty())
            .unwrap()
    };
    let (status, english) = app.send(get()).await;
    let (status_id, indonesian) = id.send(get()).await;
    assert_eq!((status, status_id), (StatusCode::METHOD_NOT_ALLOWED, StatusCode::METHOD_NOT_ALLOWED));
    assert_eq!(message(&english), "mutations must be sent with POST");
    assert_eq!(message(&indonesian), "mutasi harus dikirim dengan POST");
    assert_eq!(error_code(&indonesian), "BAD_USER_INPUT");

    // Not JSON by its media type; too large a body (Indonesian thousands).
    let request = Request::post("/graphql").header("content-type", "text/plain").body(Body::from("{}")).unwrap();
    let (status, response) = id.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(message(&response).starts_with("kirim permintaan GraphQL sebagai JSON"), "{response}");
    let huge = format!("{{\"query\": \"{}\"}}", " ".repeat(1_100_000));
    let (status, response) = id.post_json(None, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(message(&response), "isi permintaan melebihi 1.048.576 bita");

    // An unknown key.
    let (status, response) = id.post_json(Some("jmn_nope"), r#"{"query": "{ __typename }"}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert_eq!(message(&response), "kunci API tidak dikenal atau sudah dicabut", "{response}");

    // A spent budget: 429, code RATE_LIMITED, in Indonesian.
    let mut state = app.state.clone();
    state.throttle = Arc::new(Throttle::new(&RateLimits { key_requests_per_minute: 1, ..RateLimits::DEFAULT }));
    let limited = app.with_state(state).in_language("id");
    let query = r#"{"query": "{ __typename }"}"#;
    assert_eq!(limited.post_json(Some(&app.admin), query).await.0, StatusCode::OK);
    let (status, response) = limited.post_json(Some(&app.admin), query).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(error_code(&response), "RATE_LIMITED");
    assert_eq!(message(&response), "terlalu banyak permintaan dengan kunci API ini; kurangi frekuensinya");

    // Only trusted documents: refused before parsing, in Indonesian, with the same code.
    let mut http = app.http.clone();
    http.trusted = Arc::new(TrustedDocuments::parse("{}", TrustedMode::Only).unwrap());
    let only = app.with_http(http);
    let (status, english) = only.post_json_accepting(None, query, common::MODERN).await;
    let (_, indonesian) = only.in_language("id").post_json(None, query).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!((error_code(&english), error_code(&indonesian)), ("TRUSTED_DOCUMENTS_ONLY", "TRUSTED_DOCUMENTS_ONLY"));
    assert!(message(&indonesian).starts_with("server ini hanya menjalankan dokumen tepercaya"), "{indonesian}");
    let (_, response) = only.in_language("id").post_json(None, r#"{"documentId": "sha256:abc"}"#).await;
    assert_eq!(error_code(&response), "PERSISTED_QUERY_NOT_FOUND");
    assert_eq!(message(&response), "PersistedQueryNotFound: dokumen tepercaya \"sha256:abc\" tidak ditemukan");
});

const HEADER: &str = "nik,full_name,occupation,district_code,starts_on";

backend_test!(the_import_report_follows_accept_language, |app: TestApp| async move {
    let file = format!(
        "{HEADER}\n3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01\n\
         3603015505900002,Siti Aminah,STREET_VENDOR,36.03.02,20-13-2023\n\
         3603011505850003,Ahmad,FISHER,36.03.99,2023-01-01\n\
         3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01\n"
    );
    let (status, english) = app.import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    let (_, indonesian) =
        app.in_language("id-ID").import_csv(Some(&app.admin), "36.03", file.as_bytes(), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{english}");
    let report = |response: &Value| response["data"]["importEnrollments"].clone();
    let messages = |response: &Value| -> Vec<String> {
        report(response)["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        messages(&english),
        [
            "starts_on is a date, day first: 01/07/2023, 01-07-2023, 1 Juli 2023, 1-Jul-23 or 2023-07-01 (got \"20-13-2023\")",
            "neither a district code (e.g. 36.03.01) nor the name of a district of Kabupaten Tangerang (36.03)",
            "this NIK is on an earlier line of the file",
        ]
    );
    assert_eq!(
        messages(&indonesian),
        [
            "starts_on adalah tanggal, hari lebih dulu: 01/07/2023, 01-07-2023, 1 Juli 2023, 1-Jul-23 atau 2023-07-01 (tertulis \"20-13-2023\")",
            "bukan kode kecamatan (contoh: 36.03.01) dan bukan nama kecamatan di Kabupaten Tangerang (36.03)",
            "NIK ini sudah tercantum pada baris sebelumnya dalam berkas",
        ]
    );
    // Everything but the messages is the same.
    let without_messages = |response: &Value| {
        let mut report = report(response);
        for error in report["errors"].as_array_mut().unwrap() {
            error["message"] = Value::Null;
        }
        report
    };
    assert_eq!(without_messages(&english), without_messages(&indonesian));
    assert_eq!(report(&indonesian)["errors"][1]["code"], "BAD_USER_INPUT");
    assert_eq!(report(&indonesian)["errors"][2]["code"], "CONFLICT");

    // A file refused as a whole is a GraphQL error, in Indonesian too.
    let (_, response) =
        app.in_language("id").import_csv(Some(&app.admin), "36.03", b"nik,nama,alamat\n", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(message(&response).starts_with("kolom \"alamat\" pada baris judul tidak dikenal"), "{response}");
});

fn jaminan(app: &TestApp, args: &[&str], lang: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jaminan"));
    command.args(args).env("DATABASE_URL", app.database_url()).env("RUST_LOG", "warn").env_remove("JAMINAN_LANG");
    if let Some(lang) = lang {
        command.env("JAMINAN_LANG", lang);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

backend_test!(the_cli_speaks_indonesian_with_lang_id, |app: TestApp| async move {
    let folder = std::env::temp_dir().join(format!("jaminan-language-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).unwrap();
    let list = folder.join("list.csv");
    std::fs::write(
        &list,
        format!("{HEADER}\n3603011505850001,Budi Santoso,FISHER,36.03.01,2023-01-01\n3603015505900002,Siti,FISHER,36.03.01,2023-13-01\n"),
    )
    .unwrap();
    // Something in the audit log, for `audit verify` to name a head.
    app.register("3603015505900009", "Sri Wahyuni", "36.03", Some("36.03.01"), "FISHER").await;
    let path = list.to_str().unwrap();
    let import = ["import", "enrollments", path, "--regency", "36.03", "--dry-run"];

    let english = jaminan(&app, &import, None);
    assert!(!english.status.success());
    assert!(text(&english.stdout).contains("rows in error:        1"), "{}", text(&english.stdout));
    assert!(text(&english.stderr).contains("error: 1 rows in error"), "{}", text(&english.stderr));

    let args: Vec<&str> = ["--lang", "id"].iter().chain(import.iter()).copied().collect();
    let indonesian = jaminan(&app, &args, None);
    let (stdout, stderr) = (text(&indonesian.stdout), text(&indonesian.stderr));
    assert_eq!(indonesian.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("baris dibaca:          2"), "{stdout}");
    assert!(stdout.contains("baris bermasalah:      1"), "{stdout}");
    assert!(stdout.contains("uji coba (dry run): tidak ada yang ditulis"), "{stdout}");
    assert!(stderr.contains("kesalahan: 1 baris bermasalah"), "{stderr}");
    // The error file: the header is for programs, the messages for people.
    let errors = std::fs::read_to_string(folder.join("list.errors.csv")).unwrap();
    assert!(errors.starts_with("line,column,value,code,message\n"), "{errors}");
    assert!(
        errors.contains("3,starts_on,2023-13-01,BAD_USER_INPUT,\"starts_on adalah tanggal, hari lebih dulu"),
        "{errors}"
    );

    // The flag may follow the subcommand; JAMINAN_LANG works as well.
    let after: Vec<&str> = import.iter().copied().chain(["--lang", "id"]).collect();
    assert!(text(&jaminan(&app, &after, None).stdout).contains("baris dibaca:"));
    app.seal_audit().await;
    let verify = jaminan(&app, &["audit", "verify"], Some("id"));
    let stdout = text(&verify.stdout);
    assert!(verify.status.success(), "{}", text(&verify.stderr));
    assert!(stdout.starts_with("log audit utuh: "), "{stdout}");
    assert!(stdout.contains(" entri diperiksa dalam ") && stdout.contains(" detik"), "{stdout}");
    assert!(stdout.contains("kepala (head): entri "), "{stdout}");
    let verify = jaminan(&app, &["audit", "verify", "--expect-head", "nonsense"], Some("id"));
    assert!(text(&verify.stderr).contains("kesalahan: --expect-head berisi ID:HASH"), "{}", text(&verify.stderr));
    let english = jaminan(&app, &["audit", "verify"], None);
    assert!(text(&english.stdout).starts_with("audit log intact: "), "{}", text(&english.stdout));
    let _ = std::fs::remove_dir_all(&folder);
});
