//! The seats this browser is holding: a cookie naming the showtime and the hold of the
//! visitor's current checkout, so that the showtime page can lead back to it, and so
//! that holding again for the same showtime (a customer who went back to change the
//! number of tickets) gives the earlier seats back rather than keeping them from
//! everyone until they run out.
//!
//! The hold id is the checkout's own bearer token (it is in the checkout's address);
//! the cookie is as private as that address, and no more trusted: a hold it names is
//! asked of the orders service before anything is shown, and releasing one that is
//! already paid for changes nothing.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

const COOKIE: &str = "hold";

/// The hold this browser made for `showtime`, if its cookie names one.
pub fn recall(jar: &CookieJar, showtime: &str) -> Option<String> {
    let value = jar.get(COOKIE)?.value().to_owned();
    let (for_showtime, hold) = value.split_once('/')?;
    (for_showtime == showtime && !hold.is_empty()).then(|| hold.to_owned())
}

/// Remembers `hold` as this browser's checkout for `showtime`, for as long as a hold
/// can last.
pub fn remember(jar: CookieJar, showtime: &str, hold: &str, secure: bool) -> CookieJar {
    jar.add(
        Cookie::build((COOKIE, format!("{showtime}/{hold}")))
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Strict)
            .max_age(cookie::time::Duration::minutes(30))
            .build(),
    )
}

/// Forgets `hold` if it is the one remembered: it was paid for or given back.
pub fn forget(jar: CookieJar, hold: &str) -> CookieJar {
    let remembered = jar
        .get(COOKIE)
        .is_some_and(|c| c.value().split_once('/').is_some_and(|(_, h)| h == hold));
    if remembered {
        jar.remove(Cookie::build(COOKIE).path("/"))
    } else {
        jar
    }
}
