//! The movies service's view of the orders service: register as a product provider,
//! register showtimes as products, and withdraw those of cancelled showtimes.

use std::time::Duration;

use cinema_proto::error::ErrorKind;
use cinema_proto::orders::v1 as orders;
use cinema_proto::orders::v1::orders_service_client::OrdersServiceClient;
use cinema_service::domain::timestamp;
use secrecy::SecretString;
use tokio::sync::OnceCell;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::Error;
use crate::domain::Tickets;

#[derive(Debug)]
pub struct OrdersGateway {
    client: OrdersServiceClient<Channel>,
    /// The orders service's admin credential (AddProduct and RegisterProvider need it).
    token: SecretString,
    provider_name: String,
    /// Where the orders service should call us back (sold-out notices).
    callback_endpoint: String,
    /// Our provider id, learnt from the first successful registration.
    provider_id: OnceCell<String>,
}

impl OrdersGateway {
    /// Does not connect yet: the movies service starts, and serves reads, while the
    /// orders service is down.
    pub fn new(
        endpoint: &str,
        token: SecretString,
        provider_name: String,
        callback_endpoint: String,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        // One address, a list, or `dns:///host:port` (a headless Service): balanced
        // per call over every orders replica (see `cinema_client::balance`).
        let channel = cinema_client::balance::channel(endpoint, move |e: Endpoint| {
            Ok(e.connect_timeout(timeout).timeout(timeout))
        })
        .map_err(anyhow::Error::msg)?;
        Ok(Self {
            client: OrdersServiceClient::new(channel),
            token,
            provider_name,
            callback_endpoint,
            provider_id: OnceCell::new(),
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        // The orders service's logs for this call continue our trace.
        cinema_service::telemetry::inject_trace_context(request.metadata_mut());
        if let Some(value) = cinema_service::BearerAuth::header_value(&self.token) {
            request.metadata_mut().insert("authorization", value);
        }
        request
    }

    /// Registers this service as a provider (idempotent by name), once per process.
    pub async fn provider_id(&self) -> Result<&str, Error> {
        self.provider_id
            .get_or_try_init(|| async {
                let response = self
                    .client
                    .clone()
                    .register_provider(self.request(orders::RegisterProviderRequest {
                        name: self.provider_name.clone(),
                        callback_endpoint: self.callback_endpoint.clone(),
                    }))
                    .await
                    .map_err(|s| orders_error("RegisterProvider", s))?;
                let id = response.into_inner().provider_id;
                tracing::info!(provider_id = %id, "registered with the orders service");
                Ok(id)
            })
            .await
            .map(String::as_str)
    }

    /// Registers a showtime's tickets as a product owned by this provider,
    /// idempotently on the showtime's id (the product's `external_ref`).
    pub async fn add_product(&self, tickets: &Tickets) -> Result<String, Error> {
        let provider_id = self.provider_id().await?.to_owned();
        let (admission_start, admission_end) = tickets.admission();
        let response = self
            .client
            .clone()
            .add_product(self.request(orders::AddProductRequest {
                description: tickets.description(),
                quantity: i64::from(tickets.seats),
                price_cents: tickets.price_cents,
                provider_id: Some(provider_id),
                external_ref: Some(tickets.showtime_id.to_string()),
                sales_end: Some(timestamp(tickets.sales_end())),
                admission_start: Some(timestamp(admission_start)),
                admission_end: Some(timestamp(admission_end)),
                admission_venue: tickets.theatre_id.to_string(),
            }))
            .await
            .map_err(|s| orders_error("AddProduct", s))?;
        Ok(response.into_inner().product_id)
    }
}

/// What withdrawing a showtime's product did at the orders service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawn {
    /// Its orders cancelled and refunded, over every call.
    pub orders_cancelled: u32,
}

impl OrdersGateway {
    /// Withdraws a showtime's product: its sales end and every order of it is
    /// cancelled and refunded. Idempotent at the orders service.
    pub async fn withdraw_product(&self, product_id: &str) -> Result<Withdrawn, Error> {
        let response = self
            .client
            .clone()
            .withdraw_product(self.request(orders::WithdrawProductRequest {
                product_id: product_id.to_owned(),
            }))
            .await
            .map_err(|s| orders_error("WithdrawProduct", s))?;
        Ok(Withdrawn {
            orders_cancelled: response.into_inner().orders_cancelled,
        })
    }
}

/// What the orders service's answer means for our caller: its being down is
/// UNAVAILABLE (retry later); anything else is our bug or misconfiguration.
fn orders_error(call: &str, status: Status) -> Error {
    match ErrorKind::of(&status) {
        kind if kind.is_retryable() => {
            tracing::warn!(call, status = %status, "orders service unavailable");
            Error::Unavailable(
                "the orders service is unavailable; retry later with the same request_id".into(),
            )
        }
        // AddProduct: the showtime id reserved for this request id was registered with
        // other values by an earlier attempt that did not finish.
        ErrorKind::Conflict => Error::Conflict {
            reason: cinema_service::error::Reason::RequestIdReused,
            message: "an earlier attempt with this request_id registered other values; \
                      use a new request_id"
                .into(),
        },
        ErrorKind::Unauthenticated => {
            tracing::error!(
                call,
                "the orders service refused our credential: check ORDERS_ADMIN_TOKEN"
            );
            Error::unexpected(format!("orders {call} refused our credential"))
        }
        _ => Error::unexpected(format!("orders {call} failed: {status}")),
    }
}
