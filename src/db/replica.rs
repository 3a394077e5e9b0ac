//! A PostgreSQL read replica (`--read-database-url`): queries read from it while it answers;
//! mutations, and every read a mutation makes, stay on the primary. A replica that stops
//! answering is left out until it answers again, and the queries go to the primary meanwhile.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection};

/// How often the replica is probed, and how long a probe may take.
const PROBE_EVERY: Duration = Duration::from_secs(1);

pub struct ReadReplica {
    db: DatabaseConnection,
    up: AtomicBool,
}

impl ReadReplica {
    /// Starts probing the replica once a second (until the replica is dropped).
    pub fn new(db: DatabaseConnection) -> Arc<ReadReplica> {
        let replica = Arc::new(ReadReplica { db, up: AtomicBool::new(true) });
        tokio::spawn(probe(Arc::downgrade(&replica)));
        replica
    }

    /// The replica's connection while it answers; None sends the query to the primary.
    pub fn for_reads(&self) -> Option<&DatabaseConnection> {
        if self.up.load(Ordering::Relaxed) {
            Some(&self.db)
        } else {
            ::metrics::counter!("jaminan_replica_fallbacks_total").increment(1);
            None
        }
    }

    /// A read on the replica failed for want of the database: leave it out until a probe passes.
    pub fn mark_down(&self) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!("the read replica is unreachable: queries go to the primary");
        }
    }

    /// Whether the replica answers now (for /readyz).
    pub async fn answers(&self) -> bool {
        answers(&self.db).await
    }
}

async fn answers(db: &DatabaseConnection) -> bool {
    matches!(tokio::time::timeout(PROBE_EVERY, db.execute_unprepared("SELECT 1")).await, Ok(Ok(_)))
}

async fn probe(replica: Weak<ReadReplica>) {
    loop {
        tokio::time::sleep(PROBE_EVERY).await;
        let Some(replica) = replica.upgrade() else { return };
        let up = answers(&replica.db).await;
        if up != replica.up.swap(up, Ordering::Relaxed) {
            if up {
                tracing::info!("the read replica answers again: queries read from it");
            } else {
                tracing::warn!("the read replica is unreachable: queries go to the primary");
            }
        }
    }
}
