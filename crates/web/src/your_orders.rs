//! The orders this browser has shown: a cookie of their confirmation codes, most recent
//! first, so that the home page can lead back to tickets whose page was closed (there
//! are no accounts, and the text with the code is optional).
//!
//! A confirmation code is its order page's bearer token, already in this browser's
//! history; the cookie is as private as that (HttpOnly, `Secure` over HTTPS), and no
//! more trusted: each code is asked of the orders service before anything is shown.

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};

const COOKIE: &str = "orders";

/// At most this many codes are kept: a household's tickets for the coming weeks.
pub const KEPT: usize = 5;

/// How long a code is kept after its order was last shown: past any showtime on sale.
const DAYS: i64 = 60;

/// The codes this browser has kept, most recent first; what cannot be a code is left
/// out.
pub fn recall(jar: &CookieJar) -> Vec<String> {
    let Some(cookie) = jar.get(COOKIE) else {
        return Vec::new();
    };
    cookie
        .value()
        .split('.')
        .filter(|code| {
            (8..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
        })
        .take(KEPT)
        .map(str::to_owned)
        .collect()
}

/// Keeps `code` first, then the others kept before it.
pub fn remember(jar: CookieJar, code: &str, secure: bool) -> CookieJar {
    let mut codes = recall(&jar);
    codes.retain(|kept| kept != code);
    codes.insert(0, code.to_owned());
    keep(jar, &codes, secure)
}

/// Keeps exactly `codes` (none: the cookie goes).
pub fn keep(jar: CookieJar, codes: &[String], secure: bool) -> CookieJar {
    if codes.is_empty() {
        return jar.remove(Cookie::build(COOKIE).path("/"));
    }
    let value = codes
        .iter()
        .take(KEPT)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(".");
    jar.add(
        Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .secure(secure)
            // Lax: a moviegoer arriving from another site's link still sees them.
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::days(DAYS))
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar_with(value: &str) -> CookieJar {
        CookieJar::new().add(Cookie::new(COOKIE, value.to_owned()))
    }

    #[test]
    fn the_latest_comes_first_once_and_only_a_few_are_kept() {
        let mut jar = CookieJar::new();
        for code in ["AAAAAAAA1", "BBBBBBBB2", "AAAAAAAA1"] {
            jar = remember(jar, code, false);
        }
        assert_eq!(recall(&jar), ["AAAAAAAA1", "BBBBBBBB2"]);
        for n in 0..10 {
            jar = remember(jar, &format!("CODE{n:05}"), false);
        }
        let kept = recall(&jar);
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept[0], "CODE00009");
    }

    #[test]
    fn what_cannot_be_a_code_is_left_out() {
        let jar = jar_with("AAAAAAAA1.short.<script>x</script>..BBBBBBBB2");
        assert_eq!(recall(&jar), ["AAAAAAAA1", "BBBBBBBB2"]);
    }

    #[test]
    fn keeping_none_removes_the_cookie() {
        let jar = keep(jar_with("AAAAAAAA1"), &[], false);
        assert!(recall(&jar).is_empty());
    }
}
