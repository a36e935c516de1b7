//! The style sheet, script and icon, compiled in, each linked with a version: a
//! fingerprint of its content. A browser keeps a versioned asset for a year, and a
//! deploy that changes one is seen on the next page, not whenever a cache expires:
//! pages (never cached) always link the version they were written for.

use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Debug)]
pub struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    version: u64,
}

pub const STYLE: Asset = Asset::new(
    "/static/style.css",
    "text/css; charset=utf-8",
    include_str!("../static/style.css"),
);
pub const SCRIPT: Asset = Asset::new(
    "/static/checkout.js",
    "text/javascript; charset=utf-8",
    include_str!("../static/checkout.js"),
);
pub const ICON: Asset = Asset::new(
    "/static/icon.svg",
    "image/svg+xml",
    include_str!("../static/icon.svg"),
);

#[derive(Debug, Deserialize)]
pub struct Version {
    v: Option<String>,
}

impl Asset {
    const fn new(path: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Self {
            path,
            content_type,
            body,
            version: fingerprint(body.as_bytes()),
        }
    }

    pub const fn path(&self) -> &'static str {
        self.path
    }

    /// Where pages link it: `/static/style.css?v=<fingerprint>`.
    pub fn href(&self) -> String {
        format!("{}?v={:016x}", self.path, self.version)
    }

    /// The asset. Asked for at this version, it may be kept for good; asked for
    /// without one, or at another (a page from a newer replica, mid-deploy, reaching
    /// an older one), it must be asked for again next time.
    pub fn serve(&self, Query(asked): Query<Version>) -> Response {
        let current = asked.v.as_deref() == Some(&format!("{:016x}", self.version));
        let cache = if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            ],
            self.body,
        )
            .into_response()
    }
}

/// FNV-1a, at compile time: a content fingerprint, not a security measure.
const fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_content_is_a_new_version() {
        assert_ne!(
            fingerprint(b"a { color: red }"),
            fingerprint(b"a { color: blue }")
        );
        assert_eq!(fingerprint(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(
            fingerprint(b"a"),
            0xaf63_dc4c_8601_ec8c,
            "FNV-1a's published value"
        );
        assert!(STYLE.href().starts_with("/static/style.css?v="));
        assert_ne!(STYLE.href(), SCRIPT.href());
    }
}
