//! CPU time, read from `/proc`: of the Postgres server the benchmark runs against and
//! of the services it drives, when they run on this machine, and of the benchmark
//! itself.
//!
//! Throughput shares move by ten points from run to run on a shared VM whose speed
//! drifts; the CPU an operation costs each side holds still. So next to each rate the
//! benchmark prints what one call cost Postgres (every server process: backends,
//! autovacuum, the WAL writer, the checkpointer), the services, and the load generator.

use std::collections::HashSet;
use std::time::Duration;

use procfs::net::TcpState;
use procfs::process::FDTarget;

/// `/proc`'s unit of CPU time, in milliseconds: USER_HZ, which Linux fixes at 100 for
/// user space whatever the kernel's own tick rate.
const TICK_MS: u64 = 10;

fn ticks(n: u64) -> Duration {
    Duration::from_millis(n.saturating_mul(TICK_MS))
}

/// The processes of a Postgres server on this machine.
#[derive(Debug)]
pub struct ServerCpu {
    postmaster: u32,
}

impl ServerCpu {
    /// The server at `database_url`, when it runs on this machine and its processes
    /// can be read; `None` otherwise (a server elsewhere, or in another PID namespace,
    /// has no CPU figures here).
    pub async fn find(database_url: &str) -> Option<Self> {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database_url)
            .await
            .ok()?;
        let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut conn)
            .await
            .ok()?;
        // Read while the backend lives: its parent is the postmaster.
        let backend = Stat::of(u32::try_from(backend).ok()?)?;
        let postmaster = Stat::of(backend.ppid)?;
        (backend.comm == "postgres" && postmaster.comm == "postgres").then_some(Self {
            postmaster: backend.ppid,
        })
    }

    /// CPU the server has used since it started: the postmaster's own and that of its
    /// children, live (read one by one) and exited (the kernel adds theirs to the
    /// postmaster's when it reaps them), so that the difference of two readings is
    /// what ran in between.
    pub fn used(&self) -> Option<Duration> {
        // A child reaped while the children are read would be missed (gone from the
        // list, not yet in the postmaster's figure) or counted twice: after pgbench
        // its backends all exit at once, and missing them lost most of its run. So
        // the reading is taken again until no child was reaped during it.
        for _ in 0..100 {
            let before = Stat::of(self.postmaster)?;
            let children = self.live_children_ticks()?;
            let after = Stat::of(self.postmaster)?;
            if after.children_ticks == before.children_ticks {
                return Some(ticks(after.own_ticks + after.children_ticks + children));
            }
        }
        None
    }

    /// utime + stime of the postmaster's live children (zombies included: they keep
    /// their figures until reaped).
    fn live_children_ticks(&self) -> Option<u64> {
        let mut ticks = 0;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
                continue;
            };
            if let Some(child) = Stat::of(pid)
                && child.ppid == self.postmaster
            {
                ticks += child.own_ticks;
            }
        }
        Some(ticks)
    }
}

/// The processes listening on some TCP ports of this machine: the services the
/// benchmark drives, whether one process serves them all (`cinema-dev up`) or each
/// runs on its own.
#[derive(Debug)]
pub struct ServicesCpu {
    pids: Vec<u32>,
}

impl ServicesCpu {
    /// The processes of this PID namespace that listen on any of `ports`; `None` when
    /// none does (services elsewhere, in a container, or not readable).
    pub fn find(ports: &[u16]) -> Option<Self> {
        let listening: HashSet<u64> = procfs::net::tcp()
            .ok()?
            .into_iter()
            .chain(procfs::net::tcp6().unwrap_or_default())
            .filter(|e| e.state == TcpState::Listen && ports.contains(&e.local_address.port()))
            .map(|e| e.inode)
            .collect();
        if listening.is_empty() {
            return None;
        }
        let holds_one = |process: &procfs::process::Process| {
            process.fd().is_ok_and(|mut fds| {
                fds.any(|fd| {
                    fd.is_ok_and(
                        |fd| matches!(fd.target, FDTarget::Socket(inode) if listening.contains(&inode)),
                    )
                })
            })
        };
        let pids: Vec<u32> = procfs::process::all_processes()
            .ok()?
            .flatten()
            .filter(holds_one)
            .filter_map(|process| u32::try_from(process.pid()).ok())
            .collect();
        (!pids.is_empty()).then_some(Self { pids })
    }

    /// CPU those processes have used so far (every thread of each).
    pub fn used(&self) -> Option<Duration> {
        let mut total = 0;
        for pid in &self.pids {
            total += Stat::of(*pid)?.own_ticks;
        }
        Some(ticks(total))
    }
}

/// CPU this process has used so far.
pub fn own() -> Option<Duration> {
    Some(ticks(Stat::of(std::process::id())?.own_ticks))
}

/// `spent` per operation; `None` without operations.
pub fn per_op(spent: Duration, ops: u64) -> Option<Duration> {
    (ops > 0).then(|| spent.div_f64(ops as f64))
}

/// The fields of `/proc/<pid>/stat` used here.
struct Stat {
    comm: String,
    ppid: u32,
    /// utime + stime.
    own_ticks: u64,
    /// cutime + cstime: of children that exited and were waited for.
    children_ticks: u64,
}

impl Stat {
    fn of(pid: u32) -> Option<Stat> {
        Self::parse(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so the
    /// fields are counted from the last `)`.
    fn parse(line: &str) -> Option<Stat> {
        let (head, rest) = line.rsplit_once(')')?;
        let comm = head.split_once('(')?.1.to_owned();
        // rest: " state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime cutime cstime ..."
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(Stat {
            comm,
            ppid: u32::try_from(number(1)?).ok()?,
            own_ticks: number(11)? + number(12)?,
            children_ticks: number(13)? + number(14)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_from_the_last_parenthesis() {
        let line = "4242 (postgres: a (b) c) S 17 4242 4242 0 -1 4194560 \
                    900 0 0 0 250 75 30 12 20 0 1 0 100 0 0";
        let stat = Stat::parse(line).expect("parses");
        assert_eq!(stat.comm, "postgres: a (b) c");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.own_ticks, 325);
        assert_eq!(stat.children_ticks, 42);
    }

    /// Spins until `reading` moves (a tick is 10 ms of CPU, which a loaded machine may
    /// take a while to give), failing if it never does.
    fn spin_until_it_moves(reading: impl Fn() -> Option<Duration>) {
        let before = reading().expect("a reading");
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while reading().expect("a reading") <= before {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "30 s of spinning and the CPU reading has not moved from {before:?}"
            );
        }
    }

    #[test]
    fn the_cpu_a_loop_spends_shows_in_this_process_reading() {
        spin_until_it_moves(own);
    }

    /// The pgbench case: connections that work and then exit between two readings
    /// (their CPU moves from the live backends to the postmaster's reaped children).
    #[tokio::test]
    async fn work_done_by_a_connection_that_has_since_closed_is_counted() {
        let database = cinema_testkit::TestDatabase::create()
            .await
            .expect("test database");
        let Some(server) = ServerCpu::find(database.url()).await else {
            // Only a server in a container (testcontainers, without DATABASE_URL) may
            // have processes this machine cannot read.
            assert!(
                std::env::var_os("DATABASE_URL").is_none(),
                "DATABASE_URL's server should be on this machine with readable processes"
            );
            return;
        };
        let before = server.used().expect("a reading");
        let mut spent_by_backends = Duration::ZERO;
        for _ in 0..4 {
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(database.url())
                .await
                .expect("connects");
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .expect("pid");
            // Some tens of milliseconds of CPU, several ticks.
            sqlx::query("SELECT count(*) FROM generate_series(1, 2000000)")
                .execute(&mut conn)
                .await
                .expect("query");
            let backend = Stat::of(u32::try_from(pid).expect("pid")).expect("backend");
            spent_by_backends += ticks(backend.own_ticks);
            sqlx::Connection::close(conn).await.expect("closes");
        }
        let after = server.used().expect("a reading");
        assert!(
            after - before >= spent_by_backends,
            "{:?} counted, while the closed connections had spent {spent_by_backends:?}",
            after - before
        );
    }

    #[test]
    fn a_service_is_found_by_its_listening_port_and_its_cpu_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("address").port();
        let services = ServicesCpu::find(&[port]).expect("this process listens on the port");
        assert_eq!(services.pids, vec![std::process::id()]);
        // This process's own CPU, read through the services' meter.
        spin_until_it_moves(|| services.used());
        drop(listener);
        assert!(
            ServicesCpu::find(&[port]).is_none(),
            "nothing listens on {port} any more"
        );
    }

    #[test]
    fn cost_per_operation_needs_some_operations() {
        assert_eq!(
            per_op(Duration::from_secs(2), 4),
            Some(Duration::from_millis(500))
        );
        assert_eq!(per_op(Duration::from_secs(2), 0), None);
    }
}
