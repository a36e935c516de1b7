//! What operators and generic tools rely on: health, reflection, clean shutdown.

use std::str::FromStr;

use cinema_proto::orders::v1 as pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::helpers::*;

async fn channel(app: &TestApp) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .expect("valid uri")
        .connect()
        .await
        .expect("connects")
}

async fn health_of(app: &TestApp, service: &str) -> ServingStatus {
    let mut health = HealthClient::new(channel(app).await);
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

const DEADLINE: std::time::Duration = std::time::Duration::from_secs(15);

#[tokio::test]
async fn health_reports_serving_once_the_database_answers() {
    let app = spawn_app().await;
    for service in ["", "cinema.orders.v1.OrdersService"] {
        eventually("SERVING", DEADLINE, || async {
            (health_of(&app, service).await == ServingStatus::Serving).then_some(())
        })
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn health_follows_the_database_down_and_back_up() {
    let app = spawn_app().await;
    let service = "cinema.orders.v1.OrdersService";
    eventually("SERVING", DEADLINE, || async {
        (health_of(&app, service).await == ServingStatus::Serving).then_some(())
    })
    .await;

    // Take the database away from the service: refuse new connections, end its
    // sessions.
    let admin_options = sqlx::postgres::PgConnectOptions::from_str(app.database.url())
        .expect("url")
        .database("postgres");
    let admin = sqlx::PgPool::connect_with(admin_options)
        .await
        .expect("admin");
    let name = app.database.name().to_owned();
    sqlx::query(&format!(
        r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS false"#
    ))
    .execute(&admin)
    .await
    .expect("refuse connections");
    sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
        .bind(&name)
        .execute(&admin)
        .await
        .expect("terminate sessions");
    eventually("NOT_SERVING", DEADLINE, || async {
        (health_of(&app, service).await == ServingStatus::NotServing).then_some(())
    })
    .await;
    assert_eq!(health_of(&app, "").await, ServingStatus::NotServing);

    sqlx::query(&format!(
        r#"ALTER DATABASE "{name}" ALLOW_CONNECTIONS true"#
    ))
    .execute(&admin)
    .await
    .expect("allow connections");
    eventually("SERVING again", DEADLINE, || async {
        (health_of(&app, service).await == ServingStatus::Serving).then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_with_only_reflection_can_discover_the_service() {
    let app = spawn_app().await;
    let mut reflection = ServerReflectionClient::new(channel(&app).await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "cinema.orders.v1.OrdersService".into(),
            )),
        },
    ];
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection answers")
        .into_inner();

    let listed = responses
        .message()
        .await
        .expect("stream")
        .expect("a response");
    let Some(MessageResponse::ListServicesResponse(list)) = listed.message_response else {
        panic!("expected a service list, got {listed:?}");
    };
    let mut names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    // Exactly what this port serves: not the movies services of the same contract,
    // which would answer UNIMPLEMENTED here.
    assert_eq!(
        names,
        [
            "cinema.orders.v1.OrdersAdminService",
            "cinema.orders.v1.OrdersService",
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
        ]
    );

    let file = responses
        .message()
        .await
        .expect("stream")
        .expect("a response");
    let Some(MessageResponse::FileDescriptorResponse(files)) = file.message_response else {
        panic!("expected descriptors, got {file:?}");
    };
    use prost::Message;
    let descriptors: Vec<_> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost_types::FileDescriptorProto::decode(bytes.as_slice()).expect("decodes"))
        .collect();
    let methods: Vec<_> = descriptors
        .iter()
        .flat_map(|f| f.service.iter())
        .flat_map(|s| s.method.iter().map(|m| m.name().to_owned()))
        .collect();
    for method in [
        "AddProduct",
        "PlaceOrder",
        "GetOrder",
        "GetAvailability",
        "RegisterProvider",
    ] {
        assert!(
            methods.iter().any(|m| m == method),
            "{method} missing from {methods:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_server_stop_cleanly_and_close_its_port() {
    let app = spawn_app().await;
    let addr = app.addr;
    let product = app.add_product("Seat", 1, 1).await;
    let _ = pb::GetAvailabilityRequest {
        product_ids: vec![product],
    };
    app.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn the_healthcheck_subcommand_passes_only_while_the_service_serves() {
    let app = spawn_app().await;
    let healthcheck = |addr: std::net::SocketAddr| {
        std::process::Command::new(env!("CARGO_BIN_EXE_orders-service"))
            .arg("healthcheck")
            .env("DATABASE_URL", "postgres://unused/unused")
            .env("ORDERS_LISTEN_ADDR", addr.to_string())
            .output()
            .expect("runs")
    };
    eventually("SERVING", DEADLINE, || async {
        (health_of(&app, "").await == ServingStatus::Serving).then_some(())
    })
    .await;
    let addr = app.addr;
    let serving = tokio::task::spawn_blocking(move || healthcheck(addr))
        .await
        .expect("task");
    assert!(
        serving.status.success(),
        "{}",
        String::from_utf8_lossy(&serving.stderr)
    );
    app.stop().await;
    let stopped = tokio::task::spawn_blocking(move || healthcheck(addr))
        .await
        .expect("task");
    assert!(
        !stopped.status.success(),
        "a stopped service must fail its healthcheck"
    );
}
