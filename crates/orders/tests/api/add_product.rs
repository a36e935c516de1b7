use cinema_proto::orders::v1 as pb;
use tonic::{Code, Request};

use crate::helpers::*;

async fn register(app: &TestApp, name: &str, endpoint: &str) -> String {
    app.client()
        .register_provider(admin(pb::RegisterProviderRequest {
            name: name.into(),
            callback_endpoint: endpoint.into(),
        }))
        .await
        .expect("provider registered")
        .into_inner()
        .provider_id
}

fn showtime(provider_id: &str, external_ref: &str, quantity: i64) -> pb::AddProductRequest {
    pb::AddProductRequest {
        description: "Showtime".into(),
        quantity,
        price_cents: 1250,
        provider_id: Some(provider_id.into()),
        external_ref: Some(external_ref.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn add_product_returns_an_id_that_orders_can_use() {
    let app = spawn_app().await;
    let id = app.add_product("  My test product  ", 3, 0).await;
    assert!(!id.is_empty());
    assert_eq!(app.availability(&id).await, 3);
    let description: String = sqlx::query_scalar("SELECT description FROM products")
        .fetch_one(&app.pool)
        .await
        .expect("product");
    assert_eq!(description, "My test product", "descriptions are trimmed");
    app.stop().await;
}

#[tokio::test]
async fn a_provider_retrying_add_product_never_makes_a_twin() {
    let app = spawn_app().await;
    let movies = register(&app, "movies", "http://127.0.0.1:50051").await;
    assert_eq!(
        register(&app, "movies", "http://movies:50051").await,
        movies,
        "re-registering keeps the id"
    );
    let endpoint: String = sqlx::query_scalar("SELECT callback_endpoint FROM providers")
        .fetch_one(&app.pool)
        .await
        .expect("provider");
    assert_eq!(endpoint, "http://movies:50051", "and updates the endpoint");

    let first = app
        .client()
        .add_product(admin(showtime(&movies, "showtime-1", 120)))
        .await
        .expect("added")
        .into_inner();
    let retry = app
        .client()
        .add_product(admin(showtime(&movies, "showtime-1", 120)))
        .await
        .expect("retried")
        .into_inner();
    assert_eq!(first, retry);

    // Sales since do not turn a retry into a conflict: the registered quantity counts.
    app.client()
        .place_order(order(vec![item(&first.product_id, 2)], card(VISA)))
        .await
        .expect("order");
    let after_sale = app
        .client()
        .add_product(admin(showtime(&movies, "showtime-1", 120)))
        .await
        .expect("retried")
        .into_inner();
    assert_eq!(after_sale, first);

    let message = expect_code(
        app.client()
            .add_product(admin(showtime(&movies, "showtime-1", 99)))
            .await,
        Code::AlreadyExists,
    );
    assert!(message.contains(&first.product_id), "{message}");

    let other = app
        .client()
        .add_product(admin(showtime(&movies, "showtime-2", 120)))
        .await
        .expect("added")
        .into_inner();
    assert_ne!(other, first);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM products")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 2);
    app.stop().await;
}

#[tokio::test]
async fn bad_products_and_missing_credentials_are_refused_and_write_nothing() {
    let app = spawn_app().await;
    let movies = register(&app, "movies", "http://127.0.0.1:50051").await;
    let valid = pb::AddProductRequest {
        description: "Seat".into(),
        quantity: 1,
        price_cents: 100,
        ..Default::default()
    };
    let cases: Vec<(&str, Request<pb::AddProductRequest>, Code)> = vec![
        (
            "no credential",
            Request::new(valid.clone()),
            Code::Unauthenticated,
        ),
        (
            "wrong credential",
            {
                let mut r = Request::new(valid.clone());
                r.metadata_mut()
                    .insert("authorization", "Bearer nope".parse().expect("ascii"));
                r
            },
            Code::Unauthenticated,
        ),
        (
            "empty description",
            admin(pb::AddProductRequest {
                description: "   ".into(),
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "long description",
            admin(pb::AddProductRequest {
                description: "x".repeat(1001),
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "negative quantity",
            admin(pb::AddProductRequest {
                quantity: -1,
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "negative price",
            admin(pb::AddProductRequest {
                price_cents: -1,
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "ref without provider",
            admin(pb::AddProductRequest {
                external_ref: Some("x".into()),
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "malformed provider",
            admin(pb::AddProductRequest {
                provider_id: Some("movies".into()),
                ..valid.clone()
            }),
            Code::InvalidArgument,
        ),
        (
            "unknown provider",
            admin(pb::AddProductRequest {
                provider_id: Some("424242".into()),
                external_ref: Some("x".into()),
                ..valid.clone()
            }),
            Code::NotFound,
        ),
    ];
    let before = app.row_counts().await;
    for (name, request, code) in cases {
        let status = app.client().add_product(request).await.expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        assert!(!status.message().is_empty(), "{name} explains itself");
        assert_eq!(app.row_counts().await, before, "{name} changed something");
    }

    let status = app
        .client()
        .register_provider(pb::RegisterProviderRequest {
            name: "intruder".into(),
            callback_endpoint: "http://evil:1".into(),
        })
        .await
        .expect_err("unauthenticated");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = app
        .client()
        .register_provider(admin(pb::RegisterProviderRequest {
            name: "movies".into(),
            callback_endpoint: "not a url".into(),
        }))
        .await
        .expect_err("bad endpoint");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(app.row_counts().await, before);
    let _ = movies;
    app.stop().await;
}
