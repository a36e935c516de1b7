use chrono::Utc;
use cinema_proto::movies::v1 as pb;
use cinema_proto::movies::v1::movies_service_server::MoviesService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::convert;
use crate::Error;
use crate::domain::{
    Cursor, DayCount, MovieId, PageSize, Radius, ShowtimeId, TheatreCursor, TheatreId, ZipCode,
    calendar_date,
};
use crate::store;
use cinema_service::error::AtField;

/// The public `MoviesService`: reads for front-ends.
#[derive(Debug, Clone)]
pub struct PublicApi {
    pool: PgPool,
}

impl PublicApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// One theatre, or NOT_FOUND naming it.
    async fn theatre(&self, id: TheatreId) -> Result<crate::domain::Theatre, Error> {
        store::theatres_by_ids(&self.pool, &[id], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found("theatre", id, format!("theatre {id} does not exist")))
    }
}

/// An unknown ZIP is NOT_FOUND, not an empty result, so a typo is not mistaken for
/// "nothing showing near you".
fn unknown_zip(zip: Option<&ZipCode>) -> Error {
    let zip = zip.map(ZipCode::as_str).unwrap_or_default();
    Error::not_found("zip_code", zip, format!("ZIP code {zip} is not known"))
}

#[tonic::async_trait]
impl MoviesService for PublicApi {
    #[tracing::instrument(skip_all, fields(rpc = "GetShowtimes"))]
    async fn get_showtimes(
        &self,
        request: Request<pb::GetShowtimesRequest>,
    ) -> Result<Response<pb::GetShowtimesResponse>, Status> {
        let filter = convert::showtime_filter(request.get_ref()).map_err(Error::from)?;
        let page = store::search_showtimes(&self.pool, &filter, Utc::now())
            .await?
            .ok_or_else(|| unknown_zip(filter.near.as_ref().map(|(zip, _)| zip)))?;
        let next_page_token = match page.showtimes.last() {
            Some(last) if page.more => Cursor {
                start_time: last.start_time,
                id: last.id,
            }
            .encode(),
            _ => String::new(),
        };
        // Normalized: each movie and theatre once, however many showtimes refer to it.
        Ok(Response::new(pb::GetShowtimesResponse {
            movies: page.movies.iter().map(convert::movie).collect(),
            theatres: page.theatres.iter().map(convert::theatre).collect(),
            showtimes: page.showtimes.iter().map(convert::showtime).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListCurrentMovies"))]
    async fn list_current_movies(
        &self,
        request: Request<pb::ListCurrentMoviesRequest>,
    ) -> Result<Response<pb::ListCurrentMoviesResponse>, Status> {
        let req = request.get_ref();
        let near = convert::near(req.zip_code.as_deref(), req.radius_miles).map_err(Error::from)?;
        let mut playing = store::playing_movies(&self.pool, near.as_ref(), Utc::now())
            .await?
            .ok_or_else(|| unknown_zip(near.as_ref().map(|(zip, _)| zip)))?;
        if !req.include_sold_out {
            playing.retain(|p| p.on_sale);
        }
        Ok(Response::new(pb::ListCurrentMoviesResponse {
            movies: playing.iter().map(|p| convert::movie(&p.movie)).collect(),
            sold_out_movie_ids: playing
                .iter()
                .filter(|p| !p.on_sale)
                .map(|p| p.movie.id.to_string())
                .collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetMovie"))]
    async fn get_movie(
        &self,
        request: Request<pb::GetMovieRequest>,
    ) -> Result<Response<pb::GetMovieResponse>, Status> {
        let id = MovieId::parse(&request.get_ref().id)
            .at("id")
            .map_err(Error::from)?;
        let details = store::get_movie(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found("movie", id, format!("movie {id} does not exist")))?;
        Ok(Response::new(pb::GetMovieResponse {
            movie: Some(convert::movie(&details.movie)),
            synopsis: details.synopsis.unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetShowtime"))]
    async fn get_showtime(
        &self,
        request: Request<pb::GetShowtimeRequest>,
    ) -> Result<Response<pb::GetShowtimeResponse>, Status> {
        let id = ShowtimeId::parse(&request.get_ref().id)
            .at("id")
            .map_err(Error::from)?;
        let stored = store::get_showtime(&self.pool, id).await?.ok_or_else(|| {
            Error::not_found("showtime", id, format!("showtime {id} does not exist"))
        })?;
        let showtime = stored.showtime;
        // The movie as listings name it: a showtime's page shows no synopsis.
        let movie = store::movies_by_ids(&self.pool, &[showtime.movie_id])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::unexpected(format!("showtime {id} has no movie")))?;
        let theatre = store::theatres_by_ids(&self.pool, &[showtime.theatre_id], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::unexpected(format!("showtime {id} has no theatre")))?;
        Ok(Response::new(pb::GetShowtimeResponse {
            showtime: Some(convert::showtime(&showtime)),
            movie: Some(convert::movie(&movie)),
            theatre: Some(convert::theatre(&theatre)),
            sold_out: stored.sold_out,
            cancelled_at: stored.cancelled_at.map(cinema_service::domain::timestamp),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetTheatre"))]
    async fn get_theatre(
        &self,
        request: Request<pb::GetTheatreRequest>,
    ) -> Result<Response<pb::GetTheatreResponse>, Status> {
        let id = TheatreId::parse(&request.get_ref().id)
            .at("id")
            .map_err(Error::from)?;
        let theatre = self.theatre(id).await?;
        Ok(Response::new(pb::GetTheatreResponse {
            theatre: Some(convert::theatre(&theatre)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListTheatresNear"))]
    async fn list_theatres_near(
        &self,
        request: Request<pb::ListTheatresNearRequest>,
    ) -> Result<Response<pb::ListTheatresNearResponse>, Status> {
        let req = request.get_ref();
        let zip = ZipCode::parse(&req.zip_code)
            .at("zip_code")
            .map_err(Error::from)?;
        let radius = Radius::parse(req.radius_miles)
            .at("radius_miles")
            .map_err(Error::from)?;
        let theatres = store::theatres_near(&self.pool, &zip, radius)
            .await?
            .ok_or_else(|| unknown_zip(Some(&zip)))?;
        Ok(Response::new(pb::ListTheatresNearResponse {
            theatres: theatres.iter().map(convert::theatre).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "ListTheatres"))]
    async fn list_theatres(
        &self,
        request: Request<pb::ListTheatresRequest>,
    ) -> Result<Response<pb::ListTheatresResponse>, Status> {
        let req = request.get_ref();
        let size = PageSize::parse(req.page_size)
            .at("page_size")
            .map_err(Error::from)?;
        let after = TheatreCursor::parse(&req.page_token)
            .at("page_token")
            .map_err(Error::from)?;
        // One more than the page, to know whether another follows.
        let mut theatres =
            store::theatres_page(&self.pool, after.map(|c| c.0), size.get() + 1).await?;
        let more = theatres.len() > size.get() as usize;
        theatres.truncate(size.get() as usize);
        let next_page_token = match theatres.last() {
            Some(last) if more => TheatreCursor(last.id).encode(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListTheatresResponse {
            theatres: theatres.iter().map(convert::theatre).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetTheatreSchedule"))]
    async fn get_theatre_schedule(
        &self,
        request: Request<pb::GetTheatreScheduleRequest>,
    ) -> Result<Response<pb::GetTheatreScheduleResponse>, Status> {
        let req = request.get_ref();
        let id = TheatreId::parse(&req.theatre_id)
            .at("theatre_id")
            .map_err(Error::from)?;
        let date = match req.date.as_str() {
            "" => None,
            raw => Some(calendar_date(raw).at("date").map_err(Error::from)?),
        };
        let days = DayCount::parse(req.days).at("days").map_err(Error::from)?;
        let theatre = self.theatre(id).await?;
        let date = date.unwrap_or_else(|| theatre.time_zone.today(Utc::now()));
        let span = theatre.time_zone.days(date, days);
        let showtimes = store::theatre_schedule(&self.pool, id, span, req.sold_out_only).await?;
        let mut movie_ids: Vec<MovieId> = showtimes.iter().map(|s| s.showtime.movie_id).collect();
        movie_ids.sort_unstable();
        movie_ids.dedup();
        let movies = store::movies_by_ids(&self.pool, &movie_ids).await?;
        Ok(Response::new(pb::GetTheatreScheduleResponse {
            theatre: Some(convert::theatre(&theatre)),
            movies: movies.iter().map(convert::movie).collect(),
            showtimes: showtimes
                .iter()
                .map(|s| pb::ScheduledShowtime {
                    showtime: Some(convert::showtime(&s.showtime)),
                    sold_out: s.sold_out,
                    cancelled_at: s.cancelled_at.map(cinema_service::domain::timestamp),
                })
                .collect(),
            date: date.to_string(),
        }))
    }
}
