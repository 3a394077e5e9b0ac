//! OpenTelemetry traces: the real server with `OTEL_EXPORTER_OTLP_ENDPOINT` naming a tiny OTLP
//! receiver (POST /v1/traces, protobuf, as a collector takes it). A request's span is named after
//! its GraphQL operation and holds a span for the root resolver, which holds the SQL statements'
//! spans; the spans still batched when the server stops are sent before it exits; and no NIK,
//! key, name or bound value is in any span.
use crate::common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::routing::post;
use common::TestApp;
use common::binary::Server;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};

const NIK: &str = "3603124503850001";
const FULL_NAME: &str = "Siti Traceable";

/// Spans received, as the exporter sent them.
type Received = Arc<Mutex<Vec<Span>>>;

async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| {
            let sink = sink.clone();
            async move {
                let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                let spans = request.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans);
                sink.lock().unwrap().extend(spans);
                // An empty ExportTraceServiceResponse.
                ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, received)
}

fn text(value: &Option<AnyValue>) -> String {
    match value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(Any::StringValue(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|kv| kv.key == key).map(|kv| text(&kv.value))
}

/// Every string a span carries: name, attributes, events and their attributes.
fn everything(span: &Span) -> String {
    let pairs = |kvs: &[KeyValue]| kvs.iter().map(|kv| format!("{}={}", kv.key, text(&kv.value))).collect::<Vec<_>>();
    let mut all = vec![span.name.clone()];
    all.extend(pairs(&span.attributes));
    for event in &span.events {
        all.push(event.name.clone());
        all.extend(pairs(&event.attributes));
    }
    all.join(" ")
}

backend_test!(a_request_is_traced_down_to_its_statements, |app: TestApp| async move {
    let (collector, received) = receiver().await;
    let server = Server::start_with(&app, |serve| {
        serve
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector)
            // Batches leave every minute: what the test sees is what the shutdown flushed.
            .env("OTEL_BSP_SCHEDULE_DELAY", "60000")
            .env("RUST_LOG", "debug");
    })
    .await;
    let url = server.url.clone();
    let client = reqwest::Client::new();
    let call = |query: &str, variables: Value| {
        let request = client
            .post(format!("{url}/graphql"))
            .bearer_auth(&app.admin)
            .json(&json!({ "query": query, "variables": variables }));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let registered = call(
        "mutation RegisterForTrace($nik: String!, $name: String!) { registerWorker(input: { nik: $nik, fullName: $name, \
         regencyCode: \"36.03\", occupation: FISHER }) { id } }",
        json!({ "nik": NIK, "name": FULL_NAME }),
    )
    .await;
    assert!(registered["data"]["registerWorker"]["id"].is_string(), "{registered}");
    // A conflict on the NIK: the failing statement's span names the error, not the values.
    let again = call(
        "mutation RegisterAgain($nik: String!, $name: String!) { registerWorker(input: { nik: $nik, fullName: $name, \
         regencyCode: \"36.03\", occupation: FISHER }) { id } }",
        json!({ "nik": NIK, "name": FULL_NAME }),
    )
    .await;
    assert_eq!(again["errors"][0]["extensions"]["code"], "CONFLICT", "{again}");
    let found =
        call("query LookUpForTrace($nik: String!) { workerByNik(nik: $nik) { id nik } }", json!({ "nik": NIK })).await;
    assert_eq!(found["data"]["workerByNik"]["nik"], NIK, "{found}");
    assert!(received.lock().unwrap().is_empty(), "nothing sent before the batch is due");

    server.stop();

    let spans = received.lock().unwrap().clone();
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    // The request span, named after its operation.
    let request = spans
        .iter()
        .find(|s| s.name == "mutation RegisterForTrace")
        .unwrap_or_else(|| panic!("no request span named after the operation: {names:?}"));
    assert_eq!(attribute(request, "graphql.operation.name").as_deref(), Some("RegisterForTrace"));
    assert_eq!(attribute(request, "path").as_deref(), Some("/graphql"));
    // The root resolver under it.
    let resolver = spans
        .iter()
        .find(|s| s.name == "Mutation.registerWorker")
        .unwrap_or_else(|| panic!("no resolver span: {names:?}"));
    assert_eq!(resolver.parent_span_id, request.span_id, "the resolver's span is the request's child");
    // SQL statements under the resolver, as text with placeholders.
    let descends_from = |span: &Span, ancestor: &Span| {
        let mut parent = by_id.get(span.parent_span_id.as_slice());
        while let Some(p) = parent {
            if p.span_id == ancestor.span_id {
                return true;
            }
            parent = by_id.get(p.parent_span_id.as_slice());
        }
        false
    };
    let statements: Vec<&Span> =
        spans.iter().filter(|s| s.name.starts_with("sea_orm.") && descends_from(s, resolver)).collect();
    assert!(!statements.is_empty(), "no statement spans under the resolver: {names:?}");
    let insert = statements
        .iter()
        .filter_map(|s| attribute(s, "db.statement"))
        .find(|sql| sql.contains("INSERT INTO \"worker\""))
        .unwrap_or_else(|| {
            panic!("no worker INSERT among {:?}", statements.iter().map(|s| everything(s)).collect::<Vec<_>>())
        });
    assert!(insert.contains('$') || insert.contains('?'), "values are bound, not in the text: {insert}");
    // The lookup is traced too, under its own request.
    assert!(names.contains(&"query LookUpForTrace") && names.contains(&"Query.workerByNik"), "{names:?}");

    // Nothing personal or secret anywhere.
    for span in &spans {
        let all = everything(span);
        for secret in [NIK, "1985-03-05", FULL_NAME, app.admin.as_str()] {
            assert!(!all.contains(secret), "{secret:?} in a span: {all}");
        }
    }
});
