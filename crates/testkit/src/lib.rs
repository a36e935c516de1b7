//! Test support shared by every crate's tests.
//!
//! Each test gets its own freshly created database, so tests run in parallel without
//! seeing each other's rows. The database *server* is:
//!
//! - the one at `DATABASE_URL` when that variable is set (CI, or a local Postgres), or
//! - otherwise one Postgres container started with testcontainers, shared by the whole
//!   test binary (a laptop with Docker and nothing else).

use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use tokio::sync::OnceCell;
use url::Url;

/// Every database this kit creates starts with this prefix, followed by its creation
/// time in seconds, so stale ones left by earlier runs can be recognised and dropped.
const PREFIX: &str = "cinema_test_";
/// Test databases older than this are dropped when a test binary starts.
const STALE_AFTER_SECS: u64 = 6 * 60 * 60;

/// The server every test database is created on: its admin URL, and the container that
/// must stay alive for as long as the test binary runs (when one was started).
struct Server {
    admin_url: Url,
    _container: Option<ContainerAsync<Postgres>>,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

async fn server() -> anyhow::Result<&'static Server> {
    SERVER
        .get_or_try_init(|| async {
            let server = match std::env::var("DATABASE_URL") {
                Ok(url) => Server {
                    admin_url: Url::parse(&url).context("DATABASE_URL is not a valid URL")?,
                    _container: None,
                },
                Err(_) => start_container().await?,
            };
            drop_stale_databases(&server.admin_url).await?;
            Ok(server)
        })
        .await
}

async fn start_container() -> anyhow::Result<Server> {
    let container = Postgres::default()
        .with_tag("16-alpine")
        .start()
        .await
        .context(
            "DATABASE_URL is not set and no Postgres container could be started: \
             set DATABASE_URL to a Postgres server, or start Docker",
        )?;
    let host = container.get_host().await?;
    let port = container.get_host_port_ipv4(5432).await?;
    Ok(Server {
        admin_url: Url::parse(&format!(
            "postgres://postgres:postgres@{host}:{port}/postgres"
        ))?,
        _container: Some(container),
    })
}

async fn connect(url: &Url) -> anyhow::Result<PgConnection> {
    let options = PgConnectOptions::from_str(url.as_str())?;
    PgConnection::connect_with(&options)
        .await
        .with_context(|| format!("cannot connect to Postgres at {}", redact(url)))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Drops databases that earlier test runs left behind, once they are old enough that
/// no running test can still be using them (test binaries run in parallel).
async fn drop_stale_databases(admin: &Url) -> anyhow::Result<()> {
    let mut conn = connect(admin).await?;
    let names: Vec<String> = sqlx::query_scalar!(
        r#"SELECT datname AS "datname!" FROM pg_database WHERE datname LIKE $1"#,
        format!("{PREFIX}%"),
    )
    .fetch_all(&mut conn)
    .await?;
    let cutoff = now_secs().saturating_sub(STALE_AFTER_SECS);
    for name in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|created| created < cutoff) {
            // Another binary may be dropping the same one: failures are harmless.
            let mut url = admin.clone();
            url.set_path(&format!("/{name}"));
            let _ = sqlx::Postgres::force_drop_database(url.as_str()).await;
        }
    }
    Ok(())
}

/// The admin URL of the test database server, and a fresh name prefix for databases
/// that a test creates itself (they are dropped with the other stale test databases).
pub async fn server_url_and_prefix() -> anyhow::Result<(String, String)> {
    let server = server().await?;
    Ok((
        server.admin_url.to_string(),
        format!("{PREFIX}{}_{}", now_secs(), uuid::Uuid::new_v4().simple()),
    ))
}

/// A database created for one test.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    url: Url,
    name: String,
}

impl TestDatabase {
    /// Creates a new, empty database on the test server.
    pub async fn create() -> anyhow::Result<Self> {
        let server = server().await?;
        let name = format!("{PREFIX}{}_{}", now_secs(), uuid::Uuid::new_v4().simple());
        let mut url = server.admin_url.clone();
        url.set_path(&format!("/{name}"));
        sqlx::Postgres::create_database(url.as_str())
            .await
            .with_context(|| format!("cannot create test database {name}"))?;
        Ok(Self { url, name })
    }

    /// The connection URL of this database.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn redact(url: &Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}

/// A local address for a server a test starts as a child process, which is told its
/// port before it binds it. Not one the kernel hands out for port 0: that range is also
/// where the outgoing connections of the tests running alongside (to Postgres, to the
/// services) take their ports, and one can take the port between this check and the
/// child's bind (seen on 2026-12-08: "cannot listen on 127.0.0.1:33793: Address
/// already in use"). Below that range nothing takes a port by itself; each call takes
/// the next port from a start of this process's own, so two calls never share one.
pub fn unused_local_addr() -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // 20,000 – 32,000: under Linux's default ephemeral range (32,768 – 60,999).
    let start = 20_000 + (std::process::id() % 500) as u16 * 20;
    loop {
        let port = start + NEXT.fetch_add(1, Ordering::Relaxed) % 2_000;
        if let Ok(addr) = std::net::TcpListener::bind(("127.0.0.1", port))
            .and_then(|listener| listener.local_addr())
        {
            return addr;
        }
    }
}

/// Sets up tracing for tests once: trace contexts propagate as in production, and
/// logs stay silent unless `TEST_LOG` is set, as in zero2prod.
pub fn init_test_logging() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        cinema_service::telemetry::init_for_tests(std::env::var_os("TEST_LOG").is_some());
    });
}

/// Polls `check` until it returns `Some`, and returns that; panics after `deadline`.
/// For waiting on something asynchronous (a callback, a text) without a fixed sleep.
pub async fn eventually<T, F, Fut>(what: &str, deadline: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The non-Rust tools some tests drive (buf, a Python with grpcio-tools, axe-core), as installed
/// by `scripts/install-test-tools` under `CINEMA_TOOLS` (default `~/.cache/cinema-tools`).
pub mod tools {
    use std::path::PathBuf;

    fn root() -> PathBuf {
        match std::env::var_os("CINEMA_TOOLS") {
            Some(dir) => PathBuf::from(dir),
            None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/cinema-tools"),
        }
    }

    fn installed(relative: &str) -> PathBuf {
        let path = root().join(relative);
        assert!(
            path.exists(),
            "{} is missing: run scripts/install-test-tools (or scripts/test) first",
            path.display()
        );
        path
    }

    /// The `buf` CLI.
    pub fn buf() -> PathBuf {
        installed("node_modules/.bin/buf")
    }

    /// axe-core's browser script, which checks a rendered page for accessibility.
    pub fn axe() -> PathBuf {
        installed("node_modules/axe-core/axe.min.js")
    }

    /// A Python interpreter with `grpcio` and `grpcio-tools`.
    pub fn python() -> PathBuf {
        installed("venv/bin/python")
    }

    /// The workspace's root directory (where `proto/` is).
    pub fn workspace_root() -> PathBuf {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.canonicalize().unwrap_or(root)
    }
}

/// A TCP proxy between a service and the test database server, so that a test can take
/// the database away from one service (and only that one: other tests share the
/// server) and give it back.
pub mod outage {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use anyhow::Context;
    use tokio::net::{TcpSocket, TcpStream};
    use tokio::task::{JoinHandle, JoinSet};
    use url::Url;

    use super::{TestDatabase, connect, server};

    /// Forwards `127.0.0.1:<port>` to the test server while up; while down, nothing
    /// listens on the port, so connecting is refused, as with a server that stopped.
    #[derive(Debug)]
    pub struct DatabaseProxy {
        addr: SocketAddr,
        upstream: String,
        admin_url: Url,
        accept: Mutex<Option<JoinHandle<()>>>,
        /// The connections being proxied, so going down can cut them.
        sessions: Arc<Mutex<JoinSet<()>>>,
    }

    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    impl DatabaseProxy {
        pub async fn start() -> anyhow::Result<Self> {
            let admin_url = server().await?.admin_url.clone();
            let upstream = format!(
                "{}:{}",
                admin_url.host_str().context("the server URL has no host")?,
                admin_url.port().unwrap_or(5432)
            );
            let mut proxy = Self {
                addr: "127.0.0.1:0".parse()?,
                upstream,
                admin_url,
                accept: Mutex::new(None),
                sessions: Arc::new(Mutex::new(JoinSet::new())),
            };
            proxy.addr = proxy.listen()?;
            Ok(proxy)
        }

        /// Listens on the proxy's port (a free one the first time) and forwards.
        fn listen(&self) -> anyhow::Result<SocketAddr> {
            let socket = TcpSocket::new_v4()?;
            // The same port again right after closing it.
            socket.set_reuseaddr(true)?;
            socket.bind(self.addr)?;
            let listener = socket.listen(128)?;
            let addr = listener.local_addr()?;
            let upstream = self.upstream.clone();
            let sessions = self.sessions.clone();
            *lock(&self.accept) = Some(tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    let upstream = upstream.clone();
                    lock(&sessions).spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            }));
            Ok(addr)
        }

        /// `database`'s URL, through this proxy.
        pub fn url(&self, database: &TestDatabase) -> String {
            let mut url = database.url.clone();
            let _ = url.set_host(Some("127.0.0.1"));
            let _ = url.set_port(Some(self.addr.port()));
            url.to_string()
        }

        /// What a Postgres restart looks like to the services using `database` through
        /// this proxy: the server terminates their sessions (SQLSTATE 57P01, what a
        /// fast shutdown sends to each), and connecting is refused until [`Self::up`].
        pub async fn down(&self, database: &TestDatabase) -> anyhow::Result<()> {
            let accept = lock(&self.accept).take();
            if let Some(accept) = accept {
                accept.abort();
                let _ = accept.await;
            }
            let mut admin = connect(&self.admin_url).await?;
            sqlx::query!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = $1 AND pid <> pg_backend_pid()",
                database.name(),
            )
            .fetch_all(&mut admin)
            .await?;
            lock(&self.sessions).abort_all();
            Ok(())
        }

        /// Accepts connections again, on the same port.
        pub fn up(&self) -> anyhow::Result<()> {
            self.listen().map(|_| ())
        }
    }

    impl Drop for DatabaseProxy {
        fn drop(&mut self) {
            if let Some(accept) = lock(&self.accept).take() {
                accept.abort();
            }
            lock(&self.sessions).abort_all();
        }
    }
}
