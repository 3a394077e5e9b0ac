//! A model-based test of the payout workflow: random sequences of submissions (with retries by
//! idempotency key), verifications, approvals, payments and rejections by random keys and roles,
//! run against the real app and against a model of the rules. After every step the database must
//! match the model: each payout's status and amount, paid at most once, four-eyes, exactly one
//! audit entry per successful transition, and the regency's statistics.
//!
//! 1,000 cases per database by default; `JAMINAN_MODEL_CASES=20000 cargo test --release --test it
//! payout_model` runs a longer search.
use crate::common;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Datelike;
use common::{Backend, TestApp};
use jaminan::auth::{self, Role};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

/// The keys of the model: two admins, a supervisor and an operator and a viewer of 36.03, and a
/// supervisor of 36.71 (the payouts are out of its reach).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Admin,
    Admin2,
    Supervisor,
    OtherRegency,
    Operator,
    Viewer,
}

const KEYS: [Key; 6] = [Key::Admin, Key::Admin2, Key::Supervisor, Key::OtherRegency, Key::Operator, Key::Viewer];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Verify,
    Approve,
    Pay,
    Reject,
}

#[derive(Debug, Clone)]
enum Step {
    /// `death`: DEATH (the server computes Rp42,000,000); otherwise WORK_ACCIDENT_CARE of
    /// `amount` x Rp500,000. `retry`: one of two idempotency keys.
    Submit { worker: usize, death: bool, key: Key, retry: Option<u8>, amount: i64 },
    /// On the `payout`-th submitted payout (modulo how many there are).
    Act { action: Action, payout: usize, key: Key },
}

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![3 => Just(Key::Admin), 3 => Just(Key::Admin2), 2 => Just(Key::Supervisor),
        1 => Just(Key::OtherRegency), 1 => Just(Key::Operator), 1 => Just(Key::Viewer)]
}

fn step() -> impl Strategy<Value = Step> {
    let submit = (0..2usize, any::<bool>(), key(), proptest::option::of(0..2u8), 1..=4i64)
        .prop_map(|(worker, death, key, retry, amount)| Step::Submit { worker, death, key, retry, amount });
    let action = prop_oneof![Just(Action::Verify), Just(Action::Approve), Just(Action::Pay), Just(Action::Reject)];
    let act = (action, 0..4usize, key()).prop_map(|(action, payout, key)| Step::Act { action, payout, key });
    prop_oneof![1 => submit, 3 => act]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Submitted,
    Verified,
    Approved,
    Paid,
    Rejected,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Submitted => "SUBMITTED",
            Status::Verified => "VERIFIED",
            Status::Approved => "APPROVED",
            Status::Paid => "PAID",
            Status::Rejected => "REJECTED",
        }
    }
}

#[derive(Debug, Clone)]
struct ModelPayout {
    id: i64,
    worker: usize,
    death: bool,
    amount: i64,
    status: Status,
    submitted_by: Key,
    /// (key, idempotency key) of the submission.
    retry: Option<(Key, u8)>,
    /// Successful transitions so far: verify, approve, pay, reject.
    transitions: [u8; 4],
}

/// What the rules say about one case's two workers and their payouts.
#[derive(Debug, Default)]
struct Model {
    payouts: Vec<ModelPayout>,
}

const DEATH_AMOUNT: i64 = 42_000_000;

/// What a step must answer.
#[derive(Debug)]
enum Expected {
    /// A new payout, or (a retry) the one with this id.
    Submitted {
        existing: Option<i64>,
        amount: i64,
    },
    Transition {
        to: Status,
    },
    Refused(&'static [&'static str]),
}

impl Model {
    fn expect(&self, step: &Step) -> Expected {
        match *step {
            Step::Submit { key: Key::Viewer, .. } => Expected::Refused(&["FORBIDDEN"]),
            // The worker lives in 36.03: out of the 36.71 supervisor's sight.
            Step::Submit { key: Key::OtherRegency, .. } => Expected::Refused(&["NOT_FOUND", "FORBIDDEN"]),
            Step::Submit { worker, death, key, retry, amount } => {
                if let Some(retry) = retry
                    && let Some(first) = self.payouts.iter().find(|p| p.retry == Some((key, retry)))
                {
                    return if first.worker == worker {
                        Expected::Submitted { existing: Some(first.id), amount: first.amount }
                    } else {
                        Expected::Refused(&["CONFLICT"])
                    };
                }
                if death {
                    let open =
                        self.payouts.iter().any(|p| p.worker == worker && p.death && p.status != Status::Rejected);
                    if open {
                        return Expected::Refused(&["CONFLICT"]);
                    }
                    Expected::Submitted { existing: None, amount: DEATH_AMOUNT }
                } else {
                    Expected::Submitted { existing: None, amount: amount * 500_000 }
                }
            }
            Step::Act { action, payout, key } => {
                let Some(payout) = self.pick(payout) else { return Expected::Refused(&[]) };
                if matches!(key, Key::Operator | Key::Viewer) {
                    return Expected::Refused(&["FORBIDDEN"]);
                }
                if key == Key::OtherRegency {
                    return Expected::Refused(&["NOT_FOUND"]);
                }
                let to = match (action, payout.status) {
                    (Action::Verify, Status::Submitted) => Status::Verified,
                    (Action::Approve, Status::Verified) => Status::Approved,
                    (Action::Pay, Status::Approved) => Status::Paid,
                    (Action::Reject, Status::Submitted | Status::Verified | Status::Approved) => Status::Rejected,
                    _ => return Expected::Refused(&["INVALID_STATE"]),
                };
                // Four-eyes: the submitter's key neither verifies nor approves.
                if matches!(action, Action::Verify | Action::Approve) && payout.submitted_by == key {
                    return Expected::Refused(&["FORBIDDEN"]);
                }
                Expected::Transition { to }
            }
        }
    }

    fn pick(&self, n: usize) -> Option<&ModelPayout> {
        (!self.payouts.is_empty()).then(|| &self.payouts[n % self.payouts.len()])
    }

    fn apply(&mut self, step: &Step, expected: &Expected, id: Option<i64>) {
        match (step, expected) {
            (&Step::Submit { worker, death, key, retry, .. }, &Expected::Submitted { existing: None, amount }) => {
                self.payouts.push(ModelPayout {
                    id: id.expect("new payout id"),
                    worker,
                    death,
                    amount,
                    status: Status::Submitted,
                    submitted_by: key,
                    retry: retry.map(|r| (key, r)),
                    transitions: [0; 4],
                });
            }
            (&Step::Act { action, payout, .. }, &Expected::Transition { to }) => {
                let n = payout % self.payouts.len();
                let payout = &mut self.payouts[n];
                payout.status = to;
                payout.transitions[action as usize] += 1;
            }
            _ => {}
        }
    }

    /// Paid count and amount (in the payment's year, 2024), and pending (in the submission's year).
    fn figures(&self) -> (i64, i64, i64) {
        let paid: Vec<&ModelPayout> = self.payouts.iter().filter(|p| p.status == Status::Paid).collect();
        let pending = self
            .payouts
            .iter()
            .filter(|p| matches!(p.status, Status::Submitted | Status::Verified | Status::Approved))
            .count();
        (paid.len() as i64, paid.iter().map(|p| p.amount).sum(), pending as i64)
    }
}

struct Harness {
    app: TestApp,
    keys: Vec<(Key, String, i64)>,
}

static NIK_SERIAL: AtomicU64 = AtomicU64::new(0);

impl Harness {
    fn key(&self, key: Key) -> &str {
        &self.keys.iter().find(|(k, ..)| *k == key).expect("key").1
    }

    fn key_of(&self, id: i64) -> Key {
        self.keys.iter().find(|(.., i)| *i == id).expect("key id").0
    }

    async fn figures(&self) -> (i64, i64, i64) {
        let query = "query($now: Int!) { paid: coverageStats(areaCode: \"36.03\", year: 2024) { payoutsPaid payoutsPaidAmount } \
            now: coverageStats(areaCode: \"36.03\", year: $now) { payoutsPending } }";
        // Pending payouts count in the year of submission, in Indonesia's western time.
        let now = (chrono::Utc::now() + chrono::Duration::hours(7)).year();
        let response = self.app.gql_as(&self.app.admin, query, json!({ "now": now })).await;
        let data = common::data(&response);
        let number = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).expect("figure");
        (
            number(&data["paid"]["payoutsPaid"]),
            number(&data["paid"]["payoutsPaidAmount"]),
            number(&data["now"]["payoutsPending"]),
        )
    }

    /// One case: two fresh workers of 36.03 covered from 2024, then the steps.
    async fn run_case(&self, steps: Vec<Step>) -> Result<(), TestCaseError> {
        let mut workers = Vec::new();
        for _ in 0..2 {
            let n = NIK_SERIAL.fetch_add(1, Ordering::SeqCst);
            let nik = format!(
                "360312{:02}{:02}{:02}{:04}",
                1 + n % 28,
                1 + (n / 28) % 12,
                60 + (n / 336) % 40,
                1 + n / 13_440
            );
            let worker = self.app.register(&nik, "Pekerja Model", "36.03", Some("36.03.12"), "FISHER").await;
            self.app.enroll(&worker, "36.03", "2024-01-01", None).await;
            workers.push(worker);
        }
        let baseline = self.figures().await;
        let mut model = Model::default();
        for (n, step) in steps.iter().enumerate() {
            let expected = model.expect(step);
            let response = self.send(step, &model, &workers).await;
            let context = format!("step {n} {step:?}: expected {expected:?}, got {response}");
            let error = response["errors"][0]["extensions"]["code"].as_str();
            let id = match &expected {
                Expected::Refused(codes) => {
                    if !codes.is_empty() {
                        prop_assert!(error.is_some_and(|c| codes.contains(&c)), "{}", context);
                    }
                    None
                }
                Expected::Submitted { existing, amount } => {
                    prop_assert!(error.is_none(), "{}", context);
                    let payout = &response["data"]["submitPayout"];
                    let id: i64 = payout["id"].as_str().and_then(|s| s.parse().ok()).expect("id");
                    match existing {
                        Some(first) => prop_assert_eq!(id, *first, "a retry returns the first payout: {}", context),
                        None => prop_assert!(model.payouts.iter().all(|p| p.id != id), "{}", context),
                    }
                    let stored_amount = payout["amount"].to_string();
                    prop_assert_eq!(stored_amount.trim_matches('"'), amount.to_string(), "{}", context);
                    Some(id)
                }
                Expected::Transition { to } => {
                    prop_assert!(error.is_none(), "{}", context);
                    let field =
                        response["data"].as_object().and_then(|o| o.values().next().cloned()).unwrap_or_default();
                    prop_assert_eq!(field["status"].as_str(), Some(to.name()), "{}", context);
                    None
                }
            };
            model.apply(step, &expected, id);
            self.check(&model, &workers, &context).await?;
            let (paid, amount, pending) = model.figures();
            let expected_figures = (baseline.0 + paid, baseline.1 + amount, baseline.2 + pending);
            prop_assert_eq!(self.figures().await, expected_figures, "statistics: {}", context);
        }
        Ok(())
    }

    async fn send(&self, step: &Step, model: &Model, workers: &[String]) -> Value {
        match *step {
            Step::Submit { worker, death, key, retry, amount } => {
                let mut input = json!({ "workerId": workers[worker], "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE" });
                if death {
                    input["benefit"] = json!("DEATH");
                    input["incidentOn"] = json!("2024-06-01");
                } else {
                    input["benefit"] = json!("WORK_ACCIDENT_CARE");
                    input["incidentOn"] = json!("2024-03-01");
                    input["amount"] = json!(amount * 500_000);
                }
                if let Some(retry) = retry {
                    // Unique to the case: the workers are.
                    input["idempotencyKey"] = json!(format!("{}-{retry}", workers[0]));
                }
                let query = "mutation($i: SubmitPayoutInput!) { submitPayout(input: $i) { id amount status } }";
                self.app.gql_as(self.key(key), query, json!({ "i": input })).await
            }
            Step::Act { action, payout, key } => {
                let Some(payout) = model.pick(payout) else { return json!({ "data": null }) };
                let query = match action {
                    Action::Verify => "mutation($p: ID!) { verifyPayout(id: $p) { status } }",
                    Action::Approve => "mutation($p: ID!) { approvePayout(id: $p) { status } }",
                    Action::Pay => {
                        "mutation($p: ID!) { markPayoutPaid(id: $p, paymentReference: \"TRF-9\", paidOn: \"2024-07-01\") { status } }"
                    }
                    Action::Reject => {
                        "mutation($p: ID!) { rejectPayout(id: $p, reason: \"berkas tidak lengkap\") { status } }"
                    }
                };
                self.app.gql_as(self.key(key), query, json!({ "p": payout.id.to_string() })).await
            }
        }
    }

    /// The case's payouts in the database against the model.
    async fn check(&self, model: &Model, workers: &[String], context: &str) -> Result<(), TestCaseError> {
        let db = &self.app.state.db;
        // Aliases in lower case: PostgreSQL folds unquoted names.
        let audit = |operation: &str| {
            let alias = operation.to_lowercase();
            format!(
                "(SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'PAYOUT' AND l.entity_id = p.id AND l.operation = '{operation}') AS {alias}"
            )
        };
        let sql = format!(
            "SELECT p.id, p.status, p.amount, p.submitted_by, p.verified_by, p.approved_by, {}, {}, {}, {}, {} \
             FROM payout p WHERE p.worker_id IN ({}) ORDER BY p.id",
            audit("submitPayout"),
            audit("verifyPayout"),
            audit("approvePayout"),
            audit("markPayoutPaid"),
            audit("rejectPayout"),
            workers.join(",")
        );
        let rows =
            db.query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.expect("payouts");
        prop_assert_eq!(rows.len(), model.payouts.len(), "one row per submission, retries included: {}", context);
        for (row, payout) in rows.iter().zip(&model.payouts) {
            let int =
                |c: &str| row.try_get::<i64>("", c).or_else(|_| row.try_get::<i32>("", c).map(i64::from)).expect(c);
            let optional = |c: &str| row.try_get::<Option<i64>>("", c).expect(c);
            prop_assert_eq!(int("id"), payout.id, "{}", context);
            prop_assert_eq!(row.try_get::<String>("", "status").expect("status"), payout.status.name(), "{}", context);
            prop_assert_eq!(int("amount"), payout.amount, "{}", context);
            prop_assert_eq!(self.key_of(int("submitted_by")), payout.submitted_by, "{}", context);
            // Four-eyes.
            prop_assert!(optional("verified_by") != Some(int("submitted_by")), "{}", context);
            prop_assert!(optional("approved_by") != Some(int("submitted_by")), "{}", context);
            // One audit entry per successful transition; paid at most once.
            prop_assert_eq!(int("submitpayout"), 1, "{}", context);
            let audited = [int("verifypayout"), int("approvepayout"), int("markpayoutpaid"), int("rejectpayout")];
            prop_assert_eq!(audited, payout.transitions.map(i64::from), "{}", context);
            prop_assert!(int("markpayoutpaid") <= 1, "{}", context);
        }
        Ok(())
    }
}

fn cases() -> u32 {
    std::env::var("JAMINAN_MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}

fn run_model(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let app = match backend {
        Backend::Sqlite => runtime.block_on(TestApp::spawn(Backend::Sqlite)),
        Backend::Postgres => runtime.block_on(TestApp::spawn_postgres()),
    };
    let keys = runtime.block_on(async {
        let db = &app.state.db;
        let mut keys = Vec::new();
        for (key, role, scope) in [
            (Key::Supervisor, Role::Supervisor, Some("36.03")),
            (Key::OtherRegency, Role::Supervisor, Some("36.71")),
            (Key::Operator, Role::Operator, Some("36.03")),
            (Key::Viewer, Role::Viewer, Some("36.03")),
        ] {
            let (secret, row) =
                auth::keys::create_key(db, &format!("{key:?}"), role, scope.map(str::to_owned)).await.expect("key");
            keys.push((key, secret, row.id));
        }
        let admins = db
            .query_all_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT id FROM api_key WHERE role = 'ADMIN' ORDER BY id",
            ))
            .await
            .expect("admins");
        let id = |n: usize| admins[n].try_get::<i64>("", "id").expect("id");
        keys.push((Key::Admin, app.admin.clone(), id(0)));
        keys.push((Key::Admin2, app.admin2.clone(), id(1)));
        keys
    });
    assert_eq!(keys.len(), KEYS.len());
    let harness = Harness { app, keys };
    let config = Config { cases: cases(), max_shrink_iters: 500, ..common::regressions_kept(file!()) };
    let mut runner = TestRunner::new(config);
    let result =
        runner.run(&proptest::collection::vec(step(), 1..10), |steps| runtime.block_on(harness.run_case(steps)));
    let differences = runtime.block_on(harness.app.stats_differences());
    runtime.block_on(harness.app.clone().cleanup());
    if let Err(failure) = result {
        panic!("{failure}");
    }
    assert!(differences.is_empty(), "statistics after every case: {differences:?}");
}

#[test]
fn payout_workflow_follows_the_model_sqlite() {
    run_model(Backend::Sqlite);
}

#[test]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
fn payout_workflow_follows_the_model_postgres() {
    run_model(Backend::Postgres);
}
