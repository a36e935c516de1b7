use chrono::Utc;
use cinema_proto::movies::v1 as pb;
use cinema_proto::movies::v1::movies_service_server::MoviesService;
use sqlx::PgPool;
use tonic::{Request, Response, Status};

use super::convert;
use crate::Error;
use crate::domain::{Cursor, MovieId, Radius, ShowtimeId, TheatreId, ZipCode};
use crate::store::{self, Near};

/// The public `MoviesService`: reads for front-ends.
#[derive(Debug, Clone)]
pub struct PublicApi {
    pool: PgPool,
}

impl PublicApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Looks the ZIP code's coordinates up: an unknown ZIP is NOT_FOUND, not an empty
    /// result, so a typo is not mistaken for "nothing showing near you".
    async fn near(&self, near: Option<(ZipCode, Radius)>) -> Result<Option<Near>, Error> {
        let Some((zip, radius)) = near else {
            return Ok(None);
        };
        let origin = store::zip_coordinates(&self.pool, &zip)
            .await?
            .ok_or_else(|| Error::not_found(format!("ZIP code {} is not known", zip.as_str())))?;
        Ok(Some(Near { origin, radius }))
    }
}

/// Distinct values in first-seen order.
fn distinct<T: PartialEq + Copy>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[tonic::async_trait]
impl MoviesService for PublicApi {
    #[tracing::instrument(skip_all, fields(rpc = "GetShowtimes"))]
    async fn get_showtimes(
        &self,
        request: Request<pb::GetShowtimesRequest>,
    ) -> Result<Response<pb::GetShowtimesResponse>, Status> {
        let filter = convert::showtime_filter(request.get_ref()).map_err(Error::from)?;
        let near = self.near(filter.near.clone()).await?;
        let mut showtimes = store::current_showtimes(&self.pool, &filter, near, Utc::now()).await?;

        let page_size = filter.page_size.get() as usize;
        let next_page_token = if showtimes.len() > page_size {
            showtimes.truncate(page_size);
            showtimes
                .last()
                .map(|last| {
                    Cursor {
                        start_time: last.start_time,
                        id: last.id,
                    }
                    .encode()
                })
                .unwrap_or_default()
        } else {
            String::new()
        };

        // Normalized: each movie and theatre once, however many showtimes refer to it.
        let movie_ids: Vec<MovieId> = distinct(showtimes.iter().map(|s| s.movie_id));
        let theatre_ids: Vec<TheatreId> = distinct(showtimes.iter().map(|s| s.theatre_id));
        let movies = store::movies_by_ids(&self.pool, &movie_ids).await?;
        let theatres =
            store::theatres_by_ids(&self.pool, &theatre_ids, near.map(|n| n.origin)).await?;

        Ok(Response::new(pb::GetShowtimesResponse {
            movies: movies.iter().map(convert::movie).collect(),
            theatres: theatres.iter().map(convert::theatre).collect(),
            showtimes: showtimes.iter().map(convert::showtime).collect(),
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
        let near = self.near(near).await?;
        let ids = store::current_movie_ids(&self.pool, near, Utc::now()).await?;
        let movies = store::movies_by_ids(&self.pool, &ids).await?;
        Ok(Response::new(pb::ListCurrentMoviesResponse {
            movies: movies.iter().map(convert::movie).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetMovie"))]
    async fn get_movie(
        &self,
        request: Request<pb::GetMovieRequest>,
    ) -> Result<Response<pb::GetMovieResponse>, Status> {
        let id = MovieId::parse(&request.get_ref().id).map_err(Error::from)?;
        let movie = store::get_movie(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("movie {id} does not exist")))?;
        Ok(Response::new(pb::GetMovieResponse {
            movie: Some(convert::movie(&movie)),
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetShowtime"))]
    async fn get_showtime(
        &self,
        request: Request<pb::GetShowtimeRequest>,
    ) -> Result<Response<pb::GetShowtimeResponse>, Status> {
        let id = ShowtimeId::parse(&request.get_ref().id).map_err(Error::from)?;
        let (showtime, sold_out) = store::get_showtime(&self.pool, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("showtime {id} does not exist")))?;
        let movie = store::get_movie(&self.pool, showtime.movie_id)
            .await?
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
            sold_out,
        }))
    }

    #[tracing::instrument(skip_all, fields(rpc = "GetTheatre"))]
    async fn get_theatre(
        &self,
        request: Request<pb::GetTheatreRequest>,
    ) -> Result<Response<pb::GetTheatreResponse>, Status> {
        let id = TheatreId::parse(&request.get_ref().id).map_err(Error::from)?;
        let theatre = store::theatres_by_ids(&self.pool, &[id], None)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("theatre {id} does not exist")))?;
        Ok(Response::new(pb::GetTheatreResponse {
            theatre: Some(convert::theatre(&theatre)),
        }))
    }
}
