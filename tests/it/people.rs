//! People, not shared keys: the person in every audit entry (a token's subject, or the owner of
//! the key), `auditLog(actor:)`, four-eyes between people whatever key or token they use
//! (`--four-eyes strict` too), and subscriptions that end with their token unless it is renewed.
//! The tests with tokens run the real provider of tests/it/oidc.rs.
use crate::common;
use crate::oidc::{Provider, accepting};

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::ws::WsClient;
use common::{TestApp, data, error_code};
use jaminan::auth::keys::{self, KeyTerms};
use jaminan::auth::{Role, oidc};
use jaminan::config::FourEyes;
use jaminan::entities::payout;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

/// A key of `owner` (None: a key of no one's) with `role` in 36.03 (ADMIN: the country).
async fn key_of(app: &TestApp, name: &str, role: Role, owner: Option<&str>) -> String {
    let scope = (role != Role::Admin).then(|| "36.03".to_owned());
    let terms = KeyTerms { owner: owner.map(str::to_owned), expires_at: None };
    keys::create_key_with(&app.state.db, name, role, scope, terms).await.unwrap().0
}

/// A worker of 36.03 covered since 2020, and a work-accident claim for them submitted with
/// `credential`; the payout's id.
async fn submitted_by(app: &TestApp, credential: &str, serial: u32) -> String {
    let worker = app.register(&format!("36031215058{serial:05}"), "Pekerja", "36.03", None, "FISHER").await;
    app.enroll(&worker, "36.03", "2020-01-01", None).await;
    let response = app
        .gql_as(
            credential,
            "mutation($input: SubmitPayoutInput!) { submitPayout(input: $input) { id } }",
            json!({ "input": { "workerId": worker, "benefit": "WORK_ACCIDENT_CARE", "incidentOn": "2024-03-01",
                "amount": "1500000", "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE" } }),
        )
        .await;
    data(&response)["submitPayout"]["id"].as_str().expect("payout id").to_owned()
}

async fn act(app: &TestApp, credential: &str, mutation: &str, payout: &str) -> Value {
    let query = format!("mutation($id: ID!) {{ {mutation}(id: $id) {{ status }} }}");
    app.gql_as(credential, &query, json!({ "id": payout })).await
}

/// Refused by four-eyes, saying why; the payout's status unchanged.
async fn refused(app: &TestApp, credential: &str, mutation: &str, payout: &str, says: &str) {
    let before = stored(app, payout).await.status;
    let response = act(app, credential, mutation, payout).await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{mutation}: {response}");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(says), "{mutation}: {message}");
    assert_eq!(stored(app, payout).await.status, before);
}

async fn done(app: &TestApp, credential: &str, mutation: &str, payout: &str) {
    data(&act(app, credential, mutation, payout).await);
}

async fn stored(app: &TestApp, payout: &str) -> payout::Model {
    payout::Entity::find_by_id(payout.parse::<i64>().unwrap()).one(&app.state.db).await.unwrap().unwrap()
}

const BY_ACTOR: &str = "query($actor: String) { auditLog(actor: $actor, first: 100) { \
    nodes { operation entityType apiKeyId apiKeyName person } } }";

async fn entries_of(app: &TestApp, actor: &str) -> Vec<Value> {
    let response = app.gql_as(&app.admin, BY_ACTOR, json!({ "actor": actor })).await;
    data(&response)["auditLog"]["nodes"].as_array().unwrap().clone()
}

// Mutations, refusals, personal-data reads and imports by a person's key name the key's owner;
// a key of no one's names no one. `auditLog(actor:)` finds a person's entries, or a key's by its
// name; an empty actor is refused. The chain verifies.
backend_test!(audit_entries_name_the_person_behind_the_key, |app: TestApp| async move {
    let siti = key_of(&app, "Meja Siti", Role::Operator, Some("siti")).await;
    let desk = key_of(&app, "Loket 36.03", Role::Operator, None).await;
    let register = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";
    let worker = |nik: &str, regency: &str| json!({ "input": { "nik": nik, "fullName": "Wayan", "regencyCode": regency, "occupation": "FARMER" } });
    data(&app.gql_as(&siti, register, worker("3603010101900001", "36.03")).await);
    data(&app.gql_as(&desk, register, worker("3603010101900002", "36.03")).await);
    // A NIK registered in another regency: refused, and the refusal audited under Siti.
    app.register("3671010101900003", "Asep", "36.71", None, "FARMER").await;
    let probe = app.gql_as(&siti, register, worker("3671010101900003", "36.03")).await;
    assert!(probe["errors"].is_array(), "{probe}");
    // Her read of a worker's full NIK and birth date.
    let lookup = "query($n: String!) { workerByNik(nik: $n) { id birthDate } }";
    data(&app.gql_as(&siti, lookup, json!({ "n": "3603010101900001" })).await);
    app.state.reads.flush(&app.state.db).await.unwrap();
    // Her import.
    let file = "nik,full_name,occupation,district_code,starts_on\n3603011505850004,Budi,FISHER,36.03.01,2023-01-01";
    let (_, imported) = app.import_csv(Some(&siti), "36.03", file.as_bytes(), json!({})).await;
    data(&imported);

    let hers = entries_of(&app, "siti").await;
    let kinds: Vec<&str> = hers.iter().map(|e| e["entityType"].as_str().unwrap()).collect();
    for kind in ["WORKER", "REFUSAL", "PERSONAL_DATA_READ", "ENROLLMENT_IMPORT"] {
        assert!(kinds.contains(&kind), "{kind} in {hers:?}");
    }
    assert!(hers.iter().all(|e| e["person"] == "siti" && e["apiKeyName"] == "Meja Siti"), "{hers:?}");
    // The key's name finds the same entries.
    assert_eq!(entries_of(&app, "Meja Siti").await, hers);
    let desks = entries_of(&app, "Loket 36.03").await;
    assert_eq!(desks.len(), 1, "{desks:?}");
    assert_eq!((&desks[0]["operation"], &desks[0]["person"]), (&json!("registerWorker"), &Value::Null));
    assert_eq!(entries_of(&app, "nobody").await, Vec::<Value>::new());
    let empty = app.gql_as(&app.admin, BY_ACTOR, json!({ "actor": "  " })).await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT", "{empty}");
    let chain = jaminan::services::audit::verify(&app.state.db).await.unwrap();
    assert_eq!(chain.broken, None);
});

// Submitter and verifier: one person with two keys (or one key) is refused, another person may
// verify; a key of no one's is a person of its own.
backend_test!(the_submitter_never_verifies_with_another_key, |app: TestApp| async move {
    let siti_operator = key_of(&app, "Siti (loket)", Role::Operator, Some("siti")).await;
    let siti_supervisor = key_of(&app, "Siti (supervisi)", Role::Supervisor, Some("siti")).await;
    let budi = key_of(&app, "Budi", Role::Supervisor, Some("budi")).await;
    let shared = key_of(&app, "Supervisi bersama", Role::Supervisor, None).await;

    let payout = submitted_by(&app, &siti_operator, 1).await;
    refused(&app, &siti_supervisor, "verifyPayout", &payout, "person who submitted").await;
    done(&app, &budi, "verifyPayout", &payout).await;
    let row = stored(&app, &payout).await;
    assert_eq!((row.submitted_by_person.as_deref(), row.verified_by_person.as_deref()), (Some("siti"), Some("budi")));

    let by_shared = submitted_by(&app, &shared, 2).await;
    refused(&app, &shared, "verifyPayout", &by_shared, "person who submitted").await;
    done(&app, &siti_supervisor, "verifyPayout", &by_shared).await;
    assert_eq!(stored(&app, &by_shared).await.submitted_by_person, None);
});

// Submitter and approver: the submitter's other key may not approve either (the message in
// Indonesian too); the verifier may, under the default rule.
backend_test!(the_submitter_never_approves_with_another_key, |app: TestApp| async move {
    let siti_operator = key_of(&app, "Siti (loket)", Role::Operator, Some("siti")).await;
    let siti_supervisor = key_of(&app, "Siti (supervisi)", Role::Supervisor, Some("siti")).await;
    let budi = key_of(&app, "Budi", Role::Supervisor, Some("budi")).await;
    let payout = submitted_by(&app, &siti_operator, 1).await;
    done(&app, &budi, "verifyPayout", &payout).await;
    refused(&app, &siti_supervisor, "approvePayout", &payout, "person who submitted").await;
    let approve = "mutation($id: ID!) { approvePayout(id: $id) { status } }";
    let response = app.in_language("id").gql_as(&siti_supervisor, approve, json!({ "id": payout })).await;
    assert!(response["errors"][0]["message"].as_str().unwrap().contains("orang yang mengajukannya"), "{response}");
    done(&app, &budi, "approvePayout", &payout).await;
    assert_eq!(stored(&app, &payout).await.approved_by_person.as_deref(), Some("budi"));
});

// Verifier and approver: under --four-eyes strict the person who verified (with any of their
// keys) may not approve; a third person may.
backend_test!(strict_four_eyes_keeps_the_verifier_from_approving, |app: TestApp| async move {
    let mut state = app.state.clone();
    state.four_eyes = FourEyes::Strict;
    let app = app.with_state(state);
    let siti = key_of(&app, "Siti", Role::Operator, Some("siti")).await;
    let budi = key_of(&app, "Budi", Role::Supervisor, Some("budi")).await;
    let budi_other = key_of(&app, "Budi (laptop)", Role::Supervisor, Some("budi")).await;
    let agus = key_of(&app, "Agus", Role::Supervisor, Some("agus")).await;
    let payout = submitted_by(&app, &siti, 1).await;
    done(&app, &budi, "verifyPayout", &payout).await;
    refused(&app, &budi, "approvePayout", &payout, "person who verified").await;
    refused(&app, &budi_other, "approvePayout", &payout, "person who verified").await;
    done(&app, &agus, "approvePayout", &payout).await;
});

// One person with a key and a token is one person: Budi's tokens (subject `desk-supervisor`) and
// keys he owns are refused as verifier and approver of what either submitted, in every pairing,
// and under --four-eyes strict his token may not approve what his key verified. The audit log
// finds everything he did, with either, by his subject.
backend_test!(a_key_and_a_token_of_one_person_are_one_person, |app: TestApp| async move {
    let Some(provider) = Provider::start().await else { return };
    let (app, _) = accepting(&app, provider.settings()).await;
    let mut state = app.state.clone();
    state.four_eyes = FourEyes::Strict;
    let app = app.with_state(state);
    let budi_token = provider.token("desk-supervisor").await; // SUPERVISOR of 36.03, Budi Santoso
    let admin_token = provider.token("central-admin").await;
    let budi_key = key_of(&app, "Meja Budi", Role::Supervisor, Some("desk-supervisor")).await;
    let siti = key_of(&app, "Siti", Role::Supervisor, Some("siti")).await;

    // Submitted with his key: his token neither verifies nor approves.
    let by_key = submitted_by(&app, &budi_key, 1).await;
    refused(&app, &budi_token, "verifyPayout", &by_key, "person who submitted").await;
    done(&app, &siti, "verifyPayout", &by_key).await;
    refused(&app, &budi_token, "approvePayout", &by_key, "person who submitted").await;
    done(&app, &admin_token, "approvePayout", &by_key).await;

    // Submitted with his token: his key neither verifies nor approves.
    let by_token = submitted_by(&app, &budi_token, 2).await;
    assert_eq!(stored(&app, &by_token).await.submitted_by_person.as_deref(), Some("desk-supervisor"));
    refused(&app, &budi_key, "verifyPayout", &by_token, "person who submitted").await;
    done(&app, &siti, "verifyPayout", &by_token).await;
    refused(&app, &budi_key, "approvePayout", &by_token, "person who submitted").await;

    // Verified with his key, his token may not approve (strict); someone else may.
    let third = submitted_by(&app, &siti, 3).await;
    done(&app, &budi_key, "verifyPayout", &third).await;
    refused(&app, &budi_token, "approvePayout", &third, "person who verified").await;
    done(&app, &admin_token, "approvePayout", &third).await;

    let his = entries_of(&app, "desk-supervisor").await;
    let names: std::collections::BTreeSet<&str> = his.iter().map(|e| e["apiKeyName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Budi Santoso", "Meja Budi"].into(), "{his:?}");
    assert!(his.iter().all(|e| e["person"] == "desk-supervisor"), "{his:?}");
    let token_id = oidc::person_id(provider.issuer(), "desk-supervisor").to_string();
    assert!(his.iter().any(|e| e["apiKeyId"] == token_id.as_str()), "{his:?}");
    let by_name = entries_of(&app, "Budi Santoso").await;
    assert!(!by_name.is_empty() && by_name.iter().all(|e| e["person"] == "desk-supervisor"), "{by_name:?}");
    assert_eq!(jaminan::services::audit::verify(&app.state.db).await.unwrap().broken, None);
});

/// The `exp` of a token (seconds since 1970).
fn expiry(token: &str) -> i64 {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
    serde_json::from_slice::<Value>(&payload).unwrap()["exp"].as_i64().unwrap()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

const PAYOUTS: &str = "subscription { payoutChanged { id status } }";

/// Waits for the subscription's end: its UNAUTHENTICATED error; the message and when it came.
async fn end_of(client: &mut WsClient, wait: Duration) -> (String, i64) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = client.next(left).await.expect("the subscription ends");
        if message["type"] == "next" && message["payload"]["errors"].is_array() {
            let error = &message["payload"]["errors"][0];
            assert_eq!(error["extensions"]["code"], "UNAUTHENTICATED", "{message}");
            return (error["message"].as_str().unwrap().to_owned(), now_ms());
        }
    }
}

// A subscription made with an access token ends within a second after the token expires (the
// provider issues 4-second tokens; no leeway here), saying so. A client that sends a fresh token
// in a ping keeps its subscriptions: they go on past the first token's end and receive changes,
// and end with the fresh token. A fresh token of another person closes the connection (4401).
backend_test!(a_subscription_ends_with_its_token_unless_renewed, |app: TestApp| async move {
    let Some(provider) = Provider::start_with_ttl(4).await else { return };
    let settings = oidc::Settings { leeway: Duration::ZERO, ..provider.settings() };
    let (app, _) = accepting(&app, settings).await;
    let address = app.serve().await;
    let first = provider.token("desk-operator").await;
    let mut ending = WsClient::connect(address, Some(&first)).await.expect("a token connects");
    ending.subscribe("payouts", PAYOUTS, json!({})).await;
    let mut renewing = WsClient::connect(address, Some(&first)).await.unwrap();
    renewing.subscribe("payouts", PAYOUTS, json!({})).await;
    common::subscribed(&app.state.live, 2).await;

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fresh = provider.token("desk-operator").await;
    assert!(expiry(&fresh) > expiry(&first), "a later token");
    renewing.send(json!({ "type": "ping", "payload": { "authorization": format!("Bearer {fresh}") } })).await;
    let pong = renewing.next(Duration::from_secs(2)).await.expect("pong");
    assert_eq!(pong, json!({ "type": "pong", "payload": { "renewed": true } }));

    let (message, ended_at) = end_of(&mut ending, Duration::from_secs(6)).await;
    assert!(message.contains("expired"), "{message}");
    let late = ended_at - expiry(&first) * 1000;
    eprintln!("ended {late} ms after the token's exp");
    assert!((0..1300).contains(&late), "ended {late} ms after the token's exp");

    // The renewed connection still receives changes after the first token's end.
    let payout = submitted_by(&app, &app.admin, 1).await;
    let change = renewing.next(Duration::from_secs(2)).await.expect("the change");
    assert_eq!(change["payload"]["data"]["payoutChanged"]["id"], payout.as_str(), "{change}");
    let (_, renewed_end) = end_of(&mut renewing, Duration::from_secs(6)).await;
    let late = renewed_end - expiry(&fresh) * 1000;
    assert!((0..1300).contains(&late), "the renewed subscription ended {late} ms after the fresh token's exp");

    // Another person's token does not take over a connection.
    let mut taken = WsClient::connect(address, Some(&provider.token("desk-operator").await)).await.unwrap();
    let other = provider.token("desk-supervisor").await;
    taken.send(json!({ "type": "ping", "payload": { "authorization": format!("Bearer {other}") } })).await;
    assert_eq!(taken.next(Duration::from_secs(2)).await, Some(json!({ "type": "closed", "code": 4401 })));
});
