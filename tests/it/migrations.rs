//! Instances started together on one new PostgreSQL database: one migrates, the others wait for it
//! and find nothing left to do, instead of failing on the tables it created.
use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(jaminan_postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL")]
async fn instances_started_together_migrate_a_new_database_once() {
    let _shared = common::shared().await;
    let base = std::env::var("TEST_DATABASE_URL").unwrap();
    let name = format!("jaminan_migrating_{}", uuid::Uuid::new_v4().simple());
    let admin = jaminan::db::connect(&base, 10).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let url = common::database_url(&base, &name);

    let starts: Vec<_> = (0..3)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { jaminan::app::startup::open_url(&url).await })
        })
        .collect();
    let mut opened = Vec::new();
    for start in starts {
        opened.push(start.await.unwrap().expect("every instance starts"));
    }
    let n = common::TestApp::count(&opened[0], "SELECT COUNT(*) AS n FROM seaql_migrations").await;
    let distinct_n =
        common::TestApp::count(&opened[0], "SELECT COUNT(DISTINCT version) AS n FROM seaql_migrations").await;
    assert_eq!(n, distinct_n);
    assert_eq!(n as usize, Migrator::migrations().len());
    let differences = jaminan::stats::rebuild::verify(&opened[0]).await.unwrap();
    assert!(differences.is_empty(), "{differences:?}");

    for db in opened {
        db.close().await.ok();
    }
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.unwrap();
    admin.close().await.ok();
}
