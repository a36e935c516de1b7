//! What about the Postgres server would skew a run's figures.

use std::process::Command;

/// More databases than this on the server skew a run (see [`warnings`]).
const MANY_DATABASES: u64 = 100;

/// What about the server would skew a run's figures, as warnings to print.
/// - Autovacuum off: each order leaves dead row versions behind (a hold is written,
///   then confirmed), they pile up, and every run is slower than the one before.
/// - Hundreds of databases (test runs leave theirs for hours): autovacuum visits each
///   one every minute, on the same cores, and its CPU counts as Postgres's.
fn warnings(autovacuum: &str, databases: u64) -> Vec<String> {
    let mut warnings = Vec::new();
    if autovacuum == "off" {
        warnings.push(
            "warning: autovacuum is off on this server: dead rows pile up and each run \
             is slower than the last (ALTER SYSTEM SET autovacuum = on; SELECT pg_reload_conf())"
                .to_owned(),
        );
    } else if databases > MANY_DATABASES {
        warnings.push(format!(
            "warning: {databases} databases on this server: autovacuum visits every one \
             each minute, on these cores; drop what test runs left (cinema_test_*) first"
        ));
    }
    warnings
}

/// Prints what about the server at `database_url` would skew the figures (nothing
/// when psql cannot ask it).
pub fn warn_about(database_url: &str) {
    let shown = Command::new("psql")
        .args([
            database_url,
            "-Atc",
            "SELECT current_setting('autovacuum'), (SELECT count(*) FROM pg_database)",
        ])
        .output();
    let Ok(out) = shown else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    if let Some((autovacuum, databases)) = text.trim().split_once('|')
        && let Ok(databases) = databases.parse()
    {
        for warning in warnings(autovacuum, databases) {
            println!("{warning}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_would_skew_the_figures_is_warned_about() {
        let said = |autovacuum, databases| warnings(autovacuum, databases).join("\n");
        assert!(said("off", 7).contains("autovacuum is off"));
        assert!(said("on", 780).contains("780 databases"));
        assert_eq!(said("on", 7), "", "a clean server, nothing to say");
    }
}
