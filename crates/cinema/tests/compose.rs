//! docker-compose.yml cannot be started here (no Docker engine), so it is checked for
//! what must hold: it parses, every service has a healthcheck that the image can run,
//! services wait for their dependencies to be healthy, and the two services agree on
//! their shared settings.

use serde_norway::Value;

fn compose() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml exists");
    serde_norway::from_str(&text).expect("docker-compose.yml is valid YAML")
}

fn env<'a>(service: &'a Value, key: &str) -> &'a str {
    service["environment"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is set"))
}

#[test]
fn the_compose_file_describes_a_healthy_stack() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services");
    let names: Vec<&str> = services.keys().filter_map(Value::as_str).collect();
    for name in ["postgres", "orders", "movies", "sms-sim", "web"] {
        assert!(names.contains(&name), "missing service {name}");
    }
    for (name, service) in services {
        if service["restart"].as_str() == Some("no") {
            continue; // a one-shot job has nothing to keep healthy
        }
        let test = service["healthcheck"]["test"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name:?} has a healthcheck"));
        assert!(!test.is_empty());
    }
    for (name, binary) in [
        ("orders", "orders-service"),
        ("movies", "movies-service"),
        ("sms-sim", "sms-gateway-sim"),
        ("web", "cinema-web"),
    ] {
        let service = &compose["services"][name];
        assert_eq!(
            service["command"][0].as_str(),
            Some(binary),
            "{name} runs {binary}"
        );
        let test: Vec<&str> = service["healthcheck"]["test"]
            .as_sequence()
            .expect("test")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(
            test,
            vec!["CMD", binary, "healthcheck"],
            "{name} checks itself with its own binary"
        );
    }
    for (name, deps) in [
        ("orders", vec!["postgres", "sms-sim"]),
        ("movies", vec!["postgres", "orders"]),
        ("web", vec!["movies", "orders"]),
    ] {
        for dep in deps {
            assert_eq!(
                compose["services"][name]["depends_on"][dep]["condition"].as_str(),
                Some("service_healthy"),
                "{name} waits for {dep} to be healthy"
            );
        }
    }
    let orders = &compose["services"]["orders"];
    let movies = &compose["services"]["movies"];
    assert_eq!(
        env(orders, "ORDERS_ADMIN_TOKEN"),
        env(movies, "ORDERS_ADMIN_TOKEN")
    );
    assert_eq!(
        env(orders, "ORDERS_CALLBACK_TOKEN"),
        env(movies, "MOVIES_CALLBACK_TOKEN")
    );
    assert_eq!(env(movies, "ORDERS_ENDPOINT"), "http://orders:50052");
    // Benchmarks set a realistic payment latency through the environment.
    assert_eq!(
        env(orders, "ORDERS_PAYMENT_LATENCY_MS"),
        "${ORDERS_PAYMENT_LATENCY_MS:-0}"
    );
    assert!(env(orders, "DATABASE_URL").ends_with("/cinema_orders"));
    // Both services and the website expose metrics, and say where to scrape them.
    for service in [orders, movies, &compose["services"]["web"]] {
        assert_eq!(env(service, "METRICS_ADDR"), "0.0.0.0:9090");
        assert_eq!(
            service["labels"]["prometheus.io/scrape"].as_str(),
            Some("true")
        );
        assert_eq!(
            service["labels"]["prometheus.io/port"].as_str(),
            Some("9090")
        );
        assert_eq!(
            service["labels"]["prometheus.io/path"].as_str(),
            Some("/metrics")
        );
    }
    assert!(env(movies, "DATABASE_URL").ends_with("/cinema_movies"));
    // Each service loads its own ZIP codes, with its own binary and database.
    for (job, service, binary) in [
        ("orders-zips", orders, "orders-service"),
        ("movies-zips", movies, "movies-service"),
    ] {
        let zips = &compose["services"][job];
        assert_eq!(zips["command"][0].as_str(), Some(binary), "{job}");
        assert_eq!(zips["command"][1].as_str(), Some("load-zips"), "{job}");
        assert_eq!(env(zips, "DATABASE_URL"), env(service, "DATABASE_URL"));
    }
    // The demo job then reaches the services with their own settings.
    let demo = &compose["services"]["demo"];
    assert_eq!(demo["command"][0].as_str(), Some("cinema-dev"));
    assert_eq!(demo["command"][1].as_str(), Some("demo"));
    for job in ["orders-zips", "movies-zips"] {
        assert_eq!(
            demo["depends_on"][job]["condition"].as_str(),
            Some("service_completed_successfully"),
            "the demo waits for {job}"
        );
    }
    for database in ["ORDERS_DATABASE_URL", "MOVIES_DATABASE_URL", "DATABASE_URL"] {
        assert!(
            demo["environment"][database].is_null(),
            "the demo reaches no service's database, only their APIs: {database}"
        );
    }
    assert_eq!(
        env(demo, "MOVIES_ADMIN_TOKEN"),
        env(movies, "MOVIES_ADMIN_TOKEN")
    );
    assert_eq!(env(demo, "CINEMA_MOVIES"), "http://movies:50051");
    assert_eq!(env(demo, "CINEMA_ORDERS"), "http://orders:50052");
    // The init script creates exactly the databases the services use.
    let init = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docker/postgres-init/01-databases.sql"
    ))
    .expect("init script");
    assert!(
        init.contains("CREATE DATABASE cinema_orders")
            && init.contains("CREATE DATABASE cinema_movies")
    );
}

#[test]
fn the_dockerfile_builds_every_binary_compose_runs() {
    let dockerfile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Dockerfile"))
            .expect("Dockerfile");
    // Every command a service of ours runs (postgres, Prometheus and Grafana run their
    // own images; ours come from the `x-cinema-image` anchor).
    let compose = compose();
    let binaries: Vec<&str> = compose["services"]
        .as_mapping()
        .expect("services")
        .values()
        .filter(|service| {
            service["image"]
                .as_str()
                .is_none_or(|image| image == "cinema:local")
        })
        .filter_map(|service| service["command"][0].as_str())
        .collect();
    assert!(binaries.contains(&"cinema-web"), "{binaries:?}");
    for binary in binaries {
        assert!(
            dockerfile.contains(&format!("--bin {binary} "))
                || dockerfile.contains(&format!("--bin {binary}\n")),
            "{binary} is built"
        );
        assert!(
            dockerfile.contains(&format!("target/release/{binary} "))
                || dockerfile.contains(&format!("target/release/{binary}\n")),
            "{binary} is copied into the image"
        );
    }
}

fn yaml(path: &str) -> Value {
    let path = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `host:container` mounts of a compose service.
fn mounts(service: &Value) -> Vec<(&str, &str)> {
    service["volumes"]
        .as_sequence()
        .expect("volumes")
        .iter()
        .filter_map(Value::as_str)
        .map(|mount| {
            let mut parts = mount.split(':');
            (
                parts.next().expect("host"),
                parts.next().expect("container"),
            )
        })
        .collect()
}

/// `docker compose --profile monitoring up`: a Prometheus that scrapes every service
/// exporting metrics and loads the alerts, and a Grafana that reads that Prometheus
/// and shows the dashboard; neither starts without the profile.
#[test]
fn the_monitoring_profile_scrapes_every_service_and_shows_the_dashboard() {
    let compose = compose();
    let services = compose["services"].as_mapping().expect("services");
    let prometheus = &compose["services"]["prometheus"];
    let grafana = &compose["services"]["grafana"];
    for service in [prometheus, grafana] {
        assert_eq!(service["profiles"][0].as_str(), Some("monitoring"));
    }

    // Prometheus reads deploy/prometheus, where its config names the alerts.
    assert_eq!(
        mounts(prometheus),
        vec![("./deploy/prometheus", "/etc/prometheus")]
    );
    assert_eq!(
        prometheus["command"][0].as_str(),
        Some("--config.file=/etc/prometheus/prometheus.yml")
    );
    let config = yaml("deploy/prometheus/prometheus.yml");
    assert_eq!(config["rule_files"][0].as_str(), Some("alerts.yaml"));
    let mut targets: Vec<&str> = config["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .expect("targets")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut exporting: Vec<String> = services
        .iter()
        .filter(|(_, service)| {
            service["environment"]["METRICS_ADDR"].as_str() == Some("0.0.0.0:9090")
        })
        .map(|(name, _)| format!("{}:9090", name.as_str().expect("name")))
        .collect();
    targets.sort_unstable();
    exporting.sort_unstable();
    assert_eq!(
        targets, exporting,
        "every service that exports metrics, and only those"
    );

    // Grafana's Prometheus is that one, and its dashboards are where the file is mounted.
    let grafana_mounts = mounts(grafana);
    assert!(
        grafana_mounts.contains(&("./deploy/grafana/provisioning", "/etc/grafana/provisioning"))
    );
    let dashboard = grafana_mounts
        .iter()
        .find(|(host, _)| *host == "./deploy/grafana/cinema.json")
        .expect("the dashboard is mounted")
        .1;
    let source = yaml("deploy/grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(
        source["datasources"][0]["url"].as_str(),
        Some("http://prometheus:9090")
    );
    let provider = yaml("deploy/grafana/provisioning/dashboards/cinema.yaml");
    let folder = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("path");
    assert_eq!(dashboard, format!("{folder}/cinema.json"));
    assert_eq!(
        grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"].as_str(),
        Some(dashboard)
    );
}
