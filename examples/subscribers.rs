//! The load of `bench/subscribers.sh`: N WebSocket clients subscribe to `payoutChanged` on one
//! server; payouts are then submitted one at a time over HTTP, and every delivery's latency is
//! measured from just before the mutation was sent to its arrival at each subscriber. Prints
//! the percentiles, the deliveries missing and the server's memory before and after the
//! subscribers connected.
//!
//! With `--figures`, the clients subscribe to `coverageStatsChanged` of 36.03 with their key
//! instead, workers are enrolled in 36.03 one at a time (a change of its figures each, 1.5 s
//! apart), and the figure reads the server made per change are printed (its
//! `jaminan_figure_feed_reads_total` before and after).
//!
//! With `--anonymous`, the clients subscribe to the same figures without a key (the public
//! publication, withheld cells and all), workers are enrolled one at a time, 3 s apart, and the
//! time until every anonymous subscriber has seen each change is printed, with the latencies of
//! anonymous reads of the figures made every 20 ms meanwhile (none may wait on a recomputation).
// A benchmark tool run by hand: a failure may panic with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8090.
    #[arg(long)]
    url: String,
    /// An ADMIN key.
    #[arg(long)]
    admin: String,
    #[arg(long, default_value_t = 1000)]
    subscribers: usize,
    /// Payouts submitted, one at a time.
    #[arg(long, default_value_t = 20)]
    events: usize,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    /// Subscribe to the figures of one regency and count the reads per change.
    #[arg(long)]
    figures: bool,
    /// Subscribe to the figures of one regency without a key: the delay of the public figures.
    #[arg(long)]
    anonymous: bool,
    /// The year of the figures subscribed to, and of the coverage enrolled.
    #[arg(long, default_value_t = 2026)]
    year: i32,
}

/// Resident memory of a process in MiB (Linux).
fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn gql(http: &reqwest::Client, args: &Args, query: &str, variables: Value) -> Value {
    let response = http
        .post(format!("{}/graphql", args.url))
        .bearer_auth(&args.admin)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request");
    let body: Value = response.json().await.expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    body["data"].clone()
}

const PAYOUTS: &str = "subscription { payoutChanged { id status } }";
const FIGURES: &str =
    "subscription($year: Int!) { coverageStatsChanged(areaCode: \"36.03\", year: $year) { coveredWorkers } }";

/// One subscriber (anonymous without a key): connects, subscribes, and reports (payout id or
/// covered workers, arrival) for every event.
async fn subscriber(
    args_url: String,
    key: Option<String>,
    query: &'static str,
    year: i32,
    deliveries: mpsc::UnboundedSender<(String, Instant)>,
) {
    let url = format!("{}/graphql", args_url.replacen("http", "ws", 1));
    let mut request = url.into_client_request().expect("request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.expect("websocket");
    let payload = match key {
        Some(key) => json!({ "Authorization": format!("Bearer {key}") }),
        None => json!({}),
    };
    let init = json!({ "type": "connection_init", "payload": payload });
    socket.send(Message::text(init.to_string())).await.expect("init");
    let subscribe = json!({ "id": "1", "type": "subscribe",
        "payload": { "query": query, "variables": { "year": year } } });
    socket.send(Message::text(subscribe.to_string())).await.expect("subscribe");
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let value: Value = serde_json::from_str(&text).unwrap_or_default();
        match value["type"].as_str() {
            Some("next") => {
                let data = &value["payload"]["data"];
                let id = match data["coverageStatsChanged"]["coveredWorkers"].as_i64() {
                    Some(covered) => covered.to_string(),
                    None => data["payoutChanged"]["id"].as_str().unwrap_or_default().to_owned(),
                };
                let _ = deliveries.send((id, Instant::now()));
            }
            Some("ping") => {
                let _ = socket.send(Message::text(json!({ "type": "pong" }).to_string())).await;
            }
            Some("error") | Some("complete") => panic!("subscription ended: {value}"),
            _ => {}
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::new();
    // A covered worker of 36.03 to submit care payouts for.
    let nik = format!("360312150580{:04}", std::process::id() % 10_000);
    let register = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";
    let worker = gql(
        &http,
        &args,
        register,
        json!({ "input": { "nik": nik, "fullName": "Pekerja Bench", "regencyCode": "36.03", "occupation": "FISHER" } }),
    )
    .await["registerWorker"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let enroll = "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }";
    gql(&http, &args, enroll,
        json!({ "input": { "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD", "startsOn": "2020-01-01" } }))
        .await;

    if args.figures {
        figures(&http, &args).await;
        return;
    }
    if args.anonymous {
        anonymous(&http, &args).await;
        return;
    }
    payouts(&http, &args, &worker).await;
}

/// Keyed subscribers of every payout change: the latency of each delivery, and the memory.
async fn payouts(http: &reqwest::Client, args: &Args, worker: &str) {
    let before = rss_mib(args.pid);
    let (deliveries_tx, mut deliveries) = mpsc::unbounded_channel();
    let connecting = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.subscribers {
        tasks.push(tokio::spawn(subscriber(
            args.url.clone(),
            Some(args.admin.clone()),
            PAYOUTS,
            args.year,
            deliveries_tx.clone(),
        )));
    }
    drop(deliveries_tx);
    let submit = "mutation($input: SubmitPayoutInput!) { submitPayout(input: $input) { id } }";
    let input = json!({ "input": { "workerId": worker, "benefit": "WORK_ACCIDENT_CARE", "incidentOn": "2024-03-01",
        "amount": "1500000", "beneficiaryName": "Ahli Waris", "beneficiaryRelationship": "SPOUSE" } });
    // The protocol does not acknowledge a subscription: payouts are submitted until one reaches
    // every subscriber, and measuring starts after that.
    let mut warmed_up = false;
    for _ in 0..60 {
        let id = gql(http, args, submit, input.clone()).await["submitPayout"]["id"].as_str().unwrap().to_owned();
        let mut received = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        while let Ok(Some((delivered, _))) = tokio::time::timeout_at(deadline, deliveries.recv()).await {
            received += usize::from(delivered == id);
        }
        if received == args.subscribers {
            warmed_up = true;
            break;
        }
    }
    assert!(warmed_up, "not every subscriber received a payout within a minute");
    let connected_in = connecting.elapsed();
    let after = rss_mib(args.pid);

    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    for _ in 0..args.events {
        let started = Instant::now();
        let id = gql(http, args, submit, input.clone()).await["submitPayout"]["id"].as_str().unwrap().to_owned();
        sent_at.insert(id, started);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let expected = args.subscribers * args.events;
    let mut latencies = Vec::with_capacity(expected);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while latencies.len() < expected {
        let Ok(Some((id, arrived))) = tokio::time::timeout_at(deadline, deliveries.recv()).await else { break };
        if let Some(sent) = sent_at.get(&id) {
            latencies.push(arrived.duration_since(*sent));
        }
    }
    let during = rss_mib(args.pid);
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "subscribers: {} connected, subscribed and receiving within {:.1} s",
        args.subscribers,
        connected_in.as_secs_f64()
    );
    println!(
        "deliveries: {} of {} ({} payouts x {} subscribers), missing {}",
        latencies.len(),
        expected,
        args.events,
        args.subscribers,
        expected - latencies.len()
    );
    println!(
        "latency from sending the mutation: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.9)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );
    if let (Some(before), Some(after), Some(during)) = (before, after, during) {
        println!(
            "server memory (RSS): {before:.1} MiB before, {after:.1} MiB with the subscribers ({:.1} KiB each), {during:.1} MiB after the events",
            (after - before) * 1024.0 / args.subscribers as f64
        );
    }
    for task in tasks {
        task.abort();
    }
}

/// The figure reads the server counted so far (`jaminan_figure_feed_reads_total`, exact class).
async fn reads(http: &reqwest::Client, args: &Args) -> f64 {
    metric(http, args, "jaminan_figure_feed_reads_total{class=\"exact\"} ").await
}

/// A value of the server's `/metrics` (the line's start, its name and labels), 0 when absent.
async fn metric(http: &reqwest::Client, args: &Args, line_start: &str) -> f64 {
    let metrics = http.get(format!("{}/metrics", args.url)).bearer_auth(&args.admin).send().await.expect("metrics");
    let text = metrics.text().await.expect("metrics text");
    text.lines().find_map(|l| l.strip_prefix(line_start)).and_then(|n| n.trim().parse().ok()).unwrap_or(0.0)
}

/// Registers and enrolls a worker of 36.03 for the year: one change of its figures.
async fn enroll_one(http: &reqwest::Client, args: &Args, serial: usize) {
    let year = args.year;
    // Born on 15 May 1950-1999 (the NIK's DDMMYY), so that every year's coverage is valid; the
    // process id keeps runs on one database apart.
    let pid = std::process::id() as usize;
    let nik = format!("3603121505{:02}{:04}", 50 + pid % 50, (pid / 50 % 10) * 1_000 + serial);
    let register = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";
    let input =
        json!({ "input": { "nik": nik, "fullName": "Pekerja Bench", "regencyCode": "36.03", "occupation": "FARMER" } });
    let worker = gql(http, args, register, input).await["registerWorker"]["id"].as_str().unwrap().to_owned();
    let enroll = "mutation($input: EnrollInput!) { enrollWorker(input: $input) { id } }";
    let input = json!({ "input": { "workerId": worker, "regencyCode": "36.03", "fundingSource": "APBD",
        "startsOn": format!("{year}-01-01"), "endsOn": format!("{year}-12-31") } });
    gql(http, args, enroll, input).await;
}

/// Keyed subscribers of one regency's figures: the reads per change, and the latency.
async fn figures(http: &reqwest::Client, args: &Args) {
    let (deliveries_tx, mut deliveries) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for _ in 0..args.subscribers {
        tasks.push(tokio::spawn(subscriber(
            args.url.clone(),
            Some(args.admin.clone()),
            FIGURES,
            args.year,
            deliveries_tx.clone(),
        )));
    }
    drop(deliveries_tx);
    // Changes until one reaches every subscriber; measuring starts after that.
    let mut serial = 0;
    let mut warmed_up = false;
    for _ in 0..60 {
        serial += 1;
        enroll_one(http, args, serial).await;
        let mut received = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while let Ok(Some(_)) = tokio::time::timeout_at(deadline, deliveries.recv()).await {
            received += 1;
        }
        if received >= args.subscribers {
            warmed_up = true;
            break;
        }
    }
    assert!(warmed_up, "not every subscriber received figures within a minute");
    let reads_before = reads(http, args).await;
    let mut latencies = Vec::new();
    for _ in 0..args.events {
        serial += 1;
        let started = Instant::now();
        enroll_one(http, args, serial).await;
        // Changes 1.5 s apart: each is read on its own (a feed reads at most once a second).
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while let Ok(Some((_, arrived))) = tokio::time::timeout_at(deadline, deliveries.recv()).await {
            latencies.push(arrived.duration_since(started));
        }
    }
    let reads = reads(http, args).await - reads_before;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "figure subscribers: {} keyed subscribers of 36.03, {} changes, {} deliveries (of {})",
        args.subscribers,
        args.events,
        latencies.len(),
        args.subscribers * args.events
    );
    println!("reads: {reads} in all, {:.2} per change", reads / args.events as f64);
    println!(
        "latency from sending the mutation: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0)),
    );
    for task in tasks {
        task.abort();
    }
}

/// Anonymous subscribers of one regency's figures: how long after a change every one of them has
/// seen it, and how long anonymous reads of the same figures take meanwhile.
async fn anonymous(http: &reqwest::Client, args: &Args) {
    let (deliveries_tx, mut deliveries) = mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for _ in 0..args.subscribers {
        tasks.push(tokio::spawn(subscriber(args.url.clone(), None, FIGURES, args.year, deliveries_tx.clone())));
    }
    drop(deliveries_tx);
    // A change made before a subscriber has read its first figures would be in those figures, and
    // never sent: the first anonymous read of a year computes its publication (about half a
    // second at 10 million workers), so the changes wait until every subscription is open.
    let open = tokio::time::Instant::now();
    while metric(http, args, "jaminan_subscriptions_open ").await < args.subscribers as f64 {
        assert!(open.elapsed() < Duration::from_secs(60), "the subscriptions did not open within a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Anonymous reads every 20 ms for as long as the changes go on.
    let (reads_tx, mut read_latencies) = mpsc::unbounded_channel();
    let reader = {
        let (http, url, year) = (http.clone(), args.url.clone(), args.year);
        tokio::spawn(async move {
            let query = format!("{{ coverageStats(areaCode: \"36.03\", year: {year}) {{ coveredWorkers }} }}");
            loop {
                let started = Instant::now();
                let response = http.post(format!("{url}/graphql")).json(&json!({ "query": query })).send().await;
                let body: Value = match response {
                    Ok(response) => response.json().await.unwrap_or_default(),
                    Err(_) => Value::Null,
                };
                assert!(body["data"]["coverageStats"].is_object(), "an anonymous read failed: {body}");
                let _ = reads_tx.send(started.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    // Every change is waited for until each subscriber has seen it (at most 15 s), then 3 s pass,
    // so that no two changes are gathered into one recomputation. The first change warms up.
    let mut serial = 0;
    let mut delays = Vec::new();
    for event in 0..=args.events {
        serial += 1;
        let started = Instant::now();
        enroll_one(http, args, serial).await;
        let mut seen = 0;
        let mut last = None;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while seen < args.subscribers {
            let Ok(Some((_, arrived))) = tokio::time::timeout_at(deadline, deliveries.recv()).await else { break };
            seen += 1;
            last = Some(arrived.duration_since(started));
        }
        assert_eq!(
            seen, args.subscribers,
            "change {event}: {seen} of {} subscribers saw it within 15 s",
            args.subscribers
        );
        if event > 0 {
            delays.push(last.unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    reader.abort();
    let mut reads = Vec::new();
    while let Ok(latency) = read_latencies.try_recv() {
        reads.push(latency);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // The first read opens the connection; the slow ones after it show a reader held up.
    let first = reads.first().copied().unwrap_or_default();
    let slow = reads.iter().skip(1).filter(|d| ms(**d) > 50.0).map(|d| format!("{:.0}", ms(*d))).collect::<Vec<_>>();
    delays.sort();
    reads.sort();
    println!(
        "anonymous subscribers: {} of 36.03 ({}), {} changes: every subscriber saw each change after p50 {:.0} ms, max {:.0} ms",
        args.subscribers,
        args.year,
        delays.len(),
        ms(percentile(&delays, 0.5)),
        ms(percentile(&delays, 1.0)),
    );
    println!(
        "anonymous reads meanwhile: {} reads, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; the first {:.1} ms; after it over 50 ms: [{}] ms",
        reads.len(),
        ms(percentile(&reads, 0.5)),
        ms(percentile(&reads, 0.99)),
        ms(percentile(&reads, 1.0)),
        ms(first),
        slow.join(", "),
    );
    for task in tasks {
        task.abort();
    }
}
