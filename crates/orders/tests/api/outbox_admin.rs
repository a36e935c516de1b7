//! Operators' view of the outbox: list what ran out of retries, redrive it, and see it
//! delivered; bad requests change nothing.

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_admin_service_client::OrdersAdminServiceClient;
use cinema_testkit::TestDatabase;
use tonic::Code;
use tonic::transport::Channel;

use crate::callbacks::{provided_product, register};
use crate::fake_provider::{Behaviour, FakeProvider, free_addr};
use crate::helpers::*;

pub async fn admin_client(app: &TestApp) -> OrdersAdminServiceClient<Channel> {
    OrdersAdminServiceClient::connect(format!("http://{}", app.addr))
        .await
        .expect("admin client")
}

pub async fn list(
    client: &mut OrdersAdminServiceClient<Channel>,
    status: pb::OutboxStatus,
) -> Vec<pb::OutboxMessage> {
    client
        .list_outbox(admin(pb::ListOutboxRequest {
            status: status.into(),
            ..Default::default()
        }))
        .await
        .expect("list")
        .into_inner()
        .messages
}

async fn statuses(app: &TestApp) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT status, attempts FROM outbox ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .expect("outbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_callback_is_listed_and_delivered_once_redriven() {
    // The provider is down: nothing listens at its address yet.
    let addr = free_addr().await;
    let endpoint = format!("http://{addr}");
    let database = TestDatabase::create().await.expect("database");
    let mut settings = settings(&database);
    settings.dispatch.max_attempts = 2;
    settings.dispatcher = false;
    let app = spawn_app_with(settings, database).await;
    let provider = register(&app, &endpoint).await;
    let product = provided_product(&app, &provider, "showtime-9", 1).await;
    app.client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("the last seat sells");

    assert_eq!(app.deliver_until_settled().await, 2, "both attempts fail");
    let mut admin_api = admin_client(&app).await;
    let exhausted = list(&mut admin_api, pb::OutboxStatus::Exhausted).await;
    assert_eq!(exhausted.len(), 1);
    let message = &exhausted[0];
    assert_eq!(message.kind(), pb::OutboxKind::ProductSoldOut);
    assert_eq!(message.attempts, 2);
    assert_eq!(message.product_id, product);
    assert_eq!(message.endpoint, endpoint);
    assert!(message.last_error.starts_with("Unavailable"), "{message:?}");
    assert!(
        message.next_attempt_at.is_none(),
        "exhausted: nothing is due"
    );
    // Filters: nothing is pending, and delivered is empty too.
    assert!(
        list(&mut admin_api, pb::OutboxStatus::Pending)
            .await
            .is_empty()
    );
    assert_eq!(
        list(&mut admin_api, pb::OutboxStatus::Unspecified)
            .await
            .len(),
        1
    );

    // Refusals change nothing.
    let before = statuses(&app).await;
    let unauthenticated = admin_api
        .redrive_outbox(pb::RedriveOutboxRequest {
            ids: vec![message.id.clone()],
            all_exhausted: false,
        })
        .await;
    expect_code(unauthenticated, Code::Unauthenticated);
    let unknown = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![message.id.clone(), "999999".into()],
            all_exhausted: false,
        }))
        .await;
    assert!(expect_code(unknown, Code::NotFound).contains("999999"));
    let malformed = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec!["12a".into()],
            all_exhausted: false,
        }))
        .await;
    assert!(expect_code(malformed, Code::InvalidArgument).starts_with("ids:"));
    let both = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![message.id.clone()],
            all_exhausted: true,
        }))
        .await;
    expect_code(both, Code::InvalidArgument);
    assert_eq!(statuses(&app).await, before);

    // The provider is back; the operator redrives.
    let up = FakeProvider::start(addr, Behaviour::Accept).await;
    let redriven = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![message.id.clone()],
            all_exhausted: false,
        }))
        .await
        .expect("redrive")
        .into_inner()
        .ids;
    assert_eq!(redriven, vec![message.id.clone()]);
    assert_eq!(app.deliver_until_settled().await, 1, "delivered at once");
    let received = up.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        (received[0].kind, received[0].product_id.as_str()),
        ("sold_out", product.as_str())
    );
    let delivered = list(&mut admin_api, pb::OutboxStatus::Delivered).await;
    assert_eq!(
        delivered[0].attempts, 3,
        "the earlier attempts stay counted"
    );
    assert!(delivered[0].delivered_at.is_some());
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_attempts")
        .fetch_one(&app.pool)
        .await
        .expect("attempts");
    assert_eq!(
        attempts, 3,
        "every attempt is on record, before and after the redrive"
    );

    // A delivered message cannot be redriven; "all exhausted" now finds none.
    let again = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![message.id.clone()],
            all_exhausted: false,
        }))
        .await;
    assert!(expect_code(again, Code::FailedPrecondition).contains("delivered"));
    let none = admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![],
            all_exhausted: true,
        }))
        .await
        .expect("redrive all")
        .into_inner()
        .ids;
    assert!(none.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_redriven_message_gets_a_fresh_retry_schedule() {
    let addr = free_addr().await;
    let _down = FakeProvider::start(addr, Behaviour::Fail).await;
    let database = TestDatabase::create().await.expect("database");
    let mut settings = settings(&database);
    settings.dispatch.max_attempts = 2;
    settings.dispatcher = false;
    let app = spawn_app_with(settings, database).await;
    let provider = register(&app, &format!("http://{addr}")).await;
    let product = provided_product(&app, &provider, "showtime-10", 1).await;
    app.client()
        .place_order(order(vec![item(&product, 1)], card(VISA)))
        .await
        .expect("sold");
    let exhausted = |app: &TestApp| {
        let pool = app.pool.clone();
        async move {
            let rows: Vec<(String, i32)> = sqlx::query_as("SELECT status, attempts FROM outbox")
                .fetch_all(&pool)
                .await
                .expect("outbox");
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(rows[0].0, "exhausted", "{rows:?}");
            rows[0].1
        }
    };
    assert_eq!(app.deliver_until_settled().await, 2);
    assert_eq!(exhausted(&app).await, 2);
    let mut admin_api = admin_client(&app).await;
    admin_api
        .redrive_outbox(admin(pb::RedriveOutboxRequest {
            ids: vec![],
            all_exhausted: true,
        }))
        .await
        .expect("redrive");
    // Still failing: two more attempts (a fresh budget), then exhausted again.
    assert_eq!(app.deliver_until_settled().await, 2);
    assert_eq!(exhausted(&app).await, 4);
    app.stop().await;
}
