//! Cross-site request forgery protection by double submit: every page with a form
//! sets a random token in a `SameSite=Strict` cookie and in a hidden field; a POST is
//! accepted only when the two match. Another site can make a browser send the cookie
//! (it cannot, with `Strict`, but older browsers might) but cannot read it to fill in
//! the field.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use subtle::ConstantTimeEq;

use crate::error::WebError;

const COOKIE: &str = "csrf";

/// The token for this browser, creating it (and its cookie) on first use.
pub fn token(jar: CookieJar, secure: bool) -> (CookieJar, String) {
    if let Some(existing) = jar.get(COOKIE).map(|c| c.value().to_owned())
        && existing.len() == 64
    {
        return (jar, existing);
    }
    let token: String = (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect();
    let cookie = Cookie::build((COOKIE, token.clone()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build();
    (jar.add(cookie), token)
}

/// Refuses a POST whose form token does not match the cookie.
pub fn verify(jar: &CookieJar, submitted: &str) -> Result<(), WebError> {
    let expected = jar
        .get(COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let same = !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()));
    if same {
        Ok(())
    } else {
        Err(WebError::forbidden())
    }
}
