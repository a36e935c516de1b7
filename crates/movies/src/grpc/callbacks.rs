use cinema_proto::orders::v1 as orders;
use cinema_proto::orders::v1::product_provider_service_server::ProductProviderService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use crate::Error;
use crate::domain::{ShowtimeId, ValidationError};
use crate::store::{self, Applied};

/// Our side of the orders service's `ProductProviderService` callbacks: a showtime sold out,
/// or is available again. Authenticated by an interceptor (see `startup`); delivery is
/// at least once, so applying an event is idempotent and ordered by its sequence.
#[derive(Debug, Clone)]
pub struct CallbacksApi {
    pool: PgPool,
}

impl CallbacksApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    async fn apply(
        &self,
        external_ref: &str,
        product_id: &str,
        sold_out: bool,
        sequence: u64,
    ) -> Result<(), Status> {
        let showtime = ShowtimeId::parse(external_ref).map_err(|_| {
            Error::from(ValidationError::of(
                "external_ref",
                format!(
                    "external_ref {} is not one of our showtime ids",
                    cinema_service::text::quote(external_ref)
                ),
            ))
        })?;
        let sequence = i64::try_from(sequence)
            .map_err(|_| {
                ValidationError::of("sequence", format!("sequence {sequence} is out of range"))
            })
            .map_err(Error::from)?;
        match store::apply_availability(&self.pool, showtime, product_id, sold_out, sequence)
            .await?
        {
            Applied::Changed => {
                tracing::info!(%showtime, sold_out, sequence, "showtime availability changed")
            }
            Applied::AlreadyCurrent => {
                tracing::info!(%showtime, sequence, "stale or repeated event ignored")
            }
            Applied::UnknownShowtime => {
                return Err(Error::not_found(
                    "showtime",
                    showtime,
                    format!("no showtime {showtime} with product {product_id}"),
                )
                .into());
            }
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl ProductProviderService for CallbacksApi {
    #[tracing::instrument(skip_all, fields(rpc = "ProductSoldOut", event_id = %request.get_ref().event_id))]
    async fn product_sold_out(
        &self,
        request: Request<orders::ProductSoldOutRequest>,
    ) -> Result<Response<orders::ProductSoldOutResponse>, Status> {
        let e = request.get_ref();
        self.apply(&e.external_ref, &e.product_id, true, e.sequence)
            .await?;
        Ok(Response::new(orders::ProductSoldOutResponse {}))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ProductAvailable", event_id = %request.get_ref().event_id))]
    async fn product_available(
        &self,
        request: Request<orders::ProductAvailableRequest>,
    ) -> Result<Response<orders::ProductAvailableResponse>, Status> {
        let e = request.get_ref();
        self.apply(&e.external_ref, &e.product_id, false, e.sequence)
            .await?;
        Ok(Response::new(orders::ProductAvailableResponse {}))
    }
}
