//! Promotion codes, as operators create and end them (orders redeem them in
//! `orders.rs`, inside the checkout's transaction).

use sqlx::PgPool;

use crate::domain::{NewPromotion, PromoCode, Promotion};
use crate::error::Error;

/// Creates `promotion`; `None` when its code exists already (which is left as it is).
pub async fn create_promotion(
    pool: &PgPool,
    promotion: &NewPromotion,
) -> Result<Option<Promotion>, Error> {
    Ok(sqlx::query_as!(
        Promotion,
        r#"INSERT INTO promotions (code, description, uses_remaining)
           VALUES ($1, $2, $3)
           ON CONFLICT (code) DO NOTHING
           RETURNING code, description, uses_remaining::int8 AS "uses_remaining!", active"#,
        promotion.code.as_str(),
        promotion.description,
        promotion.uses.get(),
    )
    .fetch_optional(pool)
    .await?)
}

/// Ends the promotion `code`: it pays for no more orders. `None` when there is none.
pub async fn end_promotion(pool: &PgPool, code: &PromoCode) -> Result<Option<Promotion>, Error> {
    Ok(sqlx::query_as!(
        Promotion,
        r#"UPDATE promotions SET active = false WHERE code = $1
           RETURNING code, description, uses_remaining::int8 AS "uses_remaining!", active"#,
        code.as_str(),
    )
    .fetch_optional(pool)
    .await?)
}

/// The promotion `code`, as it is now; `None` when there is none.
pub async fn promotion(pool: &PgPool, code: &PromoCode) -> Result<Option<Promotion>, Error> {
    Ok(sqlx::query_as!(
        Promotion,
        r#"SELECT code, description, uses_remaining::int8 AS "uses_remaining!", active
           FROM promotions WHERE code = $1"#,
        code.as_str(),
    )
    .fetch_optional(pool)
    .await?)
}
