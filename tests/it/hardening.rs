//! A server that bad input cannot hurt: request limits, GraphQL over HTTP, hostile inputs, and a
//! fuzz test throwing generated documents at the schema.
use crate::common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{MODERN, TestApp, data, error_code, error_field};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tower::ServiceExt;

/// POST a query with explicit headers; returns status, content type and JSON body.
async fn post(router: &axum::Router, accept: Option<&str>, body: Value) -> (StatusCode, String, Value) {
    let body = body.to_string();
    let mut request = Request::post("/graphql").header("content-type", "application/json");
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = router.clone().oneshot(request.body(Body::from(body)).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, content_type, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn message(response: &Value) -> String {
    response["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

backend_test!(depth_complexity_aliases_directives_and_tokens_are_limited, |app: TestApp| async move {
    let router = &app.router;
    // Depth: 17 nested selections.
    let deep = format!(
        "{{ {} }}",
        "regency(code: \"36.03\") { province { regencies { ".repeat(6) + "code" + &" } } }".repeat(6)
    );
    let (status, _, response) = post(router, MODERN, json!({ "query": deep })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(message(&response).contains("too deep"), "{response}");

    // Complexity: a page of 100 workers each listing 100 workers of its regency.
    let costly = "{ workers(first: 100) { nodes { regency { workers(first: 100) { nodes { id fullName } } } } } }";
    let (status, _, response) = post(router, MODERN, json!({ "query": costly })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&response).contains("complex"), "{response}");
    // The same shape with small pages is fine.
    let small = "{ workers(first: 5) { nodes { regency { workers(first: 5) { nodes { id } } } } } }";
    assert!(data(&app.gql_as(&app.admin, small, json!({})).await)["workers"]["nodes"].is_array());

    // Costs that would overflow a machine word (40^13 for nested children) are refused, not
    // wrapped to a small number nor a panic.
    let nested = format!("{{ coverageStats(year: 2023) {{ {} year {} }} }}", "children { ".repeat(13), "} ".repeat(13));
    let (status, _, response) = post(router, MODERN, json!({ "query": nested })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&response).contains("complex"), "{response}");
    // Nesting far beyond the parser's own limit is a syntax error, not a stack overflow.
    let abyss = format!("{{ {} __typename {} }}", "provinces { ".repeat(3000), "} ".repeat(3000));
    let (status, _, response) = post(router, MODERN, json!({ "query": abyss })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{response}");
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    // Aliases: 51.
    let aliases: String = (0..51).map(|i| format!("a{i}: provinces {{ code }} ")).collect();
    let (status, _, response) = post(router, MODERN, json!({ "query": format!("{{ {aliases} }}") })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&response).contains("aliases"), "{response}");

    // Directives: 11 on one field.
    let directives = " @include(if: true)".repeat(11);
    let (status, _, response) =
        post(router, MODERN, json!({ "query": format!("{{ provinces {directives} {{ code }} }}") })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    // Tokens: 10,001 and more, refused before parsing.
    let tokens = format!("{{ {} }}", "__typename ".repeat(10_000));
    let (status, _, response) = post(router, MODERN, json!({ "query": tokens })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&response).contains("tokens"), "{response}");

    // Page size.
    let response = app.gql_as(&app.admin, "{ workers(first: 101) { nodes { id } } }", json!({})).await;
    assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", "first"));
});

backend_test!(batches_and_non_json_bodies_are_refused, |app: TestApp| async move {
    let batch = json!([{ "query": "{ provinces { code } }" }, { "query": "{ provinces { name } }" }]).to_string();
    let (status, response) = app.post_json(None, &batch).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&response).contains("batch"), "{response}");

    let request = Request::post("/graphql")
        .header("content-type", "text/plain")
        .body(Body::from(json!({ "query": "{ provinces { code } }" }).to_string()))
        .unwrap();
    let (status, response) = app.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");

    let (status, response) = app.post_json(None, "{\"query\": ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
});

backend_test!(graphql_over_http_status_codes_and_media_types, |app: TestApp| async move {
    let router = &app.router;
    // A good query: 200 in the media type asked for; application/json when none is (no Accept,
    // `*/*`, as Apollo Client 3 and fetch send), as GraphQL over HTTP says before its watershed.
    let accepts = [
        (None, "application/json"),
        (Some("*/*"), "application/json"),
        (Some("application/json"), "application/json"),
        (Some("application/*"), "application/json"),
        (Some("text/html"), "application/json"),
        (MODERN, "application/graphql-response+json"),
        (Some("application/graphql-response+json, application/json;q=0.9"), "application/graphql-response+json"),
        (Some("application/json, application/graphql-response+json;q=0.9"), "application/json"),
        (Some("application/graphql-response+json;q=0, */*"), "application/json"),
        (Some("APPLICATION/GRAPHQL-RESPONSE+JSON; charset=utf-8"), "application/graphql-response+json"),
    ];
    for (accept, media_type) in accepts {
        let (status, content_type, response) = post(router, accept, json!({ "query": "{ provinces { code } }" })).await;
        assert_eq!((status, content_type.as_str()), (StatusCode::OK, media_type), "{accept:?}");
        assert_eq!(data(&response)["provinces"].as_array().unwrap().len(), 38);
    }

    // Request errors (syntax, validation, unknown operation, wrong variable type, a limit of this
    // server): 400 without data for application/graphql-response+json; 200 for application/json,
    // whose clients (Apollo Client 3) read any other status as a network error and bury the code.
    let deep = format!(
        "{{ {} }}",
        "regency(code: \"36.03\") { province { regencies { ".repeat(6) + "code" + &" } } }".repeat(6)
    );
    let bad = [
        json!({ "query": "{ provinces { code " }),
        json!({ "query": "{ noSuchField }" }),
        json!({ "query": "query A { provinces { code } }", "operationName": "B" }),
        json!({ "query": "query($y: Int!) { coverageStats(year: $y) { year } }", "variables": { "y": "2023" } }),
        json!({ "query": deep }),
        json!({ "query": "subscription { payoutChanged { id } }" }),
    ];
    for body in bad {
        let (status, content_type, response) = post(router, MODERN, body.clone()).await;
        assert_eq!(
            (status, content_type.as_str()),
            (StatusCode::BAD_REQUEST, "application/graphql-response+json"),
            "{body}"
        );
        assert!(response.get("data").is_none(), "{body}: {response}");
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{body}");
        for accept in [None, Some("*/*"), Some("application/json")] {
            let (status, content_type, response) = post(router, accept, body.clone()).await;
            assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/json"), "{accept:?} {body}");
            assert!(response.get("data").is_none(), "{body}: {response}");
            assert_eq!(error_code(&response), "BAD_USER_INPUT", "{body}");
        }
    }
    // A body that is no GraphQL request at all (no query, or not a string) stays a 400, in the
    // media type asked for.
    for (accept, media_type) in [(None, "application/json"), (MODERN, "application/graphql-response+json")] {
        for body in [json!({ "query": 7 }), json!({ "qeury": "{ __typename }" }), json!({})] {
            let (status, content_type, response) = post(router, accept, body.clone()).await;
            assert_eq!((status, content_type.as_str()), (StatusCode::BAD_REQUEST, media_type), "{accept:?} {body}");
            assert_eq!(error_code(&response), "BAD_USER_INPUT");
        }
    }

    // A field error during execution keeps 200 and data.
    let (status, _, response) =
        post(router, None, json!({ "query": "{ coverageStats(areaCode: \"99\", year: 2023) { year } }" })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_code(&response), "NOT_FOUND");

    // GET runs queries only: a mutation over GET is 405 and changes nothing.
    let mutation = "mutation{registerWorker(input:{nik:\"3603121505850001\",fullName:\"X\",occupation:FISHER,regencyCode:\"36.03\"}){id}}";
    let uri = format!("/graphql?query={}", urlencode(mutation));
    let request =
        Request::get(uri).header("authorization", format!("Bearer {}", app.admin)).body(Body::empty()).unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    assert_eq!(app.count_rows("worker").await, 0);
});

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// Introspection off (the production advice) keeps the schema from anonymous callers, with a
// clear refusal, and GraphiQL working for keyed ones (issue 23).
backend_test!(introspection_off_is_refused_to_anonymous_callers_only, |app: TestApp| async move {
    let introspect = json!({ "query": "{ __schema { queryType { name } } }" });
    let (status, _, response) = post(&app.router, None, introspect.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(data(&response)["__schema"]["queryType"]["name"], "Query");

    let mut http = app.http.clone();
    http.limits.introspection = false;
    let production = app.with_http(http);
    let router = &production.router;
    let hidden = [
        introspect.clone(),
        json!({ "query": "{ t: __type(name: \"Worker\") { name } }" }),
        json!({ "query": "query Q { ...F } fragment F on Query { ... on Query { __schema { types { name } } } }" }),
    ];
    for body in &hidden {
        let (status, _, response) = post(router, None, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}: {response}");
        assert_eq!(response["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{response}");
        assert!(message(&response).contains("introspection is off on this server for anonymous callers"), "{response}");
        assert!(response.get("data").is_none_or(Value::is_null), "{response}");
    }
    let (status, indonesian) = production.in_language("id").post_json(None, &introspect.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(message(&indonesian).contains("introspeksi dimatikan"), "{indonesian}");
    // Anything else runs as before, __typename included; no suggestions for anyone.
    let (status, _, response) =
        post(router, None, json!({ "query": "{ regency(code: \"36.03\") { name __typename } }" })).await;
    assert_eq!((status, &data(&response)["regency"]["__typename"]), (StatusCode::OK, &json!("Regency")));
    let (_, _, response) = post(router, None, json!({ "query": "{ provincs { code } }" })).await;
    assert!(!message(&response).contains("Did you mean"), "no suggestions: {response}");

    // A keyed caller, of any role, introspects: GraphiQL works for them.
    let (viewer, _) =
        jaminan::auth::keys::create_key(&app.state.db, "viewer", jaminan::auth::Role::Viewer, None).await.unwrap();
    for key in [app.admin.as_str(), viewer.as_str()] {
        for body in &hidden {
            let (status, response) = production.post_json(Some(key), &body.to_string()).await;
            assert_eq!(status, StatusCode::OK, "{response}");
            assert!(response.get("errors").is_none(), "{body}: {response}");
        }
        let (_, response) = production.post_json(Some(key), &introspect.to_string()).await;
        assert_eq!(data(&response)["__schema"]["queryType"]["name"], "Query");
    }
    for path in ["/graphql", "/graphiql"] {
        let request = Request::get(path).header("accept", "text/html").body(Body::empty()).unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("jaminan GraphiQL"), "GraphiQL at {path}");
    }
});

backend_test!(slow_requests_are_cancelled_with_a_clear_error, |app: TestApp| async move {
    // A request that must wait: another transaction holds the worker's row (PostgreSQL) or the
    // write lock (SQLite) for longer than the request may run.
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let blocker = {
        use sea_orm::{ConnectionTrait, TransactionTrait};
        let txn = app.state.db.begin().await.unwrap();
        txn.execute_unprepared(&format!("UPDATE worker SET full_name = full_name WHERE id = {worker}")).await.unwrap();
        txn
    };
    let mut http = app.http.clone();
    http.limits.request_timeout_secs = 1;
    let impatient = app.with_http(http).router;
    let update = json!({ "query": format!("mutation {{ updateWorker(id: \"{worker}\", input: {{ fullName: \"Siti A\" }}) {{ id }} }}") });
    let request = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", app.admin))
        .body(Body::from(update.to_string()))
        .unwrap();
    let response = impatient.oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let response: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    blocker.rollback().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{response}");
    assert!(message(&response).contains("cancelled"), "{response}");
    assert!(response["errors"][0]["extensions"]["code"].is_string());

    if app.backend == common::Backend::Postgres {
        use sea_orm::ConnectionTrait;
        let row = app.state.db.query_one_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SHOW statement_timeout",
        ));
        let row = row.await.unwrap().unwrap();
        assert_eq!(row.try_get::<String>("", "statement_timeout").unwrap(), "10s");
        let err = app.state.db.execute_unprepared("SET statement_timeout = '50ms'; SELECT pg_sleep(1)").await;
        let err = jaminan::error::AppError::from(err.unwrap_err());
        assert!(err.text(jaminan::i18n::Lang::En).contains("too long"), "{err:?}");
        app.state.db.execute_unprepared("SET statement_timeout = '10s'").await.unwrap();
    }
});

backend_test!(hostile_inputs_get_clear_errors_and_change_nothing, |app: TestApp| async move {
    let worker = app.register("3603121505850001", "Siti", "36.03", None, "FISHER").await;
    let register = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id fullName } }";
    let base = json!({ "nik": "3603121505850002", "fullName": "Budi", "occupation": "FISHER", "regencyCode": "36.03" });
    let with = |key: &str, value: Value| {
        let mut input = base.clone();
        input[key] = value;
        json!({ "input": input })
    };
    let cases = [
        (with("nik", json!("36031215058500AB")), "nik"),
        (with("nik", json!("3603121505850002' OR '1'='1")), "nik"),
        (with("regencyCode", json!("36.03' OR '1'='1")), "regencyCode"),
        (with("fullName", json!("x".repeat(900_000))), "fullName"),
        (with("fullName", json!("   ")), "fullName"),
    ];
    for (variables, field) in cases {
        let response = app.gql_as(&app.admin, register, variables).await;
        assert_eq!((error_code(&response), error_field(&response)), ("BAD_USER_INPUT", field), "{field}");
    }
    // Dates that are no date, or out of 1900-2100, fail in the Date scalar (which cannot know
    // the input field's name).
    for date in ["3000-01-01", "1985-02-30", "1985-1-1", "yesterday"] {
        let response = app.gql_as(&app.admin, register, with("birthDate", json!(date))).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{date}");
        assert!(message(&response).contains("Date"), "{response}");
    }
    let enroll = "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }";
    let coverage =
        json!({ "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": "2023-01-01" });
    let amounts = [json!("-5000"), json!("99999999999999999999999"), json!("12abc"), json!(1.5)];
    for amount in amounts {
        let mut input = coverage.clone();
        input["declaredMonthlyIncome"] = amount.clone();
        let response = app.gql_as(&app.admin, enroll, json!({ "input": input })).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{amount}");
    }
    let mut far_future = coverage.clone();
    far_future["startsOn"] = json!("9999-01-01");
    assert_eq!(error_code(&app.gql_as(&app.admin, enroll, json!({ "input": far_future })).await), "BAD_USER_INPUT");
    assert_eq!(app.count_rows("worker").await, 1);
    assert_eq!(app.count_rows("coverage").await, 0);

    // SQL metacharacters are data, stored and searched verbatim.
    let name = "O'Brien\"; DROP TABLE worker; -- %_\\";
    let response = app.gql_as(&app.admin, register, with("fullName", json!(name))).await;
    assert_eq!(data(&response)["registerWorker"]["fullName"], name);
    let search = "query($s: String!) { workers(filter: { search: $s }) { totalCount } }";
    for (text, expected) in [("O'Brien\"; DROP", 1), ("%", 1), ("_", 1), ("' OR '1'='1", 0)] {
        let response = app.gql_as(&app.admin, search, json!({ "s": text })).await;
        assert_eq!(data(&response)["workers"]["totalCount"], expected, "{text}");
    }
    assert_eq!(app.count_rows("worker").await, 2);
});

/// Pieces of GraphQL, valid and not, that the generator strings together.
const PIECES: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ":",
    "$",
    "!",
    "...",
    "@include(if: true)",
    "@skip(if: $v)",
    "query",
    "mutation",
    "fragment F on Query",
    "on",
    "provinces",
    "regency",
    "code",
    "name",
    "workers",
    "first:",
    "last:",
    "after:",
    "nodes",
    "edges",
    "node",
    "id",
    "nik",
    "coverageStats",
    "year:",
    "areaCode:",
    "2023",
    "-1",
    "2147483648",
    "1e309",
    "\"36.03\"",
    "\"\\u0000\"",
    "\"\u{1F600}\"",
    "null",
    "true",
    "registerWorker",
    "input:",
    "payouts",
    "auditLog",
    "__schema",
    "__typename",
    "types",
    "a:",
    "b:",
    "#",
    "\n",
    ",",
    "\"",
    "\\",
    "=",
    "|",
    "&",
    "𝔘",
];

fn generated_document(rng: &mut StdRng) -> String {
    let len = rng.random_range(1..40);
    (0..len).map(|_| PIECES[rng.random_range(0..PIECES.len())]).collect::<Vec<_>>().join(" ")
}

fn generated_variables(rng: &mut StdRng) -> Value {
    let pick = |rng: &mut StdRng| -> Value {
        match rng.random_range(0..7) {
            0 => json!(null),
            1 => json!(rng.random::<i64>()),
            2 => json!("36.03"),
            3 => json!([1, "x", null]),
            4 => json!({ "nik": "3603121505850001", "amount": "-1" }),
            5 => json!(f64::MAX),
            _ => json!("x".repeat(rng.random_range(0..2000))),
        }
    };
    json!({ "v": pick(rng), "y": pick(rng), "input": pick(rng) })
}

backend_test!(generated_documents_never_crash_the_server, |app: TestApp| async move {
    let mut rng = StdRng::seed_from_u64(0x6a616d696e616e);
    let workers_before = app.count_rows("worker").await;
    for case in 0..400 {
        let document = generated_document(&mut rng);
        let body = json!({ "query": document, "variables": generated_variables(&mut rng) });
        let key = if case % 2 == 0 { Some(app.admin.as_str()) } else { None };
        let (status, response) = app.post_json(key, &body.to_string()).await;
        assert!(status.is_success() || status.is_client_error(), "{status} for {document}");
        let errors = response["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
        assert!(response.get("data").is_some() || !errors.is_empty(), "{document}: {response}");
        for error in errors {
            let code = error["extensions"]["code"].as_str().unwrap_or_default();
            assert_ne!(code, "INTERNAL_SERVER_ERROR", "{document}: {response}");
            assert!(!code.is_empty(), "{document}: {response}");
        }
    }
    // Malformed JSON bodies and raw bytes.
    for _ in 0..100 {
        let bytes: Vec<u8> = (0..rng.random_range(0..200)).map(|_| rng.random()).collect();
        let request = Request::post("/graphql").header("content-type", "application/json").body(Body::from(bytes));
        let (status, _) = app.send_raw(request.unwrap()).await;
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!(app.count_rows("worker").await, workers_before);
});
