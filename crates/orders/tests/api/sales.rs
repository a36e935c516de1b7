//! A manager asks how products sold: the standing orders and their units, those let
//! in at the door, what card and PayPal orders took (promotion codes take nothing),
//! the cancellations and their refunds, and what is on sale and held now.

use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;
use crate::outbox_admin::admin_client;

async fn sales(app: &TestApp, ids: &[&str]) -> Result<Vec<pb::ProductSales>, tonic::Status> {
    admin_client(app)
        .await
        .get_sales(admin(pb::GetSalesRequest {
            product_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
        }))
        .await
        .map(|r| r.into_inner().products)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_count_what_was_sold_let_in_taken_and_given_back() {
    let app = spawn_app().await;
    let heat = app.add_product("Heat, 7:30 PM", 20, 1250).await;
    let alien = app.add_product("Alien, 9 PM", 10, 1000).await;
    let quiet = app.add_product("Vertigo, 4 PM", 5, 900).await;
    app.add_promotion("FREEBIE", 5, true).await;

    let by_card = app
        .place(&order(vec![item(&heat, 3)], card(VISA)), "by card")
        .await;
    app.place(
        &order(vec![item(&heat, 2)], paypal("jo@example.com")),
        "by PayPal",
    )
    .await;
    app.place(&order(vec![item(&heat, 1)], promotion("FREEBIE")), "free")
        .await;
    // One order of both showings: each counts its own line.
    let both = app
        .place(
            &order(vec![item(&heat, 2), item(&alien, 4)], card(VISA)),
            "both",
        )
        .await;
    crate::admission::admit_anyway(&app, &by_card.confirmation)
        .await
        .expect("admitted");
    app.client()
        .cancel_order(pb::CancelOrderRequest {
            confirmation: both.confirmation.clone(),
            request_id: uuid::Uuid::new_v4().to_string(),
        })
        .await
        .expect("cancelled");
    // Somebody is choosing how to pay for two seats of Alien.
    app.client()
        .hold_products(pb::HoldProductsRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            items: vec![item(&alien, 2)],
            ttl_seconds: 0,
        })
        .await
        .expect("held");

    // In the order asked, each once.
    let found = sales(&app, &[&alien, &heat, &quiet, &alien])
        .await
        .expect("sales");
    let ids: Vec<&str> = found.iter().map(|s| s.product_id.as_str()).collect();
    assert_eq!(ids, [alien.as_str(), heat.as_str(), quiet.as_str()]);
    let (alien_sales, heat_sales, quiet_sales) = (&found[0], &found[1], &found[2]);

    assert_eq!(
        heat_sales,
        &pb::ProductSales {
            product_id: heat.clone(),
            description: "Heat, 7:30 PM".into(),
            quantity_total: 20,
            available: 14,
            held: 0,
            orders: 3,
            sold: 6,
            admitted_orders: 1,
            admitted: 3,
            promotional: 1,
            // Three by card and two by PayPal at $12.50; the free one took nothing.
            takings_cents: 6250,
            cancelled_orders: 1,
            cancelled: 2,
            refunded_cents: 2500,
            withdrawn_at: None,
        }
    );
    assert_eq!(
        (
            alien_sales.available,
            alien_sales.held,
            alien_sales.orders,
            alien_sales.sold,
            alien_sales.takings_cents
        ),
        (8, 2, 0, 0, 0)
    );
    assert_eq!(
        (alien_sales.cancelled_orders, alien_sales.cancelled),
        (1, 4)
    );
    assert_eq!(alien_sales.refunded_cents, 4000);
    assert_eq!(
        (quiet_sales.sold, quiet_sales.available, quiet_sales.orders),
        (0, 5, 0)
    );

    // A withdrawn product says since when; its cancelled orders are counted as such.
    app.client()
        .withdraw_product(admin(pb::WithdrawProductRequest {
            product_id: heat.clone(),
        }))
        .await
        .expect("withdrawn");
    let withdrawn = &sales(&app, &[&heat]).await.expect("sales")[0];
    assert!(withdrawn.withdrawn_at.is_some());
    assert_eq!((withdrawn.orders, withdrawn.sold), (0, 0));
    assert_eq!((withdrawn.cancelled_orders, withdrawn.cancelled), (4, 8));
    assert_eq!(withdrawn.refunded_cents, 2500 + 3750 + 2500);
    app.stop().await;
}

#[tokio::test]
async fn sales_are_for_operators_and_name_what_is_wrong() {
    let app = spawn_app().await;
    let heat = app.add_product("Heat, 7:30 PM", 20, 1250).await;
    let before = app.row_counts().await;

    let anonymous = admin_client(&app)
        .await
        .get_sales(pb::GetSalesRequest {
            product_ids: vec![heat.clone()],
        })
        .await;
    expect_code(anonymous, Code::Unauthenticated);

    let unknown = expect_details(sales(&app, &[&heat, "999999"]).await, Code::NotFound);
    let resource = unknown.resource.expect("resource");
    assert_eq!(
        (resource.resource_type.as_str(), resource.name.as_str()),
        ("product", "999999")
    );
    let malformed = expect_details(sales(&app, &[&heat, "x1"]).await, Code::InvalidArgument);
    assert_eq!(malformed.violations[0].field, "product_ids[1]");
    let none = expect_details(sales(&app, &[]).await, Code::InvalidArgument);
    assert_eq!(none.violations[0].field, "product_ids");
    let many: Vec<String> = (1..=1001).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let too_many = expect_details(sales(&app, &many).await, Code::InvalidArgument);
    assert_eq!(too_many.violations[0].field, "product_ids");
    assert_eq!(app.row_counts().await, before, "a report changes nothing");
    app.stop().await;
}
