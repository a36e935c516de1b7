//! `OrdersAdminService`: what operators ask of the outbox, the box office's
//! admissions, promotion codes, and how products sold.

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::orders_admin_service_server::OrdersAdminService;
use cinema_service::BearerAuth;
use tonic::{Request, Response, Status};

use super::convert;
use crate::domain::{Confirmation, NewPromotion, PromoCode, Promotion, Venue};
use crate::error::{Error, Reason};
use crate::store::outbox::{self, Kind, ListFilter, OutboxEntry, RedriveRefused};
use crate::store::{self, AdmissionRefused, ProductSales, Window};
use cinema_service::domain::timestamp;
use cinema_service::error::AtField;

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i32 = 500;
const MAX_REDRIVE_IDS: usize = 1000;

#[derive(Debug, Clone)]
pub struct AdminApi {
    pool: sqlx::PgPool,
    admin: BearerAuth,
}

impl AdminApi {
    pub fn new(pool: sqlx::PgPool, admin: BearerAuth) -> Self {
        Self { pool, admin }
    }
}

fn status_filter(raw: i32) -> Result<Option<&'static str>, Error> {
    match pb::OutboxStatus::try_from(raw) {
        Ok(pb::OutboxStatus::Unspecified) => Ok(None),
        Ok(pb::OutboxStatus::Pending) => Ok(Some("pending")),
        Ok(pb::OutboxStatus::Delivered) => Ok(Some("delivered")),
        Ok(pb::OutboxStatus::Exhausted) => Ok(Some("exhausted")),
        Err(_) => Err(Error::invalid(format!(
            "status: {raw} is not an OutboxStatus"
        ))),
    }
}

fn kind_filter(raw: i32) -> Result<Option<Kind>, Error> {
    match pb::OutboxKind::try_from(raw) {
        Ok(pb::OutboxKind::Unspecified) => Ok(None),
        Ok(pb::OutboxKind::ProductSoldOut) => Ok(Some(Kind::ProductSoldOut)),
        Ok(pb::OutboxKind::ProductAvailable) => Ok(Some(Kind::ProductAvailable)),
        Ok(pb::OutboxKind::Sms) => Ok(Some(Kind::Sms)),
        Ok(pb::OutboxKind::PaymentRefund) => Ok(Some(Kind::Refund)),
        Err(_) => Err(Error::invalid(format!("kind: {raw} is not an OutboxKind"))),
    }
}

/// An outbox id as the API spells it: decimal digits.
fn parse_id(field: &str, raw: &str) -> Result<i64, Error> {
    if raw.is_empty() || raw.len() > 18 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "{field}: {} is not an outbox id (digits only)",
            cinema_service::text::quote(raw)
        )));
    }
    raw.parse()
        .map_err(|_| Error::invalid(format!("{field}: not an outbox id")))
}

fn message(entry: &OutboxEntry) -> pb::OutboxMessage {
    let kind = match Kind::from_db(&entry.kind) {
        Some(Kind::ProductSoldOut) => pb::OutboxKind::ProductSoldOut,
        Some(Kind::ProductAvailable) => pb::OutboxKind::ProductAvailable,
        Some(Kind::Sms) => pb::OutboxKind::Sms,
        Some(Kind::Refund) => pb::OutboxKind::PaymentRefund,
        None => pb::OutboxKind::Unspecified,
    };
    let status = match entry.status.as_str() {
        "pending" => pb::OutboxStatus::Pending,
        "delivered" => pb::OutboxStatus::Delivered,
        "exhausted" => pb::OutboxStatus::Exhausted,
        _ => pb::OutboxStatus::Unspecified,
    };
    pb::OutboxMessage {
        id: entry.id.to_string(),
        kind: kind.into(),
        status: status.into(),
        attempts: entry.attempts,
        last_error: entry.last_error.clone().unwrap_or_default(),
        occurred_at: Some(timestamp(entry.occurred_at)),
        next_attempt_at: (status == pb::OutboxStatus::Pending)
            .then(|| timestamp(entry.next_attempt_at)),
        delivered_at: entry.delivered_at.map(timestamp),
        product_id: entry.product_id.map(|p| p.to_string()).unwrap_or_default(),
        endpoint: entry.endpoint.clone().unwrap_or_default(),
        phone_last4: entry.phone_last4.clone().unwrap_or_default(),
        refund_cents: entry.refund_cents.unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl OrdersAdminService for AdminApi {
    #[tracing::instrument(skip_all, fields(rpc = "ListOutbox"))]
    async fn list_outbox(
        &self,
        request: Request<pb::ListOutboxRequest>,
    ) -> Result<Response<pb::ListOutboxResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let req = request.into_inner();
        let limit = match req.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n @ 1..=MAX_PAGE_SIZE => i64::from(n),
            n => {
                return Err(Error::invalid(format!(
                    "page_size: {n} is out of range (1 to {MAX_PAGE_SIZE}, or 0 for {DEFAULT_PAGE_SIZE})"
                ))
                .into());
            }
        };
        let before = match req.page_token.as_str() {
            "" => None,
            token => Some(parse_id("page_token", token)?),
        };
        let filter = ListFilter {
            status: status_filter(req.status)?,
            kind: kind_filter(req.kind)?,
            before,
            limit: limit + 1,
        };
        let mut entries = outbox::list(&self.pool, &filter).await?;
        let next_page_token = if entries.len() as i64 > limit {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(Response::new(pb::ListOutboxResponse {
            messages: entries.iter().map(message).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "RedriveOutbox"))]
    async fn redrive_outbox(
        &self,
        request: Request<pb::RedriveOutboxRequest>,
    ) -> Result<Response<pb::RedriveOutboxResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let req = request.into_inner();
        let ids = match (req.all_exhausted, req.ids.is_empty()) {
            (true, true) => None,
            (true, false) => {
                return Err(Error::invalid("ids: must be empty with all_exhausted").into());
            }
            (false, true) => {
                return Err(
                    Error::invalid("ids: name at least one message, or set all_exhausted").into(),
                );
            }
            (false, false) if req.ids.len() > MAX_REDRIVE_IDS => {
                return Err(
                    Error::invalid(format!("ids: at most {MAX_REDRIVE_IDS} per call")).into(),
                );
            }
            (false, false) => Some(
                req.ids
                    .iter()
                    .map(|id| parse_id("ids", id))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let redriven = match outbox::redrive(&self.pool, ids.as_deref()).await? {
            Ok(ids) => ids,
            Err(RedriveRefused::Unknown(id)) => {
                return Err(Error::not_found(
                    "outbox_message",
                    id,
                    format!("outbox message {id} does not exist"),
                )
                .into());
            }
            Err(RedriveRefused::NotExhausted { id, status }) => {
                return Err(Error::refused(
                    Reason::NotRedrivable,
                    format!(
                        "outbox message {id} is {status}: only exhausted messages can be redriven"
                    ),
                )
                .into());
            }
        };
        tracing::info!(count = redriven.len(), "outbox messages redriven");
        Ok(Response::new(pb::RedriveOutboxResponse {
            ids: redriven.iter().map(i64::to_string).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "AdmitOrder"))]
    async fn admit_order(
        &self,
        request: Request<pb::AdmitOrderRequest>,
    ) -> Result<Response<pb::AdmitOrderResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let code = Confirmation::parse(&request.get_ref().confirmation)
            .at("confirmation")
            .map_err(Error::from)?;
        let window = match request.get_ref().override_admission_window {
            true => Window::Overridden,
            false => Window::Enforced,
        };
        let venue = Venue::parse_optional(&request.get_ref().venue)
            .at("venue")
            .map_err(Error::from)?;
        let admitted = store::admit(&self.pool, &code, venue.as_ref(), window).await?;
        // What the box office sees at its doors: people let in, managers' overrides,
        // and the codes turned away (copies and made-up ones can be fraud).
        let result = match &admitted {
            Ok(order) if order.admitted.is_some_and(|a| a.overridden) => "overridden",
            Ok(_) => "admitted",
            Err(AdmissionRefused::Unknown) => "unknown",
            Err(AdmissionRefused::Cancelled) => "cancelled",
            Err(AdmissionRefused::AlreadyAdmitted(_)) => "already_admitted",
            Err(AdmissionRefused::NotOpen(_)) => "not_open",
            Err(AdmissionRefused::Closed(_)) => "closed",
            Err(AdmissionRefused::WrongVenue(_)) => "wrong_venue",
        };
        metrics::counter!("cinema_admissions_total", "result" => result).increment(1);
        let order = admitted.map_err(|refused| admission_refused(&code, refused))?;
        tracing::info!(result, "order admitted");
        Ok(Response::new(pb::AdmitOrderResponse {
            order: Some(convert::order(&order)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreatePromotion"))]
    async fn create_promotion(
        &self,
        request: Request<pb::CreatePromotionRequest>,
    ) -> Result<Response<pb::CreatePromotionResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let req = request.get_ref();
        let new =
            NewPromotion::parse(&req.code, req.uses, &req.description).map_err(Error::from)?;
        let code = new.code.as_str();
        let Some(promotion) = store::create_promotion(&self.pool, &new).await? else {
            return Err(Error::Conflict {
                reason: Reason::AlreadyExists,
                message: format!("promotion code {code} exists already; it was left as it is"),
            }
            .into());
        };
        tracing::info!(code, uses = promotion.uses_remaining, "promotion created");
        Ok(Response::new(pb::CreatePromotionResponse {
            promotion: Some(promotion_code(promotion)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "EndPromotion"))]
    async fn end_promotion(
        &self,
        request: Request<pb::EndPromotionRequest>,
    ) -> Result<Response<pb::EndPromotionResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let code = PromoCode::parse(&request.get_ref().code)
            .at("code")
            .map_err(Error::from)?;
        let promotion = store::end_promotion(&self.pool, &code)
            .await?
            .ok_or_else(|| no_promotion(&code))?;
        let uses_remaining = promotion.uses_remaining;
        tracing::info!(code = code.as_str(), uses_remaining, "promotion ended");
        Ok(Response::new(pb::EndPromotionResponse {
            promotion: Some(promotion_code(promotion)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetPromotion"))]
    async fn get_promotion(
        &self,
        request: Request<pb::GetPromotionRequest>,
    ) -> Result<Response<pb::GetPromotionResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let code = PromoCode::parse(&request.get_ref().code)
            .at("code")
            .map_err(Error::from)?;
        let promotion = store::promotion(&self.pool, &code)
            .await?
            .ok_or_else(|| no_promotion(&code))?;
        Ok(Response::new(pb::GetPromotionResponse {
            promotion: Some(promotion_code(promotion)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetSales"))]
    async fn get_sales(
        &self,
        request: Request<pb::GetSalesRequest>,
    ) -> Result<Response<pb::GetSalesResponse>, Status> {
        self.admin.check(request.metadata()).map_err(Error::from)?;
        let ids = convert::product_ids(&request.get_ref().product_ids).map_err(Error::from)?;
        let found = store::sales(&self.pool, &ids).await?;
        convert::all_found(&ids, found.iter().map(|s| s.id))?;
        let products = ids
            .iter()
            .filter_map(|id| found.iter().find(|s| s.id == *id))
            .map(product_sales)
            .collect();
        Ok(Response::new(pb::GetSalesResponse { products }))
    }
}

fn product_sales(sales: &ProductSales) -> pb::ProductSales {
    pb::ProductSales {
        product_id: sales.id.to_string(),
        description: sales.description.clone(),
        quantity_total: sales.quantity_total,
        available: sales.available,
        held: sales.held,
        orders: sales.orders,
        sold: sales.sold,
        admitted_orders: sales.admitted_orders,
        admitted: sales.admitted,
        promotional: sales.promotional,
        takings_cents: sales.takings_cents,
        cancelled_orders: sales.cancelled_orders,
        cancelled: sales.cancelled,
        refunded_cents: sales.refunded_cents,
        withdrawn_at: sales.withdrawn_at.map(timestamp),
    }
}

fn no_promotion(code: &PromoCode) -> Error {
    let code = code.as_str();
    Error::not_found("promotion_code", code, format!("no promotion code {code}"))
}

fn promotion_code(promotion: Promotion) -> pb::PromotionCode {
    pb::PromotionCode {
        code: promotion.code,
        description: promotion.description,
        uses_remaining: promotion.uses_remaining,
        active: promotion.active,
    }
}

/// Why the door stays shut, in the error contract's terms.
fn admission_refused(code: &Confirmation, refused: AdmissionRefused) -> Error {
    let utc = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC");
    match refused {
        AdmissionRefused::Unknown => {
            Error::not_found("order", code, format!("no order with confirmation {code}"))
        }
        AdmissionRefused::Cancelled => Error::refused(
            Reason::OrderCancelled,
            format!("order {code} was cancelled"),
        ),
        AdmissionRefused::AlreadyAdmitted(at) => Error::refused(
            Reason::AlreadyAdmitted,
            format!("order {code} was already admitted at {}", utc(at)),
        ),
        AdmissionRefused::NotOpen(opens) => Error::refused(
            Reason::AdmissionNotOpen,
            format!(
                "order {code} cannot be used yet: its admission opens at {}",
                utc(opens)
            ),
        ),
        AdmissionRefused::Closed(closed) => Error::refused(
            Reason::AdmissionClosed,
            format!(
                "order {code} can no longer be used: its admission closed at {}",
                utc(closed)
            ),
        ),
        AdmissionRefused::WrongVenue(venue) => Error::refused(
            Reason::WrongVenue,
            format!(
                "order {code} is admitted at venue {}, not this one",
                cinema_service::text::quote(&venue)
            ),
        ),
    }
}
