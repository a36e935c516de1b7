//! Operators create promotion codes and end them over the admin API; customers' orders
//! pay with them. Bad requests are refused naming the field, and change nothing.

use cinema_proto::error::Reason;
use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;
use crate::outbox_admin::admin_client;

fn create(code: &str, uses: i64, description: &str) -> pb::CreatePromotionRequest {
    pb::CreatePromotionRequest {
        code: code.into(),
        uses,
        description: description.into(),
    }
}

fn end(code: &str) -> pb::EndPromotionRequest {
    pb::EndPromotionRequest { code: code.into() }
}

fn get(code: &str) -> pb::GetPromotionRequest {
    pb::GetPromotionRequest { code: code.into() }
}

async fn uses_remaining(app: &TestApp, code: &str) -> Option<i32> {
    sqlx::query_scalar("SELECT uses_remaining FROM promotions WHERE code = $1")
        .bind(code)
        .fetch_optional(&app.pool)
        .await
        .expect("promotions")
}

#[tokio::test]
async fn an_operator_creates_a_promotion_customers_pay_with_and_ends_it() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 5, 1000).await;
    let mut api = admin_client(&app).await;

    // Only with the admin token.
    expect_code(
        api.create_promotion(create("SUMMER", 2, "")).await,
        Code::Unauthenticated,
    );
    expect_code(
        api.end_promotion(end("SUMMER")).await,
        Code::Unauthenticated,
    );
    expect_code(
        api.get_promotion(get("SUMMER")).await,
        Code::Unauthenticated,
    );
    assert_eq!(uses_remaining(&app, "SUMMER").await, None);

    let created = api
        .create_promotion(admin(create(" summer ", 2, "July's")))
        .await
        .expect("created")
        .into_inner()
        .promotion;
    let expected = pb::PromotionCode {
        code: "SUMMER".into(),
        description: "July's".into(),
        uses_remaining: 2,
        active: true,
    };
    assert_eq!(created, Some(expected));

    // A customer pays with it, typed in any case: the order takes one use.
    let paid = order(vec![item(&product, 1)], promotion("Summer"));
    app.client().place_order(paid).await.expect("pays");
    let now = api
        .get_promotion(admin(get("summer")))
        .await
        .expect("read")
        .into_inner()
        .promotion
        .expect("promotion");
    assert_eq!((now.uses_remaining, now.active), (1, true));

    // Creating it again is refused, and leaves it as it is.
    let details = expect_details(
        api.create_promotion(admin(create("SUMMER", 10, ""))).await,
        Code::AlreadyExists,
    );
    assert_eq!(details.reason, Some(Reason::AlreadyExists));
    assert_eq!(uses_remaining(&app, "SUMMER").await, Some(1));

    // Ended, it pays for nothing more; ending it again changes nothing.
    for _ in 0..2 {
        let ended = api
            .end_promotion(admin(end("summer")))
            .await
            .expect("ended")
            .into_inner()
            .promotion
            .expect("promotion");
        assert_eq!((ended.active, ended.uses_remaining), (false, 1));
    }
    let refused = order(vec![item(&product, 1)], promotion("SUMMER"));
    let details = expect_details(
        app.client().place_order(refused).await,
        Code::FailedPrecondition,
    );
    assert_eq!(details.reason, Some(Reason::PromotionUnusable));
    assert_eq!(app.availability(&product).await, 4, "only the first order");

    for unknown in [
        api.end_promotion(admin(end("NO-SUCH-CODE")))
            .await
            .map(|_| ()),
        api.get_promotion(admin(get("no-such-code")))
            .await
            .map(|_| ()),
    ] {
        let details = expect_details(unknown, Code::NotFound);
        assert_eq!(
            details.resource.map(|r| (r.resource_type, r.name)),
            Some(("promotion_code".into(), "NO-SUCH-CODE".into()))
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_promotion_that_cannot_be_made_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let mut api = admin_client(&app).await;
    let long = "x".repeat(201);
    let huge = "9".repeat(1 << 20);
    let cases = [
        (create("TWO WORDS", 1, ""), "code"),
        (create("AB", 1, ""), "code"),
        (create(&huge, 1, ""), "code"),
        (create("NUL", 1, "a\0b"), "description"),
        (create("NONE-LEFT", 0, ""), "uses"),
        (create("NEGATIVE", -5, ""), "uses"),
        (create("TOO-MANY", 1_000_001, ""), "uses"),
        (create("WORDY", 1, &long), "description"),
    ];
    for (request, field) in cases {
        let details = expect_details(
            api.create_promotion(admin(request.clone())).await,
            Code::InvalidArgument,
        );
        let named = details.violations.first().map(|v| v.field.as_str());
        assert_eq!(named, Some(field), "{request:?}");
    }
    let details = expect_details(
        api.end_promotion(admin(end("a b"))).await,
        Code::InvalidArgument,
    );
    assert_eq!(details.violations[0].field, "code");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM promotions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0, "nothing was created");
    app.stop().await;
}
