//! gRPC health that follows the database: SERVING while it answers, NOT_SERVING while
//! it does not.
//!
//! A poll alone reports an outage late and recovery late (one interval each way), so
//! two things shorten both: every request that finds the database unreachable wakes the
//! tracker at once ([`database_unreachable`], called from the one `sqlx::Error`
//! conversion), and while the database is down the tracker checks again every few
//! hundred milliseconds, so SERVING returns as soon as it answers.
//!
//! The tracker checks over a connection of its own, not the pool: a pool that is
//! merely busy (every connection taken under load) is not a database that is down,
//! and must not take the replica out of its load balancer.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// Wakes every health tracker of the process. A static because database errors are
/// converted far from any handle to the server (in `From<sqlx::Error>`); a process
/// that serves two services (`cinema-dev up`) wakes both trackers, and each checks its own
/// database.
static UNREACHABLE: Notify = Notify::const_new();

/// Tells the health trackers that a call just found the database unreachable.
pub fn database_unreachable() {
    UNREACHABLE.notify_waiters();
}

/// The health entry that says only "this process is alive and serving gRPC": always
/// SERVING, whatever the database does. For liveness probes: a replica whose database
/// is down must be taken out of the balance (readiness), not restarted.
pub const LIVENESS: &str = "liveness";

/// How often the tracker checks, and how long one check may take.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Between checks while the database answers.
    pub healthy: Duration,
    /// Between checks while it does not.
    pub unhealthy: Duration,
    /// The longest one check waits (connect and `SELECT 1`).
    pub timeout: Duration,
}

impl Default for Intervals {
    fn default() -> Self {
        Self {
            healthy: Duration::from_secs(2),
            unhealthy: Duration::from_millis(200),
            timeout: Duration::from_secs(1),
        }
    }
}

/// The health of a running server, kept in step with its database.
#[derive(Debug)]
pub struct HealthGuard {
    reporter: HealthReporter,
    services: Vec<&'static str>,
    stop: CancellationToken,
    tracker: tokio::task::JoinHandle<()>,
}

impl HealthGuard {
    /// Reports NOT_SERVING for `services` (and the server as a whole, the `""` entry)
    /// until the first check passes, then follows the database of `pool`.
    pub async fn start(
        pool: &sqlx::PgPool,
        reporter: HealthReporter,
        services: Vec<&'static str>,
        intervals: Intervals,
    ) -> Self {
        set_all(&reporter, &services, ServingStatus::NotServing).await;
        reporter
            .set_service_status(LIVENESS, ServingStatus::Serving)
            .await;
        let stop = CancellationToken::new();
        let probe = Probe {
            options: (*pool.connect_options()).clone(),
            conn: None,
            timeout: intervals.timeout,
        };
        let tracker = tokio::spawn(track(
            probe,
            reporter.clone(),
            services.clone(),
            intervals,
            stop.clone(),
        ));
        Self {
            reporter,
            services,
            stop,
            tracker,
        }
    }

    /// Reports NOT_SERVING for good: call when shutdown starts, so load balancers stop
    /// sending calls while in-flight ones drain.
    pub async fn shutting_down(self) {
        self.stop.cancel();
        let _ = self.tracker.await;
        set_all(&self.reporter, &self.services, ServingStatus::NotServing).await;
    }
}

async fn set_all(reporter: &HealthReporter, services: &[&'static str], status: ServingStatus) {
    for service in std::iter::once("").chain(services.iter().copied()) {
        reporter.set_service_status(service, status).await;
    }
}

/// Checks the database over a connection of its own, made again after any failure.
struct Probe {
    options: PgConnectOptions,
    conn: Option<PgConnection>,
    timeout: Duration,
}

impl Probe {
    async fn ping(&mut self) -> Result<(), sqlx::Error> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.options.connect().await?),
        };
        conn.ping().await
    }

    async fn healthy(&mut self) -> bool {
        let ok = matches!(
            tokio::time::timeout(self.timeout, self.ping()).await,
            Ok(Ok(()))
        );
        if !ok {
            // A connection that failed once (terminated, timed out) is not trusted again.
            self.conn = None;
        }
        ok
    }
}

async fn track(
    mut probe: Probe,
    reporter: HealthReporter,
    services: Vec<&'static str>,
    intervals: Intervals,
    stop: CancellationToken,
) {
    let mut last = None;
    loop {
        // Registered before the check, so a failure reported during it is not missed.
        let woken = UNREACHABLE.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();

        let healthy = probe.healthy().await;
        let status = if healthy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            if last.is_some() {
                tracing::warn!(?status, "database health changed");
            }
            set_all(&reporter, &services, status).await;
            last = Some(status);
        }
        if healthy {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(intervals.healthy) => {}
                () = &mut woken => {}
            }
        } else {
            // Already down: failing calls need not wake us, the short interval does.
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(intervals.unhealthy) => {}
            }
        }
    }
}
