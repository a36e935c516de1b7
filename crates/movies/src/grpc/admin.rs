use std::sync::Arc;

use chrono::Utc;
use cinema_proto::movies::v1 as pb;
use cinema_proto::movies::v1::movies_admin_service_server::MoviesAdminService;
use cinema_service::idempotency;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::convert;
use crate::Error;
use crate::domain::{ShowtimeId, TheatreId, TimeZone};
use crate::scheduling::Scheduler;
use crate::store;
use cinema_service::error::AtField;

/// `MoviesAdminService`: catalogue writes. The admin credential is checked by an interceptor
/// in front of the whole service (see `startup`), so no handler can forget it.
#[derive(Debug, Clone)]
pub struct AdminApi {
    pool: PgPool,
    scheduler: Arc<Scheduler>,
}

impl AdminApi {
    pub fn new(pool: PgPool, scheduler: Arc<Scheduler>) -> Self {
        Self { pool, scheduler }
    }
}

impl AdminApi {
    async fn theatre_response(
        &self,
        id: TheatreId,
    ) -> Result<Response<pb::CreateTheatreResponse>, Status> {
        let theatre = store::theatres_by_ids(&self.pool, &[id], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::unexpected(format!("theatre {id} vanished")))?;
        Ok(Response::new(pb::CreateTheatreResponse {
            theatre: Some(convert::theatre(&theatre)),
        }))
    }
}

#[tonic::async_trait]
impl MoviesAdminService for AdminApi {
    #[tracing::instrument(skip_all, fields(rpc = "CreateMovie"))]
    async fn create_movie(
        &self,
        request: Request<pb::CreateMovieRequest>,
    ) -> Result<Response<pb::CreateMovieResponse>, Status> {
        let request_id =
            convert::optional_request_id(&request.get_ref().request_id).map_err(Error::from)?;
        let new = convert::new_movie(request.get_ref()).map_err(Error::from)?;
        let fingerprint = new.fingerprint();
        let replay = || async {
            let Some(id) = &request_id else {
                return Ok(None);
            };
            let on_record = store::find_movie_by_request_id(&self.pool, id).await?;
            idempotency::replay(id, on_record, &fingerprint)
        };
        if let Some(movie) = replay().await? {
            return Ok(Response::new(pb::CreateMovieResponse {
                movie: Some(convert::movie(&movie)),
            }));
        }
        let request = request_id.as_ref().map(|id| (id, &fingerprint));
        let movie = match store::insert_movie(&self.pool, &new, request).await? {
            Some(movie) => movie,
            // A racing duplicate of this request made it first.
            None => replay()
                .await?
                .ok_or_else(|| Error::unexpected("a racing movie vanished"))?,
        };
        tracing::info!(movie_id = %movie.id, "movie created");
        Ok(Response::new(pb::CreateMovieResponse {
            movie: Some(convert::movie(&movie)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "UpdateMovie"))]
    async fn update_movie(
        &self,
        request: Request<pb::UpdateMovieRequest>,
    ) -> Result<Response<pb::UpdateMovieResponse>, Status> {
        let (id, update) = convert::movie_update(request.get_ref()).map_err(Error::from)?;
        let details = store::update_movie(&self.pool, id, &update)
            .await?
            .ok_or_else(|| Error::not_found("movie", id, format!("movie {id} does not exist")))?;
        if update.changes() {
            tracing::info!(movie_id = %id, "movie updated");
        }
        Ok(Response::new(pb::UpdateMovieResponse {
            movie: Some(convert::movie(&details.movie)),
            synopsis: details.synopsis.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreateTheatre"))]
    async fn create_theatre(
        &self,
        request: Request<pb::CreateTheatreRequest>,
    ) -> Result<Response<pb::CreateTheatreResponse>, Status> {
        let request_id =
            convert::optional_request_id(&request.get_ref().request_id).map_err(Error::from)?;
        let new = convert::new_theatre(request.get_ref()).map_err(Error::from)?;
        let fingerprint = new.fingerprint();
        let replay = || async {
            let Some(id) = &request_id else {
                return Ok(None);
            };
            let on_record = store::find_theatre_by_request_id(&self.pool, id).await?;
            idempotency::replay(id, on_record, &fingerprint)
        };
        if let Some(id) = replay().await? {
            return self.theatre_response(id).await;
        }
        let zip_location = store::zip_coordinates(&self.pool, &new.address.zip)
            .await?
            .ok_or_else(|| {
                Error::not_found(
                    "zip_code",
                    new.address.zip.as_str(),
                    format!("ZIP code {} is not known", new.address.zip.as_str()),
                )
            })?;
        let coordinates = new.coordinates.unwrap_or(zip_location);
        let time_zone = new.time_zone.unwrap_or_else(|| {
            TimeZone::for_us_location(
                new.address.state.as_str(),
                coordinates.latitude,
                coordinates.longitude,
            )
        });
        let request = request_id.as_ref().map(|id| (id, &fingerprint));
        let id =
            match store::insert_theatre(&self.pool, &new, coordinates, time_zone, request).await? {
                Some(id) => id,
                // A racing duplicate of this request made it first.
                None => replay()
                    .await?
                    .ok_or_else(|| Error::unexpected("a racing theatre vanished"))?,
            };
        tracing::info!(theatre_id = %id, "theatre created");
        self.theatre_response(id).await
    }

    #[tracing::instrument(skip_all, fields(rpc = "CreateShowtime", request_id))]
    async fn create_showtime(
        &self,
        request: Request<pb::CreateShowtimeRequest>,
    ) -> Result<Response<pb::CreateShowtimeResponse>, Status> {
        // Every line logged while serving the call names its request id (quoted: it
        // is the caller's input).
        tracing::Span::current().record(
            "request_id",
            tracing::field::display(cinema_service::text::quote(&request.get_ref().request_id)),
        );
        let new = convert::new_showtime(request.get_ref(), Utc::now()).map_err(Error::from)?;
        let showtime = self.scheduler.create_showtime(&new).await?;
        Ok(Response::new(pb::CreateShowtimeResponse {
            showtime: Some(convert::showtime(&showtime)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "CancelShowtime"))]
    async fn cancel_showtime(
        &self,
        request: Request<pb::CancelShowtimeRequest>,
    ) -> Result<Response<pb::CancelShowtimeResponse>, Status> {
        let id = ShowtimeId::parse(&request.get_ref().showtime_id)
            .at("showtime_id")
            .map_err(Error::from)?;
        let cancelled = self.scheduler.cancel_showtime(id).await?;
        Ok(Response::new(pb::CancelShowtimeResponse {
            showtime: Some(convert::showtime(&cancelled.showtime)),
            cancelled_at: Some(cinema_service::domain::timestamp(cancelled.cancelled_at)),
            orders_cancelled: cancelled.orders_cancelled,
        }))
    }
}
