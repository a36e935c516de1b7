//! The box office lets an order's holder in once: a copy of the code shown again, at
//! the same door or at another at the same moment, is refused and says when the order
//! was used; a cancelled order lets nobody in; and used tickets are not refunded.

use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;
use crate::outbox_admin::admin_client;

async fn admit(app: &TestApp, confirmation: &str) -> Result<pb::Order, tonic::Status> {
    admin_client(app)
        .await
        .admit_order(admin(pb::AdmitOrderRequest {
            confirmation: confirmation.into(),
        }))
        .await
        .map(|r| r.into_inner().order.expect("order"))
}

async fn get(app: &TestApp, confirmation: &str) -> pb::Order {
    app.client()
        .get_order(pb::GetOrderRequest {
            confirmation: confirmation.into(),
        })
        .await
        .expect("order")
        .into_inner()
        .order
        .expect("order")
}

async fn cancel(app: &TestApp, confirmation: &str) -> Result<pb::Order, tonic::Status> {
    app.client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: confirmation.into(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .map(|r| r.into_inner().order.expect("order"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_admits_its_holder_once_and_its_used_tickets_are_not_refunded() {
    let app = spawn_app().await;
    let product = app.add_product("Heat, 7:30 PM", 10, 1250).await;
    let placed = app
        .place(&order(vec![item(&product, 2)], card(VISA)), "an order")
        .await;

    assert!(get(&app, &placed.confirmation).await.admitted_at.is_none());
    let admitted = admit(&app, &placed.confirmation).await.expect("admitted");
    let at = admitted.admitted_at.expect("when");
    assert_eq!(admitted.status(), pb::OrderStatus::Placed);
    // GetOrder says so too, for whoever looks later.
    assert_eq!(get(&app, &placed.confirmation).await.admitted_at, Some(at));

    // The same code again: refused, saying when it was used; nothing changes.
    let again = admit(&app, &placed.confirmation).await;
    let status = again.as_ref().expect_err("a second admission").clone();
    assert!(
        status.message().contains("already admitted at"),
        "{status:?}"
    );
    let details = expect_details(again, Code::FailedPrecondition);
    assert_eq!(details.reason, Some(Reason::AlreadyAdmitted));

    // Used tickets are not cancelled, nor refunded: the seats stay sold.
    let before = app.availability(&product).await;
    let refused = cancel(&app, &placed.confirmation).await;
    assert_eq!(
        expect_details(refused, Code::FailedPrecondition).reason,
        Some(Reason::AlreadyAdmitted)
    );
    assert_eq!(app.availability(&product).await, before);

    // A cancelled order lets nobody in.
    let other = app
        .place(&order(vec![item(&product, 1)], card(VISA)), "another order")
        .await;
    cancel(&app, &other.confirmation).await.expect("cancelled");
    assert_eq!(
        expect_details(
            admit(&app, &other.confirmation).await,
            Code::FailedPrecondition
        )
        .reason,
        Some(Reason::OrderCancelled)
    );

    // An unknown code, a malformed one, and no credential.
    expect_code(admit(&app, "ABCDEFGHJK").await, Code::NotFound);
    let malformed = expect_details(admit(&app, "not a code").await, Code::InvalidArgument);
    assert_eq!(malformed.violations[0].field, "confirmation");
    let anonymous = admin_client(&app)
        .await
        .admit_order(pb::AdmitOrderRequest {
            confirmation: other.confirmation.clone(),
        })
        .await;
    expect_code(anonymous, Code::Unauthenticated);
    app.stop().await;
}

/// Two copies of one code at two doors at the same moment: exactly one is let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_of_a_code_shown_at_once_admit_exactly_one() {
    let app = spawn_app().await;
    let product = app.add_product("Heat, 7:30 PM", 50, 1250).await;
    for _ in 0..5 {
        let placed = app
            .place(&order(vec![item(&product, 1)], card(VISA)), "an order")
            .await;
        let doors = (0..8).map(|_| admit(&app, &placed.confirmation));
        let answers = futures::future::join_all(doors).await;
        let admitted = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(admitted, 1, "{answers:?}");
        assert!(answers.iter().all(|a| match a {
            Ok(_) => true,
            Err(status) => status.code() == Code::FailedPrecondition,
        }));
    }
    app.stop().await;
}
