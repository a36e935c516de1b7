//! The database's own ceiling, measured in the same run: pgbench on the same server,
//! at the same concurrency, running TPC-B or one of the services' statements.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::measure::{Meter, micros_per};

/// What pgbench runs: its TPC-B on a database of its own (see [`init_tpc_b`]), or a
/// script of ours against one of the stack's databases.
#[derive(Debug)]
pub enum Workload<'a> {
    TpcB,
    Script {
        /// What the script does, for the report.
        name: &'static str,
        database: &'a str,
        script: String,
        variables: Vec<(&'static str, String)>,
    },
}

impl Workload<'_> {
    /// What pgbench runs, in a few words.
    pub fn name(&self) -> &'static str {
        match self {
            Workload::TpcB => "TPC-B (scale 10)",
            Workload::Script { name, .. } => name,
        }
    }
}

/// What a pgbench run did.
#[derive(Debug)]
pub struct Run {
    pub tps: f64,
    pub transactions: u64,
    /// Postgres's CPU over the run (not its set-up).
    pub postgres_cpu: Option<Duration>,
}

impl Run {
    /// This run and another of the same length as one: their mean rate, their
    /// transactions and CPU added up.
    pub fn and(self, other: Run) -> Run {
        Run {
            tps: (self.tps + other.tps) / 2.0,
            transactions: self.transactions + other.transactions,
            postgres_cpu: self
                .postgres_cpu
                .zip(other.postgres_cpu)
                .map(|(a, b)| a + b),
        }
    }

    /// `, Postgres CPU … per transaction`, where it was read.
    pub fn cpu(&self) -> String {
        match self.postgres_cpu {
            Some(spent) => format!(
                ", Postgres CPU {} per transaction",
                micros_per(Some(spent), self.transactions)
            ),
            None => String::new(),
        }
    }
}

/// Whether pgbench can be run here.
pub fn available() -> bool {
    Command::new("pgbench").arg("--version").output().is_ok()
}

/// pgbench's TPC-B database on the server of `database_url`.
const TPC_B_DATABASE: &str = "cinema_bench_pgbench";

/// Writes pgbench's TPC-B tables (scale 10) afresh, for [`Workload::TpcB`].
pub fn init_tpc_b(database_url: &str) -> anyhow::Result<()> {
    // Exit status ignored: the database may exist from an earlier run.
    let _ = Command::new("psql")
        .args([
            database_url,
            "-qc",
            &format!("CREATE DATABASE {TPC_B_DATABASE}"),
        ])
        .output();
    let init = Command::new("pgbench")
        .args([
            "-i",
            "-s",
            "10",
            "-q",
            &on_server(database_url, TPC_B_DATABASE)?,
        ])
        .output()
        .context("pgbench -i")?;
    if !init.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    Ok(())
}

/// Runs pgbench on the server of `database_url` with `workers` clients for `seconds`.
pub fn run(
    database_url: &str,
    meter: &Meter,
    workload: Workload<'_>,
    workers: usize,
    seconds: u64,
) -> anyhow::Result<Run> {
    let mut command = Command::new("pgbench");
    command.args([
        "-n",
        "-c",
        &workers.to_string(),
        "-j",
        &workers.min(4).to_string(),
        "-T",
        &seconds.to_string(),
    ]);
    // Kept until pgbench has read it.
    let mut _script_file = None;
    let workload_name = workload.name();
    let url = match workload {
        Workload::TpcB => on_server(database_url, TPC_B_DATABASE)?,
        Workload::Script {
            database,
            script,
            variables,
            ..
        } => {
            let path = std::env::temp_dir().join(format!(
                "cinema-bench-{}.sql",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::write(&path, script).context("writing the pgbench script")?;
            // Prepared, as the service's own statements are.
            command.args(["-M", "prepared", "-f"]).arg(&path);
            for (name, value) in variables {
                command.arg("-D").arg(format!("{name}={value}"));
            }
            _script_file = Some(TempFile(path));
            on_server(database_url, database)?
        }
    };
    let reading = meter.read();
    let run = command.arg(&url).output().context("pgbench")?;
    let postgres_cpu = meter.read().since(reading).postgres;
    let out = String::from_utf8_lossy(&run.stdout);
    // A statement that fails aborts its client, and pgbench still reports a rate (of
    // what the others did, or none): a figure that would mislead.
    if !run.status.success() {
        bail!(
            "pgbench failed ({}):\n{out}{}",
            workload_name,
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let (tps, transactions) = figures(&out).with_context(|| {
        format!(
            "pgbench's output has no figures:\n{out}{}",
            String::from_utf8_lossy(&run.stderr)
        )
    })?;
    Ok(Run {
        tps,
        transactions,
        postgres_cpu,
    })
}

/// The rate and the number of transactions pgbench reports.
fn figures(out: &str) -> Option<(f64, u64)> {
    let figure = |prefix: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
    };
    Some((
        figure("tps = ")?.parse().ok()?,
        figure("number of transactions actually processed: ")?
            .parse()
            .ok()?,
    ))
}

/// GetShowtimes' own statement as a pgbench script, with the service's parameters for
/// a first page of `page_size` showtimes within 15 miles of `zip` from `now`: what the
/// database alone does for one search.
pub fn search_workload<'a>(
    movies_database: &'a str,
    zip: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Workload<'a> {
    // pgbench names parameters `:name`; the cursor is NULL on a first page. Replaced
    // from the highest number down, so that `$1` does not take the front of a `$10`.
    let mut script = cinema_movies::store::SEARCH_SHOWTIMES_SQL
        .replace("$7", "NULL")
        .replace("$8", "NULL");
    for n in [9, 6, 5, 4, 3, 2, 1] {
        script = script.replace(&format!("${n}"), &format!(":p{n}"));
    }
    script.push_str(";\n");
    let variables = vec![
        ("p1", now.to_rfc3339()),
        ("p2", (now + chrono::Duration::days(14)).to_rfc3339()),
        ("p3", zip.to_owned()),
        ("p4", "15".to_owned()),
        ("p5", "{}".to_owned()),
        ("p6", "{}".to_owned()),
        ("p9", "100".to_owned()),
    ];
    Workload::Script {
        name: "GetShowtimes' statement",
        database: movies_database,
        script,
        variables,
    }
}

/// The URL of `database` on the server of `database_url`, with the same options
/// (`?sslmode=disable` too: pgbench and the services must connect alike).
pub fn on_server(database_url: &str, database: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(database_url).context("DATABASE_URL is not a URL")?;
    url.set_path(&format!("/{database}"));
    Ok(url.into())
}

/// Removed when dropped.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_and_the_transactions_are_read_from_pgbench_s_report() {
        let out = "transaction type: <builtin: TPC-B (sort of)>\n\
                   number of clients: 8\n\
                   number of transactions actually processed: 68123\n\
                   latency average = 2.349 ms\n\
                   initial connection time = 21.412 ms\n\
                   tps = 3406.150210 (without initial connection time)\n";
        assert_eq!(figures(out), Some((3406.150210, 68123)));
        assert_eq!(figures("pgbench: error: connection refused"), None);
    }

    #[test]
    fn every_parameter_of_the_search_statement_has_a_value() {
        let Workload::Script {
            script, variables, ..
        } = search_workload("movies", "02139", chrono::Utc::now())
        else {
            panic!("a script");
        };
        assert!(!script.contains('$'), "a parameter left unreplaced");
        for (name, _) in &variables {
            assert!(script.contains(&format!(":{name}")), ":{name} is not used");
        }
        let named = script.match_indices(":p").count();
        assert!(named >= variables.len());
    }

    /// A statement pgbench cannot run is an error, not a low rate.
    #[tokio::test]
    async fn a_statement_that_fails_fails_the_run() {
        let database = cinema_testkit::TestDatabase::create()
            .await
            .expect("test database");
        let (server, _) = cinema_testkit::server_url_and_prefix()
            .await
            .expect("server");
        let workload = Workload::Script {
            name: "a broken statement",
            database: database.name(),
            script: "SELECT * FROM no_such_table;\n".to_owned(),
            variables: Vec::new(),
        };
        let error = run(&server, &Meter::default(), workload, 1, 1).expect_err("fails");
        assert!(
            error.to_string().contains("a broken statement"),
            "{error:#}"
        );
    }

    #[test]
    fn another_database_on_the_same_server_is_reached_the_same_way() {
        assert_eq!(
            on_server("postgres://u@h:5432/postgres?sslmode=disable", "x").ok(),
            Some("postgres://u@h:5432/x?sslmode=disable".to_owned())
        );
        assert_eq!(
            on_server("postgres://postgres@localhost/postgres", "cinema_movies").ok(),
            Some("postgres://postgres@localhost/cinema_movies".to_owned())
        );
    }
}
