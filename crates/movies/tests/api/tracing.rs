//! One request's trace follows it from the movies service to the orders service.

use std::sync::{Arc, Mutex};

use cinema_movies::Application;
use cinema_movies::config::Settings;
use cinema_proto::movies::v1 as pb;
use cinema_proto::orders::v1 as orders;
use cinema_proto::orders::v1::orders_service_server::{OrdersService, OrdersServiceServer};
use cinema_service::service::Running;
use secrecy::SecretString;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::helpers::*;

/// An orders service that records the trace context of each AddProduct.
#[derive(Clone, Default)]
struct RecordingOrders {
    traceparents: Arc<Mutex<Vec<Option<String>>>>,
}

#[tonic::async_trait]
impl OrdersService for RecordingOrders {
    async fn register_provider(
        &self,
        _: Request<orders::RegisterProviderRequest>,
    ) -> Result<Response<orders::RegisterProviderResponse>, Status> {
        Ok(Response::new(orders::RegisterProviderResponse {
            provider_id: "1".into(),
        }))
    }
    async fn add_product(
        &self,
        request: Request<orders::AddProductRequest>,
    ) -> Result<Response<orders::AddProductResponse>, Status> {
        let traceparent = request
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.traceparents.lock().expect("lock").push(traceparent);
        Ok(Response::new(orders::AddProductResponse {
            product_id: "42".into(),
        }))
    }
    async fn withdraw_product(
        &self,
        _: Request<orders::WithdrawProductRequest>,
    ) -> Result<Response<orders::WithdrawProductResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn place_order(
        &self,
        _: Request<orders::PlaceOrderRequest>,
    ) -> Result<Response<orders::PlaceOrderResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get_order(
        &self,
        _: Request<orders::GetOrderRequest>,
    ) -> Result<Response<orders::GetOrderResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn hold_products(
        &self,
        _: Request<orders::HoldProductsRequest>,
    ) -> Result<Response<orders::HoldProductsResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get_hold(
        &self,
        _: Request<orders::GetHoldRequest>,
    ) -> Result<Response<orders::GetHoldResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn release_hold(
        &self,
        _: Request<orders::ReleaseHoldRequest>,
    ) -> Result<Response<orders::ReleaseHoldResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn get_availability(
        &self,
        _: Request<orders::GetAvailabilityRequest>,
    ) -> Result<Response<orders::GetAvailabilityResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
    async fn cancel_order(
        &self,
        _: Request<orders::CancelOrderRequest>,
    ) -> Result<Response<orders::CancelOrderResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

#[tokio::test]
async fn create_showtime_carries_the_callers_trace_to_the_orders_service() {
    cinema_testkit::init_test_logging();
    let orders = RecordingOrders::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let orders_addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(OrdersServiceServer::new(orders.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    let database = cinema_testkit::TestDatabase::create()
        .await
        .expect("database");
    let movies = Running::start::<Application>(Settings {
        database: cinema_service::service::DatabaseSettings {
            db_max_connections: 5,
            ..cinema_service::service::DatabaseSettings::new(database.url().to_owned())
        },
        listen_addr: "127.0.0.1:0".parse().expect("addr"),
        admin_token: Some(SecretString::from(ADMIN_TOKEN.to_owned())),
        orders_endpoint: format!("http://{orders_addr}"),
        orders_token: Some(SecretString::from(ORDERS_TOKEN.to_owned())),
        orders_timeout_ms: 2000,
        provider_name: "movies".into(),
        callback_endpoint: None,
        callback_token: Some(SecretString::from(CALLBACK_TOKEN.to_owned())),
        cleaning_gap_minutes: 15,
        serving: Default::default(),
    })
    .await
    .expect("movies builds");
    let channel = tonic::transport::Channel::from_shared(movies.url())
        .expect("uri")
        .connect_lazy();
    let mut admin_client =
        cinema_proto::movies::v1::movies_admin_service_client::MoviesAdminServiceClient::new(
            channel,
        );

    let movie = admin_client
        .create_movie(admin(pb::CreateMovieRequest {
            name: "Heat".into(),
            length_minutes: 170,
            rating: pb::Rating::R.into(),
            request_id: String::new(),
            synopsis: String::new(),
            release_year: 0,
        }))
        .await
        .expect("movie")
        .into_inner()
        .movie
        .expect("movie");
    let theatre = admin_client
        .create_theatre(admin(theatre_request("Kendall", "02139", None)))
        .await
        .expect("theatre")
        .into_inner()
        .theatre
        .expect("theatre");
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let mut request = admin(showtime_request(
        &movie.id,
        &theatre.id,
        "1",
        hours_from_now(4),
    ));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-b7ad6b7169203331-01")
            .parse()
            .expect("ascii"),
    );
    admin_client
        .create_showtime(request)
        .await
        .expect("showtime");

    let seen = orders.traceparents.lock().expect("lock").clone();
    let traceparent = seen
        .last()
        .cloned()
        .flatten()
        .expect("AddProduct carried a trace context");
    assert_eq!(
        traceparent.split('-').nth(1),
        Some(trace_id),
        "same trace: {traceparent}"
    );
    movies.stop().await.expect("stops");
}
