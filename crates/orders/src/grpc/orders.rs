use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_service_server::OrdersService;
use tonic::{Request, Response, Status};

use cinema_service::BearerAuth;

use super::convert;
use crate::checkout::Checkout;
use crate::domain::{CallbackEndpoint, Confirmation, HoldId, ProductId, ProviderName, RequestId};
use crate::error::{Error, Reason};
use crate::store::{self, AddedProduct};
use cinema_service::error::AtField;
use cinema_service::error::retry_conflicts;

/// Puts the call's request id on its span, so every line logged while serving it
/// (an unexpected error included) names it. Quoted: it is the caller's input.
fn record_request_id(raw: &str) {
    tracing::Span::current().record(
        "request_id",
        tracing::field::display(cinema_service::text::quote(raw)),
    );
}

/// The `OrdersService` implementation.
#[derive(Debug, Clone)]
pub struct OrdersApi {
    pool: sqlx::PgPool,
    checkout: Checkout,
    /// Guards the calls that change products and providers.
    admin: BearerAuth,
}

impl OrdersApi {
    pub fn new(pool: sqlx::PgPool, checkout: Checkout, admin: BearerAuth) -> Self {
        Self {
            pool,
            checkout,
            admin,
        }
    }
}

#[tonic::async_trait]
impl OrdersService for OrdersApi {
    #[tracing::instrument(skip_all, fields(rpc = "RegisterProvider"))]
    async fn register_provider(
        &self,
        request: Request<pb::RegisterProviderRequest>,
    ) -> Result<Response<pb::RegisterProviderResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let req = request.into_inner();
        let name = ProviderName::parse(&req.name)
            .at("name")
            .map_err(Error::from)?;
        let endpoint = CallbackEndpoint::parse(&req.callback_endpoint)
            .at("callback_endpoint")
            .map_err(Error::from)?;
        let id = store::upsert_provider(&self.pool, &name, &endpoint).await?;
        tracing::info!(provider = name.as_str(), provider_id = %id, "provider registered");
        Ok(Response::new(pb::RegisterProviderResponse {
            provider_id: id.to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "AddProduct", product_id))]
    async fn add_product(
        &self,
        request: Request<pb::AddProductRequest>,
    ) -> Result<Response<pb::AddProductResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let product = convert::new_product(request.get_ref()).map_err(Error::from)?;
        let id = match store::add_product(&self.pool, &product).await? {
            AddedProduct::Added(id) => id,
            AddedProduct::Conflict(id) => {
                return Err(Error::Conflict {
                    reason: Reason::AlreadyExists,
                    message: format!(
                        "product {id} already has this provider_id and external_ref with a \
                         different description, quantity, price or sales end"
                    ),
                }
                .into());
            }
        };
        tracing::Span::current().record("product_id", tracing::field::display(id));
        Ok(Response::new(pb::AddProductResponse {
            product_id: id.to_string(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "WithdrawProduct"))]
    async fn withdraw_product(
        &self,
        request: Request<pb::WithdrawProductRequest>,
    ) -> Result<Response<pb::WithdrawProductResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let product = ProductId::parse(&request.get_ref().product_id)
            .at("product_id")
            .map_err(Error::from)?;
        let done = retry_conflicts(|| self.checkout.withdraw_product(product)).await?;
        Ok(Response::new(pb::WithdrawProductResponse {
            withdrawn_at: Some(cinema_service::domain::timestamp(done.withdrawn_at)),
            orders_cancelled: u32::try_from(done.orders_cancelled).unwrap_or(u32::MAX),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "PlaceOrder", request_id))]
    async fn place_order(
        &self,
        request: Request<pb::PlaceOrderRequest>,
    ) -> Result<Response<pb::PlaceOrderResponse>, Status> {
        record_request_id(&request.get_ref().request_id);
        let today = chrono::Utc::now().date_naive();
        let draft = convert::order_draft(request.get_ref(), today).map_err(Error::from)?;
        // Idempotent on the request id, so a lost race is simply run again.
        let order = retry_conflicts(|| self.checkout.place_order(&draft)).await?;
        Ok(Response::new(convert::order_placed(&order)))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetOrder"))]
    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::GetOrderResponse>, Status> {
        let code = Confirmation::parse(&request.get_ref().confirmation)
            .at("confirmation")
            .map_err(Error::from)?;
        let order = store::get_order(&self.pool, &code).await?.ok_or_else(|| {
            Error::not_found("order", &code, format!("no order with confirmation {code}"))
        })?;
        Ok(Response::new(pb::GetOrderResponse {
            order: Some(convert::order(&order)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "CancelOrder", request_id))]
    async fn cancel_order(
        &self,
        request: Request<pb::CancelOrderRequest>,
    ) -> Result<Response<pb::CancelOrderResponse>, Status> {
        let req = request.get_ref();
        record_request_id(&req.request_id);
        let code = Confirmation::parse(&req.confirmation)
            .at("confirmation")
            .map_err(Error::from)?;
        let request_id = RequestId::parse(&req.request_id)
            .at("request_id")
            .map_err(Error::from)?;
        let order = retry_conflicts(|| self.checkout.cancel_order(&code, &request_id)).await?;
        Ok(Response::new(pb::CancelOrderResponse {
            order: Some(convert::order(&order)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "HoldProducts", request_id))]
    async fn hold_products(
        &self,
        request: Request<pb::HoldProductsRequest>,
    ) -> Result<Response<pb::HoldProductsResponse>, Status> {
        record_request_id(&request.get_ref().request_id);
        let draft = convert::hold_draft(request.get_ref()).map_err(Error::from)?;
        let hold = retry_conflicts(|| self.checkout.hold(&draft)).await?;
        Ok(Response::new(pb::HoldProductsResponse {
            hold: Some(convert::hold(&hold)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetHold"))]
    async fn get_hold(
        &self,
        request: Request<pb::GetHoldRequest>,
    ) -> Result<Response<pb::GetHoldResponse>, Status> {
        let id = HoldId::parse(&request.get_ref().hold_id)
            .at("hold_id")
            .map_err(Error::from)?;
        let hold = self.checkout.get_hold(id).await?;
        Ok(Response::new(pb::GetHoldResponse {
            hold: Some(convert::hold(&hold)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ReleaseHold"))]
    async fn release_hold(
        &self,
        request: Request<pb::ReleaseHoldRequest>,
    ) -> Result<Response<pb::ReleaseHoldResponse>, Status> {
        let id = HoldId::parse(&request.get_ref().hold_id)
            .at("hold_id")
            .map_err(Error::from)?;
        let hold = retry_conflicts(|| self.checkout.release(id)).await?;
        Ok(Response::new(pb::ReleaseHoldResponse {
            hold: Some(convert::hold(&hold)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetAvailability"))]
    async fn get_availability(
        &self,
        request: Request<pb::GetAvailabilityRequest>,
    ) -> Result<Response<pb::GetAvailabilityResponse>, Status> {
        let ids = convert::product_ids(&request.get_ref().product_ids).map_err(Error::from)?;
        let found = store::availability(&self.pool, &ids).await?;
        convert::all_found(&ids, found.iter().map(|(id, _, _)| *id))?;
        let products = ids
            .iter()
            .filter_map(|id| found.iter().find(|(f, _, _)| f == id))
            .map(|(id, available, held)| pb::ProductAvailability {
                product_id: id.to_string(),
                quantity_remaining: *available,
                held: *held,
                available: *available,
            })
            .collect();
        Ok(Response::new(pb::GetAvailabilityResponse { products }))
    }
}
