//! A database outage under load, shared by the test (a TCP proxy cuts PostgreSQL away) and by
//! `bench/outage.sh` (which stops and restarts the real cluster): 200 clients take workers
//! through registration, enrollment, death and the whole payout workflow over HTTP while the
//! database goes away and comes back. Every response is recorded; afterwards the figures are
//! computed and the database is checked against what the clients were told.
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// The server under load and two ADMIN keys (the second approves: four-eyes).
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub admin: String,
    pub admin2: String,
}

/// One answered (or failed) request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Read when a failure is printed (Debug).
    #[allow(dead_code)]
    pub operation: &'static str,
    pub started: Duration,
    pub elapsed: Duration,
    /// 0 when no HTTP response came back.
    pub status: u16,
    pub code: Option<String>,
}

impl Outcome {
    pub fn ended(&self) -> Duration {
        self.started + self.elapsed
    }

    pub fn succeeded(&self) -> bool {
        self.status == 200 && self.code.is_none()
    }
}

/// What the clients were told succeeded.
#[derive(Debug, Default)]
pub struct Acknowledged {
    pub workers: Vec<i64>,
    pub coverages: Vec<i64>,
    pub deaths: Vec<i64>,
    /// Payout id -> the last status a response confirmed.
    pub payouts: HashMap<i64, &'static str>,
}

pub struct Run {
    pub outcomes: Vec<Outcome>,
    pub acknowledged: Acknowledged,
    /// `/readyz` probes: (sent, answered, status).
    pub readiness: Vec<(Duration, Duration, u16)>,
    /// When the database went away and when it was back.
    pub cut_at: Duration,
    pub restored_at: Duration,
}

/// Runs `concurrency` clients for `before`, calls `cut`, waits `down`, calls `restore`, and
/// goes on for `after`. `cut` and `restore` may block (they can run shell commands).
pub async fn run(
    target: &Target,
    concurrency: usize,
    before: Duration,
    cut: impl FnOnce() + Send + 'static,
    down: Duration,
    restore: impl FnOnce() + Send + 'static,
    after: Duration,
) -> Run {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("http client");
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let nik_serial = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let session = Session {
            client: client.clone(),
            target: target.clone(),
            started,
            outcomes: outcomes.clone(),
            acknowledged: acknowledged.clone(),
        };
        let (stop, nik_serial) = (stop.clone(), nik_serial.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                session.workflow(nik(nik_serial.fetch_add(1, Ordering::SeqCst))).await;
            }
        }));
    }
    let probe_stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (client, url, stop) = (client.clone(), target.url.clone(), probe_stop.clone());
        tokio::spawn(async move {
            let mut readiness = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let at = started.elapsed();
                let status = match client.get(format!("{url}/readyz")).send().await {
                    Ok(response) => response.status().as_u16(),
                    Err(_) => 0,
                };
                readiness.push((at, started.elapsed(), status));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            readiness
        })
    };
    // The phases are timed on purpose: load before, during and after the outage.
    tokio::time::sleep(before).await;
    let cut_at = started.elapsed();
    tokio::task::spawn_blocking(cut).await.expect("cut");
    tokio::time::sleep(down).await;
    tokio::task::spawn_blocking(restore).await.expect("restore");
    let restored_at = started.elapsed();
    tokio::time::sleep(after).await;
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.expect("client task");
    }
    probe_stop.store(true, Ordering::SeqCst);
    let readiness = probe.await.expect("probe");
    let outcomes = std::mem::take(&mut *outcomes.lock().await);
    let acknowledged = std::mem::take(&mut *acknowledged.lock().await);
    Run { outcomes, acknowledged, readiness, cut_at, restored_at }
}

/// A valid NIK per serial: 36.03.12, a birth date between 1960 and 1999, a serial.
fn nik(n: u64) -> String {
    let (day, month, year, serial) = (1 + n % 28, 1 + (n / 28) % 12, 60 + (n / 336) % 40, 1 + n / 13_440);
    format!("360312{day:02}{month:02}{year:02}{serial:04}")
}

struct Session {
    client: reqwest::Client,
    target: Target,
    started: Instant,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    acknowledged: Arc<Mutex<Acknowledged>>,
}

impl Session {
    /// One worker from registration to a paid death benefit; stops at the first failure (the
    /// next worker starts afresh, as a client that gave up would).
    async fn workflow(&self, nik: String) -> Option<()> {
        let admin = self.target.admin.clone();
        let admin2 = self.target.admin2.clone();
        let worker = self
            .call(&admin, "registerWorker", "mutation($i: RegisterWorkerInput!) { registerWorker(input: $i) { id } }",
                json!({ "i": { "nik": nik, "fullName": "Pekerja Uji", "regencyCode": "36.03", "occupation": "FISHER" } }))
            .await?;
        let worker_id = id(&worker)?;
        self.acknowledged.lock().await.workers.push(worker_id);
        let coverage = self
            .call(&admin, "enrollWorker", "mutation($i: EnrollInput!) { enrollWorker(input: $i) { id } }",
                json!({ "i": { "workerId": worker_id.to_string(), "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": "2024-01-01" } }))
            .await?;
        self.acknowledged.lock().await.coverages.push(id(&coverage)?);
        self.call(
            &admin,
            "recordDeath",
            "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2024-06-01\") { id } }",
            json!({ "w": worker_id.to_string() }),
        )
        .await?;
        self.acknowledged.lock().await.deaths.push(worker_id);
        let payout = self
            .call(&admin, "submitPayout", "mutation($i: SubmitPayoutInput!) { submitPayout(input: $i) { id } }",
                json!({ "i": { "workerId": worker_id.to_string(), "benefit": "DEATH", "incidentOn": "2024-06-01",
                    "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE", "idempotencyKey": format!("outage-{nik}") } }))
            .await?;
        let payout_id = id(&payout)?;
        self.acknowledge(payout_id, "SUBMITTED").await;
        let steps: [(&str, &str, &str, &'static str); 3] = [
            (&admin2, "verifyPayout", "mutation($p: ID!) { verifyPayout(id: $p) { id } }", "VERIFIED"),
            (&admin2, "approvePayout", "mutation($p: ID!) { approvePayout(id: $p) { id } }", "APPROVED"),
            (
                &admin,
                "markPayoutPaid",
                "mutation($p: ID!) { markPayoutPaid(id: $p, paymentReference: \"TRF-1\", paidOn: \"2024-06-05\") { id } }",
                "PAID",
            ),
        ];
        for (key, operation, query, status) in steps {
            self.call(key, operation, query, json!({ "p": payout_id.to_string() })).await?;
            self.acknowledge(payout_id, status).await;
        }
        Some(())
    }

    async fn acknowledge(&self, payout: i64, status: &'static str) {
        self.acknowledged.lock().await.payouts.insert(payout, status);
    }

    /// The mutation's result object when it succeeded.
    async fn call(&self, key: &str, operation: &'static str, query: &str, variables: Value) -> Option<Value> {
        let started = self.started.elapsed();
        let sent = self
            .client
            .post(format!("{}/graphql", self.target.url))
            .bearer_auth(key)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await;
        let (status, body) = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        };
        let code = match &body["errors"][0] {
            Value::Null if status == 200 => None,
            Value::Null => Some(String::new()),
            error => Some(error["extensions"]["code"].as_str().unwrap_or_default().to_owned()),
        };
        let outcome = Outcome { operation, started, elapsed: self.started.elapsed() - started, status, code };
        let succeeded = outcome.succeeded();
        self.outcomes.lock().await.push(outcome);
        succeeded.then(|| body["data"][operation].clone())
    }
}

fn id(object: &Value) -> Option<i64> {
    object["id"].as_str()?.parse().ok()
}

/// The figures of a run, as docs/operations.md reports them.
pub struct Figures {
    pub requests: usize,
    pub succeeded: usize,
    /// From the cut to the first success of a request sent after it (the database answering
    /// again, which a restart command reports later than it happens).
    pub away: Duration,
    /// Requests sent while the database was away (after the first second, once the stop had
    /// taken effect) and answered before it was back.
    pub during_outage: usize,
    pub during_outage_503: usize,
    /// Responses other than 200 and 503 SERVICE_UNAVAILABLE (must be none).
    pub unexpected: Vec<Outcome>,
    /// The slowest answer to a request sent while the database was away.
    pub slowest_during_outage: Duration,
    /// From the database's return to the end of the last failure.
    pub recovered_after: Duration,
    pub readyz_503_during_outage: bool,
    pub readyz_200_after: bool,
}

impl Run {
    pub fn figures(&self) -> Figures {
        let settled = self.cut_at + Duration::from_secs(1);
        let back = self
            .outcomes
            .iter()
            .filter(|o| o.started >= settled && o.succeeded())
            .map(Outcome::ended)
            .min()
            .unwrap_or(self.restored_at);
        let during: Vec<&Outcome> = self.outcomes.iter().filter(|o| o.started >= settled && o.ended() < back).collect();
        let unavailable = |o: &Outcome| o.status == 503 && o.code.as_deref() == Some("SERVICE_UNAVAILABLE");
        let recovered_after = self
            .outcomes
            .iter()
            .filter(|o| unavailable(o) && o.ended() > back)
            .map(|o| o.ended() - back)
            .max()
            .unwrap_or_default();
        Figures {
            requests: self.outcomes.len(),
            succeeded: self.outcomes.iter().filter(|o| o.succeeded()).count(),
            away: back - self.cut_at,
            during_outage: during.len(),
            during_outage_503: during.iter().filter(|o| unavailable(o)).count(),
            unexpected: self.outcomes.iter().filter(|o| !o.succeeded() && !unavailable(o)).cloned().collect(),
            slowest_during_outage: self
                .outcomes
                .iter()
                .filter(|o| o.started >= self.cut_at && o.started < back)
                .map(|o| o.elapsed)
                .max()
                .unwrap_or_default(),
            recovered_after,
            // A probe sent while the database is away may be answered 200 if it returns meanwhile.
            readyz_503_during_outage: self
                .readiness
                .iter()
                .any(|(sent, answered, status)| *sent >= self.cut_at && *answered < back && *status == 503),
            readyz_200_after: self.readiness.iter().any(|(sent, _, status)| *sent > back && *status == 200),
        }
    }
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "requests:                        {} ({} succeeded)", self.requests, self.succeeded)?;
        writeln!(f, "database away (as clients saw):  {:.1} s", self.away.as_secs_f64())?;
        writeln!(
            f,
            "sent and answered meanwhile:     {} ({} were 503 SERVICE_UNAVAILABLE)",
            self.during_outage, self.during_outage_503
        )?;
        writeln!(f, "slowest answer meanwhile:        {:.2} s", self.slowest_during_outage.as_secs_f64())?;
        writeln!(f, "last failure after the return:   {:.2} s", self.recovered_after.as_secs_f64())?;
        writeln!(f, "/readyz 503 during, 200 after:   {}, {}", self.readyz_503_during_outage, self.readyz_200_after)?;
        write!(f, "other failures:                  {}", self.unexpected.len())
    }
}

/// What must hold after the outage; returns every violation.
pub async fn check(db: &DatabaseConnection, acknowledged: &Acknowledged) -> Vec<String> {
    let mut problems = Vec::new();
    let ids = |table: &str, ids: &[i64]| {
        format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE id IN ({})",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
    };
    for (table, acked) in [("worker", &acknowledged.workers), ("coverage", &acknowledged.coverages)] {
        for chunk in acked.chunks(500) {
            let found = count(db, &ids(table, chunk)).await;
            if found != chunk.len() as i64 {
                problems.push(format!("{table}: {} acknowledged rows missing", chunk.len() as i64 - found));
            }
        }
    }
    for chunk in acknowledged.deaths.chunks(500) {
        let sql = ids("worker", chunk) + " AND died_on IS NOT NULL";
        let found = count(db, &sql).await;
        if found != chunk.len() as i64 {
            problems.push(format!("{} acknowledged deaths missing", chunk.len() as i64 - found));
        }
    }
    const ORDER: [&str; 4] = ["SUBMITTED", "VERIFIED", "APPROVED", "PAID"];
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), "SELECT id, status, verified_at IS NOT NULL AS v, approved_at IS NOT NULL AS a, paid_at IS NOT NULL AS p FROM payout"))
        .await
        .expect("payouts");
    let mut stored = HashMap::new();
    for row in rows {
        let id: i64 = row.try_get("", "id").expect("id");
        let status: String = row.try_get("", "status").expect("status");
        stored.insert(id, status);
    }
    for (payout, acked) in &acknowledged.payouts {
        let rank = |s: &str| ORDER.iter().position(|o| *o == s);
        match stored.get(payout).and_then(|s| rank(s)) {
            // A transition whose answer was lost in the outage may have committed: one step
            // further than acknowledged is fine, an acknowledged one missing is not.
            Some(now) if now >= rank(acked).unwrap_or(0) && now <= rank(acked).unwrap_or(0) + 1 => {}
            other => problems.push(format!("payout {payout}: acknowledged {acked}, stored {other:?}")),
        }
    }
    // Each transition that happened has exactly one audit entry, and no more.
    let audit_mismatch = "SELECT p.id, p.status, \
        (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'PAYOUT' AND l.entity_id = p.id AND l.operation = 'submitPayout') AS s, \
        (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'PAYOUT' AND l.entity_id = p.id AND l.operation = 'verifyPayout') AS v, \
        (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'PAYOUT' AND l.entity_id = p.id AND l.operation = 'approvePayout') AS a, \
        (SELECT COUNT(*) FROM audit_log l WHERE l.entity_type = 'PAYOUT' AND l.entity_id = p.id AND l.operation = 'markPayoutPaid') AS m, \
        CASE WHEN p.verified_at IS NULL THEN 0 ELSE 1 END AS vx, CASE WHEN p.approved_at IS NULL THEN 0 ELSE 1 END AS ax, \
        CASE WHEN p.paid_at IS NULL THEN 0 ELSE 1 END AS mx FROM payout p";
    for row in db.query_all_raw(Statement::from_string(db.get_database_backend(), audit_mismatch)).await.expect("audit")
    {
        let n = |c: &str| row.try_get::<i64>("", c).or_else(|_| row.try_get::<i32>("", c).map(i64::from)).expect(c);
        if n("s") != 1 || n("v") != n("vx") || n("a") != n("ax") || n("m") != n("mx") {
            let id: i64 = row.try_get("", "id").expect("id");
            problems.push(format!("payout {id}: audit entries do not match its transitions"));
        }
    }
    let twice = count(db, "SELECT COUNT(*) AS n FROM (SELECT worker_id FROM payout WHERE status <> 'REJECTED' GROUP BY worker_id HAVING COUNT(*) > 1) t").await;
    if twice > 0 {
        problems.push(format!("{twice} workers with two death benefits"));
    }
    let differences = jaminan::stats::rebuild::verify(db).await.expect("verify statistics");
    problems.extend(differences.into_iter().map(|d| format!("statistics: {d}")));
    problems
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.expect(sql).expect("row");
    row.try_get::<i64>("", "n").expect("n")
}
