//! The audit trail through the API: one entry per mutation (in the mutation's transaction), none for
//! a failed one, NIKs never in full, admin-only keyset pages, and no way to change it: the database
//! refuses UPDATE and DELETE, and the hash chain shows an entry edited, deleted or moved past that.
use crate::common;

use std::process::{Command, Output};

use common::{Backend, TestApp, data, error_code};
use jaminan::auth::{self, Role};
use jaminan::domain::audit_chain::ChainBreak;
use jaminan::entities::audit_log;
use jaminan::services::audit;
use migration::MigratorTrait;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    QueryTrait, Statement, TransactionTrait,
};
use serde_json::{Value, json};

const NIK: &str = "3603121505850001";

/// Every audit entry, oldest first, as the admin reads them page by page.
async fn all_entries(app: &TestApp) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let response = app
            .gql_as(
                &app.admin,
                "query($after: String) { auditLog(first: 100, after: $after) {
                    nodes { id operation entityType entityId apiKeyId apiKeyName at changes }
                    pageInfo { hasNextPage endCursor } } }",
                json!({ "after": after }),
            )
            .await;
        let page = &data(&response)["auditLog"];
        entries.extend(page["nodes"].as_array().unwrap().iter().cloned());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    entries.reverse();
    entries
}

fn operations(entries: &[Value]) -> Vec<(String, String)> {
    entries
        .iter()
        .map(|e| (e["operation"].as_str().unwrap().to_owned(), e["entityType"].as_str().unwrap().to_owned()))
        .collect()
}

fn op(operation: &str, entity: &str) -> (String, String) {
    (operation.to_owned(), entity.to_owned())
}

backend_test!(each_mutation_appends_its_entries, |app: TestApp| async move {
    let w = app.register(NIK, "Siti Aminah", "36.03", None, "FISHER").await;
    data(
        &app.gql_as(
            &app.admin,
            "mutation($id: ID!) { updateWorker(id: $id, input: { fullName: \"Siti Aminah Binti Ahmad\" }) { id } }",
            json!({ "id": w }),
        )
        .await,
    );
    let first = app.enroll(&w, "36.03", "2022-01-01", Some("2022-12-31")).await;
    data(
        &app.gql_as(
            &app.admin,
            "mutation($id: ID!) { endCoverage(id: $id, endsOn: \"2022-11-30\", reason: EXPIRED) { id } }",
            json!({ "id": first }),
        )
        .await,
    );
    let open = app.enroll(&w, "36.03", "2023-01-01", None).await;
    data(
        &app.gql_as(
            &app.admin,
            r#"mutation { setCoverageTarget(input: { regencyCode: "36.03", year: 2023, targetWorkers: 100000 }) { year } }"#,
            json!({}),
        )
        .await,
    );
    data(
        &app.gql_as(
            &app.admin,
            "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2023-08-01\") { id } }",
            json!({ "w": w }),
        )
        .await,
    );
    let submitted = app
        .gql_as(
            &app.admin,
            "mutation($w: ID!) { submitPayout(input: { workerId: $w, benefit: DEATH, incidentOn: \"2023-08-01\",
                beneficiaryName: \"Ahmad\", beneficiaryRelationship: SPOUSE }) { id } }",
            json!({ "w": w }),
        )
        .await;
    let payout = data(&submitted)["submitPayout"]["id"].as_str().unwrap().to_owned();
    // Four-eyes: the second admin walks it on.
    for step in ["verifyPayout(id: $p)", "approvePayout(id: $p)", "markPayoutPaid(id: $p, paymentReference: \"TRF-1\")"]
    {
        data(
            &app.gql_as(&app.admin2, &format!("mutation($p: ID!) {{ {step} {{ id }} }}"), json!({ "p": payout })).await,
        );
    }

    let entries = all_entries(&app).await;
    assert_eq!(
        operations(&entries),
        [
            op("registerWorker", "WORKER"),
            op("updateWorker", "WORKER"),
            op("enrollWorker", "COVERAGE"),
            op("endCoverage", "COVERAGE"),
            op("enrollWorker", "COVERAGE"),
            op("setCoverageTarget", "COVERAGE_TARGET"),
            // A death ends the open coverage and marks the worker, in one transaction.
            op("recordDeath", "COVERAGE"),
            op("recordDeath", "WORKER"),
            op("submitPayout", "PAYOUT"),
            op("verifyPayout", "PAYOUT"),
            op("approvePayout", "PAYOUT"),
            op("markPayoutPaid", "PAYOUT"),
        ]
    );
    assert_eq!(entries[6]["entityId"], open.as_str());
    assert_eq!(entries[6]["changes"]["end_reason"], json!({ "before": null, "after": "DECEASED" }));
    assert_eq!(entries[7]["entityId"], w.as_str());
    assert_eq!(entries[7]["changes"]["status"]["after"], "DECEASED");
    assert_eq!(entries[1]["changes"]["full_name"]["after"], "Siti Aminah Binti Ahmad");
    assert_eq!(entries[8]["entityId"], payout.as_str());
    assert_eq!(entries[11]["changes"]["status"], json!({ "before": "APPROVED", "after": "PAID" }));
    // Who: the submitter is the first admin, the transitions the second.
    assert_eq!(entries[8]["apiKeyName"], "test admin");
    assert!(entries[9..].iter().all(|e| e["apiKeyName"] == "second admin"));
    assert_ne!(entries[8]["apiKeyId"], entries[9]["apiKeyId"]);
    // When: RFC 3339 timestamps in order.
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.iter().all(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{times:?}");
    // One entity's history.
    let response = app
        .gql_as(
            &app.admin,
            "query($p: ID!) { auditLog(entityType: PAYOUT, entityId: $p) { nodes { operation } } }",
            json!({ "p": payout }),
        )
        .await;
    let history: Vec<&str> = data(&response)["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["operation"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["markPayoutPaid", "approvePayout", "verifyPayout", "submitPayout"]);
});

backend_test!(failed_mutations_leave_no_entry, |app: TestApp| async move {
    let w = app.register(NIK, "Siti Aminah", "36.03", None, "FISHER").await;
    let before = app.count_rows("audit_log").await;
    let failures = [
        // Duplicate NIK.
        (
            format!(
                r#"mutation {{ registerWorker(input: {{ nik: "{NIK}", fullName: "X", regencyCode: "36.03", occupation: FISHER }}) {{ id }} }}"#
            ),
            "CONFLICT",
        ),
        // Not covered on the incident day.
        (
            format!(
                r#"mutation {{ submitPayout(input: {{ workerId: "{w}", benefit: DEATH, incidentOn: "2023-08-01",
                    beneficiaryName: "Ahmad", beneficiaryRelationship: SPOUSE }}) {{ id }} }}"#
            ),
            "NOT_COVERED",
        ),
        // A target below zero.
        (
            r#"mutation { setCoverageTarget(input: { regencyCode: "36.03", year: 2023, targetWorkers: -1 }) { year } }"#
                .to_owned(),
            "BAD_USER_INPUT",
        ),
        // Unknown worker.
        (r#"mutation { recordDeath(workerId: "999999", diedOn: "2023-08-01") { id } }"#.to_owned(), "NOT_FOUND"),
    ];
    for (mutation, code) in &failures {
        let response = app.gql_as(&app.admin, mutation, json!({})).await;
        assert_eq!(error_code(&response), *code, "{response}");
    }
    // An anonymous write is refused before it touches anything.
    let response = app
        .gql(&format!(r#"mutation {{ recordDeath(workerId: "{w}", diedOn: "2023-08-01") {{ id }} }}"#), json!({}))
        .await;
    assert_eq!(error_code(&response), "UNAUTHENTICATED");
    assert_eq!(app.count_rows("audit_log").await, before);
});

backend_test!(full_niks_never_reach_the_audit_log, |app: TestApp| async move {
    let w = app.register(NIK, "Siti Aminah", "36.03", None, "FISHER").await;
    app.enroll(&w, "36.03", "2023-01-01", None).await;
    data(
        &app.gql_as(
            &app.admin,
            "mutation($w: ID!) { recordDeath(workerId: $w, diedOn: \"2023-08-01\") { id } }",
            json!({ "w": w }),
        )
        .await,
    );
    let entries = all_entries(&app).await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(NIK), "full NIK in {text}");
    assert!(!text.contains("1505850001"), "NIK middle digits in {text}");
    assert_eq!(entries[0]["changes"]["nik"]["after"], "360312******0001");
    // Also not in the stored rows, which a database dump would show.
    let row = app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT changes FROM audit_log",
        ))
        .await
        .unwrap();
    for r in row {
        let changes: String = r.try_get("", "changes").unwrap();
        assert!(!changes.contains(NIK), "{changes}");
        // The birth date is the masked middle of the NIK.
        assert!(!changes.contains("1985-05-15") && !changes.contains("birth_date"), "{changes}");
    }
});

backend_test!(audit_log_pages_by_keyset_both_ways, |app: TestApp| async move {
    // 7 entries: 7 registrations.
    for serial in 1..=7 {
        app.register(&format!("3603121505850{serial:03}"), "Pekerja", "36.03", None, "FISHER").await;
    }
    let page = |first_or_last: &'static str, cursor_arg: &'static str, cursor: Option<String>| {
        let app = app.clone();
        async move {
            let response = app
                .gql_as(
                    &app.admin,
                    &format!(
                        "query($c: String) {{ auditLog({first_or_last}: 3, {cursor_arg}: $c) {{
                            edges {{ cursor node {{ id }} }}
                            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"
                    ),
                    json!({ "c": cursor }),
                )
                .await;
            data(&response)["auditLog"].clone()
        }
    };
    let ids = |page: &Value| -> Vec<i64> {
        page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().parse().unwrap()).collect()
    };

    let p1 = page("first", "after", None).await;
    let p2 = page("first", "after", p1["pageInfo"]["endCursor"].as_str().map(str::to_owned)).await;
    let p3 = page("first", "after", p2["pageInfo"]["endCursor"].as_str().map(str::to_owned)).await;
    let forward: Vec<i64> = [ids(&p1), ids(&p2), ids(&p3)].concat();
    assert_eq!(forward.len(), 7);
    assert!(forward.windows(2).all(|w| w[0] > w[1]), "newest first: {forward:?}");
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);
    assert_eq!(ids(&p3).len(), 1);

    // Backwards from the end of page 2 gives page 1's tail and page 2, in the same order.
    let back = page("last", "before", p2["pageInfo"]["startCursor"].as_str().map(str::to_owned)).await;
    assert_eq!(ids(&back), ids(&p1));
    assert_eq!(back["pageInfo"]["hasPreviousPage"], false);

    // Page size and cursor are validated.
    let response = app.gql_as(&app.admin, "{ auditLog(first: 101) { nodes { id } } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = app.gql_as(&app.admin, r#"{ auditLog(after: "not-a-cursor") { nodes { id } } }"#, json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
});

backend_test!(only_admins_read_it_and_nobody_changes_it, |app: TestApp| async move {
    app.register(NIK, "Siti Aminah", "36.03", None, "FISHER").await;
    let query = "{ auditLog { nodes { id } } }";
    assert_eq!(error_code(&app.gql(query, json!({})).await), "UNAUTHENTICATED");
    for role in [Role::Viewer, Role::Operator, Role::Supervisor] {
        let (key, _) = auth::keys::create_key(&app.state.db, "reader", role, None).await.unwrap();
        assert_eq!(error_code(&app.gql_as(&key, query, json!({})).await), "FORBIDDEN", "{role:?}");
    }
    // The schema offers no mutation of the log.
    let response = app.gql("{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let mutations = data(&response)["__schema"]["mutationType"]["fields"].as_array().unwrap().clone();
    assert!(!mutations.is_empty());
    assert!(mutations.iter().all(|f| !f["name"].as_str().unwrap().to_lowercase().contains("audit")), "{mutations:?}");
    // And the connection has no totalCount to count it by.
    let response = app.gql_as(&app.admin, "{ auditLog { totalCount } }", json!({})).await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
});

/// Registers `n` workers (one audit entry each), seals them and returns the entries' ids, oldest
/// first.
async fn entries_for(app: &TestApp, n: u32) -> Vec<i64> {
    for serial in 1..=n {
        app.register(&format!("3603121505850{serial:03}"), "Pekerja", "36.03", None, "FISHER").await;
    }
    app.seal_audit().await;
    audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Id)
        .order_by_asc(audit_log::Column::Id)
        .into_tuple()
        .all(&app.state.db)
        .await
        .unwrap()
}

/// Runs statements on the audit log past its triggers, as someone with the database's owner
/// rights would: PostgreSQL skips triggers for a superuser's `session_replication_role =
/// replica`; on SQLite the triggers are dropped (the database is this test's own).
async fn tamper(app: &TestApp, statements: Vec<Statement>) {
    let db = &app.state.db;
    if app.backend == Backend::Sqlite {
        for name in ["audit_log_no_update", "audit_log_no_delete"] {
            db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name}")).await.unwrap();
        }
    }
    let txn = db.begin().await.unwrap();
    if app.backend == Backend::Postgres {
        txn.execute_unprepared("SET LOCAL session_replication_role = replica").await.unwrap();
    }
    for statement in statements {
        txn.execute_raw(statement).await.unwrap();
    }
    txn.commit().await.unwrap();
}

async fn entry(app: &TestApp, id: i64) -> audit_log::Model {
    audit_log::Entity::find_by_id(id).one(&app.state.db).await.unwrap().unwrap()
}

/// Gives entry `id` the columns of `from` except the id (`with_hashes`: the hashes too).
fn copy_entry(app: &TestApp, from: &audit_log::Model, id: i64, with_hashes: bool) -> Statement {
    let mut row = from.clone().into_active_model().reset_all();
    row.id = sea_orm::ActiveValue::NotSet;
    if !with_hashes {
        row.previous_hash = sea_orm::ActiveValue::NotSet;
        row.entry_hash = sea_orm::ActiveValue::NotSet;
    }
    audit_log::Entity::update_many()
        .set(row)
        .filter(audit_log::Column::Id.eq(id))
        .build(app.state.db.get_database_backend())
}

async fn chain_break(app: &TestApp) -> Option<ChainBreak> {
    audit::verify(&app.state.db).await.unwrap().broken
}

backend_test!(the_database_refuses_to_change_or_remove_entries, |app: TestApp| async move {
    let ids = entries_for(&app, 2).await;
    let before = entry(&app, ids[0]).await;
    let backend = app.state.db.get_database_backend();
    let edit = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Changes, Expr::value("{}"))
        .filter(audit_log::Column::Id.eq(ids[0]))
        .build(backend);
    let remove = audit_log::Entity::delete_many().filter(audit_log::Column::Id.eq(ids[0])).build(backend);
    for statement in [edit, remove] {
        let error = app.state.db.execute_raw(statement).await.unwrap_err().to_string();
        assert!(error.contains("audit_log is append-only"), "{error}");
    }
    if app.backend == Backend::Postgres {
        let refused = app.state.db.execute_unprepared("TRUNCATE audit_log").await;
        assert!(refused.expect_err("TRUNCATE accepted").to_string().contains("append-only"));
    }
    assert_eq!(entry(&app, ids[0]).await, before);
    assert_eq!(app.count_rows("audit_log").await, 2);
});

backend_test!(concurrent_mutations_leave_an_intact_chain, |app: TestApp| async move {
    let registrations = (1..=40).map(|serial| {
        let app = app.clone();
        async move { app.register(&format!("3603121505850{serial:03}"), "Pekerja", "36.03", None, "FISHER").await }
    });
    futures_util::future::join_all(registrations).await;
    app.seal_audit().await;
    let report = audit::verify(&app.state.db).await.unwrap();
    assert_eq!(report.broken, None);
    assert_eq!((report.checked, report.unsealed), (40, 0));
    assert_eq!(report.checked as i64, app.count_rows("audit_log").await);
    let newest = entry(&app, report.head.as_ref().unwrap().0).await;
    assert_eq!(report.head, Some((newest.id, newest.entry_hash.unwrap())));
    let first = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).one(&app.state.db).await.unwrap();
    assert_eq!(first.unwrap().previous_hash.as_deref(), Some(jaminan::domain::audit_chain::GENESIS));
});

backend_test!(an_edited_entry_is_named, |app: TestApp| async move {
    let ids = entries_for(&app, 5).await;
    assert_eq!(chain_break(&app).await, None);
    let edit = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::Changes, Expr::value(r#"{"full_name":{"before":null,"after":"Someone else"}}"#))
        .filter(audit_log::Column::Id.eq(ids[2]))
        .build(app.state.db.get_database_backend());
    tamper(&app, vec![edit]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Edited { id: ids[2] }));
});

backend_test!(a_deleted_entry_is_found, |app: TestApp| async move {
    let ids = entries_for(&app, 5).await;
    let remove = audit_log::Entity::delete_many()
        .filter(audit_log::Column::Id.eq(ids[2]))
        .build(app.state.db.get_database_backend());
    tamper(&app, vec![remove]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Unlinked { id: ids[3], after: Some(ids[1]) }));
    // The oldest one too.
    let remove = audit_log::Entity::delete_many()
        .filter(audit_log::Column::Id.eq(ids[0]))
        .build(app.state.db.get_database_backend());
    tamper(&app, vec![remove]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Unlinked { id: ids[1], after: None }));
});

backend_test!(swapped_entries_are_found, |app: TestApp| async move {
    let ids = entries_for(&app, 5).await;
    let (one, three) = (entry(&app, ids[1]).await, entry(&app, ids[3]).await);
    // The contents swapped, each keeping its hashes: the first of them no longer matches its hash.
    tamper(&app, vec![copy_entry(&app, &three, ids[1], false), copy_entry(&app, &one, ids[3], false)]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Edited { id: ids[1] }));
    // Swapped back: intact again.
    tamper(&app, vec![copy_entry(&app, &one, ids[1], false), copy_entry(&app, &three, ids[3], false)]).await;
    assert_eq!(chain_break(&app).await, None);
    // Whole entries swapped (a reordering): the first no longer follows the one before it.
    tamper(&app, vec![copy_entry(&app, &three, ids[1], true), copy_entry(&app, &one, ids[3], true)]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Unlinked { id: ids[1], after: Some(ids[0]) }));
});

backend_test!(the_migration_seals_entries_written_before_the_chain, |app: TestApp| async move {
    // Back to the schema before the chain, with entries written then (times with nanoseconds, as
    // SQLite kept them), and forward again.
    let migrations = <migration::Migrator as migration::MigratorTrait>::migrations();
    let since_chain = migrations.iter().rev().position(|m| m.name() == "m20261126_000005_audit_chain").unwrap() + 1;
    migration::Migrator::down(&app.state.db, Some(since_chain as u32)).await.unwrap();
    let at =
        chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00.123456789Z").unwrap().with_timezone(&chrono::Utc);
    for (serial, changes) in ["{}", r#"{"a":{"before":1,"after":2}}"#, "{}"].into_iter().enumerate() {
        let insert = Query::insert()
            .into_table("audit_log")
            .columns(["at", "api_key_id", "api_key_name", "operation", "entity_type", "entity_id", "changes"])
            .values_panic([
                (at + chrono::Duration::seconds(serial as i64)).into(),
                1.into(),
                "old admin".into(),
                "registerWorker".into(),
                "WORKER".into(),
                (serial as i64 + 1).into(),
                changes.into(),
            ])
            .to_owned();
        app.state.db.execute(&insert).await.unwrap();
    }
    migration::Migrator::up(&app.state.db, None).await.unwrap();
    let report = audit::verify(&app.state.db).await.unwrap();
    assert_eq!((report.checked, report.broken), (3, None));
    // New entries chain after them, and the triggers are back.
    entries_for(&app, 1).await;
    let report = audit::verify(&app.state.db).await.unwrap();
    assert_eq!((report.checked, report.broken), (4, None));
    assert!(app.state.db.execute_unprepared("DELETE FROM audit_log").await.is_err());
});

fn jaminan(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaminan")).args(args).env("DATABASE_URL", database_url).output().expect("jaminan")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

backend_test!(audit_verify_command_exits_1_naming_the_entry, |app: TestApp| async move {
    let ids = entries_for(&app, 3).await;
    let intact = jaminan(&app.database_url(), &["audit", "verify"]);
    assert_eq!(intact.status.code(), Some(0), "{}", text(&intact));
    assert!(text(&intact).contains("audit log intact: 3 entries checked in"), "{}", text(&intact));
    let head = entry(&app, ids[2]).await;
    assert!(
        text(&intact).contains(&format!("head: entry {}, hash {}", head.id, head.entry_hash.unwrap())),
        "{}",
        text(&intact)
    );

    let edit = audit_log::Entity::update_many()
        .col_expr(audit_log::Column::ApiKeyName, Expr::value("someone else"))
        .filter(audit_log::Column::Id.eq(ids[1]))
        .build(app.state.db.get_database_backend());
    tamper(&app, vec![edit]).await;
    let broken = jaminan(&app.database_url(), &["audit", "verify"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let said = text(&broken);
    assert!(said.contains(&format!("entry {} was edited", ids[1])), "{said}");
    assert!(said.contains("2 entries checked in"), "{said}");
});

backend_test!(deleting_the_newest_entries_shows_against_a_recorded_head, |app: TestApp| async move {
    let ids = entries_for(&app, 3).await;
    let head = entry(&app, ids[2]).await;
    let recorded = format!("{}:{}", head.id, head.entry_hash.unwrap());
    let intact = jaminan(&app.database_url(), &["audit", "verify", "--expect-head", &recorded]);
    assert_eq!(intact.status.code(), Some(0), "{}", text(&intact));
    assert!(text(&intact).contains(&format!("--expect-head {recorded}")), "{}", text(&intact));

    // The newest entry removed: the chain left is intact, only the recorded head shows it.
    let delete = audit_log::Entity::delete_many()
        .filter(audit_log::Column::Id.eq(ids[2]))
        .build(app.state.db.get_database_backend());
    tamper(&app, vec![delete]).await;
    assert_eq!(chain_break(&app).await, None);
    let truncated = jaminan(&app.database_url(), &["audit", "verify", "--expect-head", &recorded]);
    assert_eq!(truncated.status.code(), Some(1), "{}", text(&truncated));
    assert!(text(&truncated).contains(&format!("entry {}, the head recorded earlier, is gone", ids[2])));
    let malformed = jaminan(&app.database_url(), &["audit", "verify", "--expect-head", "abc"]);
    assert_eq!(malformed.status.code(), Some(1), "{}", text(&malformed));
    assert!(text(&malformed).contains("ID:HASH"), "{}", text(&malformed));
});

backend_test!(api_key_administration_is_audited_without_the_key, |app: TestApp| async move {
    let url = app.database_url();
    let args =
        ["api-key", "create", "--name", "desk 36.03", "--role", "operator", "--scope", "36.03", "--owner", "siti"];
    let created = jaminan(&url, &args);
    assert!(created.status.success(), "{}", text(&created));
    let printed = String::from_utf8_lossy(&created.stdout).into_owned();
    let key = printed.lines().last().unwrap().to_owned();
    let row = auth::keys::list_keys(&app.state.db).await.unwrap().into_iter().find(|k| k.name == "desk 36.03").unwrap();
    // The key works, and its creation is in the log.
    let response = app.gql_as(&key, "{ workers { totalCount } }", json!({})).await;
    assert_eq!(data(&response)["workers"]["totalCount"], 0);
    let entries = all_entries(&app).await;
    assert_eq!(operations(&entries), [op("createApiKey", "API_KEY")]);
    let revoked = jaminan(&url, &["api-key", "revoke", &row.id.to_string()]);
    app.seal_audit().await;
    assert!(revoked.status.success(), "{}", text(&revoked));
    // Nothing left to revoke: no entry either.
    assert!(!jaminan(&url, &["api-key", "revoke", &row.id.to_string()]).status.success());

    let entries = all_entries(&app).await;
    assert_eq!(operations(&entries), [op("createApiKey", "API_KEY"), op("revokeApiKey", "API_KEY")]);
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    for entry in &entries {
        assert_eq!(entry["entityId"], row.id.to_string());
        assert_eq!(
            (entry["apiKeyId"].as_str(), entry["apiKeyName"].as_str()),
            (Some("0"), Some(format!("cli ({user})").as_str()))
        );
    }
    // Whose it is and when it ends are part of what the log says of a key.
    let expires = row.expires_at.unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let described =
        json!({ "name": "desk 36.03", "role": "OPERATOR", "scope": "36.03", "owner": "siti", "expiresAt": expires });
    let side = |entry: &Value, side: &str| -> Value {
        entry["changes"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(field, change)| (field.clone(), change[side].clone()))
            .collect()
    };
    assert_eq!(side(&entries[0], "after"), described, "{}", entries[0]);
    assert_eq!(side(&entries[1], "before"), described, "{}", entries[1]);
    // Neither the key nor its hash, in any form the log holds.
    let log = serde_json::to_string(&entries).unwrap();
    assert!(!log.contains(&key[4..]) && !log.contains(&row.key_hash), "{log}");

    let verified = jaminan(&url, &["audit", "verify"]);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(text(&verified).contains("audit log intact: 2 entries checked in"), "{}", text(&verified));
});

// The person of an entry is part of what its hash covers: removing it from an entry that named
// one (to pass it off as a shared key's), or adding one to an entry that had none, is an edit.
backend_test!(an_entry_s_person_is_sealed_in_it, |app: TestApp| async move {
    let ids = entries_for(&app, 3).await;
    let terms = jaminan::auth::keys::KeyTerms { owner: Some("siti".into()), expires_at: None };
    let (siti, _) =
        jaminan::auth::keys::create_key_with(&app.state.db, "Siti", jaminan::auth::Role::Operator, None, terms)
            .await
            .unwrap();
    let register = "mutation($input: RegisterWorkerInput!) { registerWorker(input: $input) { id } }";
    let input = json!({ "input": { "nik": "3603121505859001", "fullName": "Siti", "regencyCode": "36.03", "occupation": "FISHER" } });
    data(&app.gql_as(&siti, register, input).await);
    let hers = *entries_for(&app, 0).await.last().unwrap();
    assert_eq!(entry(&app, hers).await.person.as_deref(), Some("siti"));
    assert_eq!(chain_break(&app).await, None);
    let set_person = |id: i64, person: Option<&str>| {
        audit_log::Entity::update_many()
            .col_expr(audit_log::Column::Person, Expr::value(person.map(str::to_owned)))
            .filter(audit_log::Column::Id.eq(id))
            .build(app.state.db.get_database_backend())
    };
    tamper(&app, vec![set_person(hers, None)]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Edited { id: hers }));
    tamper(&app, vec![set_person(ids[1], Some("budi"))]).await;
    assert_eq!(chain_break(&app).await, Some(ChainBreak::Edited { id: ids[1] }));
});
