use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;

#[tokio::test]
async fn availability_answers_in_request_order_and_names_unknown_ids() {
    let app = spawn_app().await;
    let a = app.add_product("A", 5, 100).await;
    let b = app.add_product("B", 0, 100).await;

    let answer = app
        .client()
        .get_availability(pb::GetAvailabilityRequest {
            product_ids: vec![b.clone(), a.clone(), b.clone()],
        })
        .await
        .expect("availability")
        .into_inner();
    let pairs: Vec<_> = answer
        .products
        .iter()
        .map(|p| (p.product_id.clone(), p.quantity_remaining))
        .collect();
    assert_eq!(pairs, vec![(b.clone(), 0), (a.clone(), 5)]);

    let message = expect_code(
        app.client()
            .get_availability(pb::GetAvailabilityRequest {
                product_ids: vec![a.clone(), "777777".into(), "888888".into()],
            })
            .await,
        Code::NotFound,
    );
    assert!(
        message.contains("777777") && message.contains("888888"),
        "{message}"
    );
    expect_code(
        app.client()
            .get_availability(pb::GetAvailabilityRequest {
                product_ids: vec![],
            })
            .await,
        Code::InvalidArgument,
    );
    expect_code(
        app.client()
            .get_availability(pb::GetAvailabilityRequest {
                product_ids: vec!["x".into()],
            })
            .await,
        Code::InvalidArgument,
    );
    app.stop().await;
}
