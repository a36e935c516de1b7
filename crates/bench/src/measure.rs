//! Closed-loop load and what it measured: latencies in an HDR histogram, errors, and
//! the CPU each side spent (see [`crate::cpu`]).

use std::sync::Arc;
use std::time::Duration;

use cinema_client::ClientError;
use hdrhistogram::Histogram;
// Tokio's clock (the system's, unless a test pauses it).
use tokio::time::Instant;

use crate::cpu;

/// How a timed scenario loads the stack: `workers` closed loops (each sends its next
/// call when the last answers) for `duration`, read by `meter`.
#[derive(Debug, Clone, Copy)]
pub struct Load<'a> {
    pub meter: &'a Meter,
    pub workers: usize,
    pub duration: Duration,
}

/// CPU of the Postgres server's processes and of the services' (when they run on this
/// machine) and of this load generator: as read at a moment, or spent between two
/// readings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu {
    pub postgres: Option<Duration>,
    pub services: Option<Duration>,
    pub generator: Option<Duration>,
}

impl Cpu {
    fn combine(self, other: Cpu, op: impl Fn(Duration, Duration) -> Option<Duration>) -> Cpu {
        let both = |a: Option<Duration>, b: Option<Duration>| op(a?, b?);
        Cpu {
            postgres: both(self.postgres, other.postgres),
            services: both(self.services, other.services),
            generator: both(self.generator, other.generator),
        }
    }

    fn plus(self, other: Cpu) -> Cpu {
        self.combine(other, Duration::checked_add)
    }

    /// Spent since the `earlier` reading.
    pub fn since(self, earlier: Cpu) -> Cpu {
        self.combine(earlier, Duration::checked_sub)
    }
}

/// Reads what the server, the services and this process have spent so far.
#[derive(Debug, Default)]
pub struct Meter {
    server: Option<cpu::ServerCpu>,
    services: Option<cpu::ServicesCpu>,
}

impl Meter {
    /// The meter for the Postgres server at `database_url` and the services at
    /// `endpoints`, each where it runs on this machine and can be read; it says so
    /// where one cannot.
    pub async fn find(database_url: &str, endpoints: &[&str]) -> Meter {
        let meter = Meter {
            server: cpu::ServerCpu::find(database_url).await,
            services: cpu::ServicesCpu::find(&ports(endpoints)),
        };
        if meter.server.is_none() {
            println!("Postgres is not on this machine (or not readable): no CPU figures for it");
        }
        if meter.services.is_none() {
            println!(
                "The services are not on this machine (or not readable): no CPU figures for them"
            );
        }
        meter
    }

    pub fn read(&self) -> Cpu {
        Cpu {
            postgres: self.server.as_ref().and_then(cpu::ServerCpu::used),
            services: self.services.as_ref().and_then(cpu::ServicesCpu::used),
            generator: cpu::own(),
        }
    }
}

/// The TCP ports of `http://host:port` endpoints (a comma-separated list of them
/// too); a `dns:///host:port` target names no port as a URL (its `host:port` is the
/// path), so it has none here.
fn ports(endpoints: &[&str]) -> Vec<u16> {
    endpoints
        .iter()
        .flat_map(|spec| spec.split(','))
        .filter_map(|endpoint| reqwest::Url::parse(endpoint.trim()).ok())
        .filter_map(|url| url.port_or_known_default())
        .collect()
}

/// `spent` over `ops` operations, in microseconds, or `-` where it was not read.
pub fn micros_per(spent: Option<Duration>, ops: u64) -> String {
    spent
        .and_then(|spent| cpu::per_op(spent, ops))
        .map(|d| format!("{:.0} µs", d.as_secs_f64() * 1e6))
        .unwrap_or_else(|| "-".into())
}

/// Latencies (µs) from 1 µs to a minute, to three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// Latencies and outcomes of one timed scenario.
#[derive(Debug)]
pub struct Figures {
    pub name: &'static str,
    /// Of the calls that succeeded, in microseconds.
    pub latencies: Histogram<u64>,
    pub errors: u64,
    pub elapsed: Duration,
    pub cpu: Cpu,
}

impl Figures {
    /// Successful calls per second.
    pub fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Both runs' figures as one run's.
    pub fn and(mut self, other: Figures) -> Figures {
        self.latencies.add(other.latencies).expect("same bounds");
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.cpu = self.cpu.plus(other.cpu);
        self
    }

    /// The scenario's line (and, where CPU was read, a second one), with its rate as a
    /// share of `baseline` (pgbench's TPC-B) when there is one.
    pub fn report(&self, baseline: Option<f64>) -> String {
        let ms = |q: f64| self.latencies.value_at_quantile(q) as f64 / 1000.0;
        let ratio = baseline
            .map(|tps| format!("{:>6.0} %", 100.0 * self.per_second() / tps))
            .unwrap_or_else(|| "      -".into());
        let mut report = format!(
            "{:<16} {:>9.0}/s  p50 {:>7.2} ms  p90 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms  errors {:>4}  vs pgbench {ratio}",
            self.name,
            self.per_second(),
            ms(0.50),
            ms(0.90),
            ms(0.99),
            self.latencies.max() as f64 / 1000.0,
            self.errors,
        );
        let calls = self.latencies.len() + self.errors;
        if self.cpu.postgres.is_some() || self.cpu.generator.is_some() {
            report.push_str(&format!(
                "\n{:<16} CPU per call: Postgres {}, services {}, load generator {}",
                "",
                micros_per(self.cpu.postgres, calls),
                micros_per(self.cpu.services, calls),
                micros_per(self.cpu.generator, calls),
            ));
        }
        report
    }
}

/// Runs `call` in `load.workers` closed loops for `load.duration`; a call's latency is
/// recorded when it succeeds, and counted as an error otherwise. `call` is given a
/// number no other call of the run is given: `worker * 1_000_000 + n` for the
/// worker's `n`-th call.
pub async fn timed<F, Fut>(name: &'static str, load: &Load<'_>, call: F) -> Figures
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ClientError>> + Send,
{
    let call = Arc::new(call);
    let reading = load.meter.read();
    let start = Instant::now();
    let deadline = start + load.duration;
    let mut tasks = Vec::new();
    for worker in 0..load.workers {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = histogram();
            let mut errors = 0;
            let mut n = 0;
            while Instant::now() < deadline {
                let began = Instant::now();
                match call(worker * 1_000_000 + n).await {
                    Ok(()) => latencies.saturating_record(began.elapsed().as_micros() as u64),
                    Err(_) => errors += 1,
                }
                n += 1;
            }
            (latencies, errors)
        }));
    }
    let mut figures = Figures {
        name,
        latencies: histogram(),
        errors: 0,
        elapsed: Duration::ZERO,
        cpu: Cpu::default(),
    };
    for task in tasks {
        let (latencies, errors) = task.await.expect("worker");
        figures.latencies.add(latencies).expect("same bounds");
        figures.errors += errors;
    }
    figures.elapsed = start.elapsed();
    figures.cpu = load.meter.read().since(reading);
    figures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_are_looked_for_on_every_port_their_endpoints_name() {
        assert_eq!(
            ports(&[
                "http://127.0.0.1:50051",
                "http://a:50052, http://b:50053",
                "https://orders.example.com",
                "dns:///orders-headless:50052",
            ]),
            vec![50051, 50052, 50053, 443]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn every_worker_keeps_calling_until_the_time_is_up_and_failures_are_counted_apart() {
        let meter = Meter::default();
        let load = Load {
            meter: &meter,
            workers: 3,
            duration: Duration::from_millis(200),
        };
        let figures = timed("test", &load, |n| async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            // Every worker's third call fails.
            if n % 1_000_000 % 3 == 2 {
                Err(ClientError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        })
        .await;
        // Each worker makes 20 calls of 10 ms in 200 ms, and its 3rd, 6th, ... 18th fail.
        assert_eq!(figures.latencies.len(), 3 * 14);
        assert_eq!(figures.errors, 3 * 6);
        assert_eq!(figures.latencies.min(), 10_000, "a call took its 10 ms");
        assert_eq!(figures.elapsed, Duration::from_millis(200));
        assert_eq!(figures.per_second(), 42.0 / 0.2);
        let report = figures.report(None);
        assert!(report.starts_with("test "), "{report}");
        assert!(
            report.contains(&format!("errors {:>4}", figures.errors)),
            "{report}"
        );
    }
}
