//! Idempotency on a client-chosen request id, one way in every service. What a request
//! asked for is kept with its id as a [`Fingerprint`]; a retry (same id, same
//! fingerprint) gets the recorded outcome back instead of doing the work again, and a
//! different request under the same id is refused with `REQUEST_ID_REUSED` and changes
//! nothing ([`replay`]).

use sha2::{Digest, Sha256};

use crate::domain::RequestId;
use crate::error::Error;

/// A SHA-256 digest of what a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Starts a fingerprint; feed it the request's fields in a fixed order.
    pub fn builder() -> FingerprintBuilder {
        FingerprintBuilder(Sha256::new())
    }
    pub fn from_db(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Feeds fields into a [`Fingerprint`]. Text is length-prefixed and numbers have a fixed
/// width, so no two different field lists digest alike by running together.
#[derive(Debug, Clone)]
pub struct FingerprintBuilder(Sha256);

impl FingerprintBuilder {
    pub fn text(mut self, field: &str) -> Self {
        self.0.update((field.len() as u64).to_be_bytes());
        self.0.update(field.as_bytes());
        self
    }
    pub fn number(mut self, field: i64) -> Self {
        self.0.update(field.to_be_bytes());
        self
    }
    pub fn finish(self) -> Fingerprint {
        Fingerprint(self.0.finalize().into())
    }
}

/// Decides a request against what is on record for its id: `Ok(None)` when the id is
/// new (do the work), the recorded outcome when this is a retry of the same request,
/// and `REQUEST_ID_REUSED` when the id was used for a different request.
pub fn replay<T>(
    request_id: &RequestId,
    on_record: Option<(T, Fingerprint)>,
    fingerprint: &Fingerprint,
) -> Result<Option<T>, Error> {
    match on_record {
        None => Ok(None),
        Some((outcome, recorded)) if recorded == *fingerprint => Ok(Some(outcome)),
        Some(_) => Err(Error::request_id_reused(request_id.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Reason;

    fn id() -> RequestId {
        RequestId::parse("9b7f3c1e-retry").expect("valid")
    }

    #[test]
    fn fields_do_not_run_together() {
        let ab_c = Fingerprint::builder().text("ab").text("c").finish();
        let a_bc = Fingerprint::builder().text("a").text("bc").finish();
        assert_ne!(ab_c, a_bc);
        assert_eq!(ab_c, Fingerprint::builder().text("ab").text("c").finish());
        assert_ne!(
            Fingerprint::builder().number(1).number(23).finish(),
            Fingerprint::builder().number(12).number(3).finish()
        );
    }

    #[test]
    fn a_retry_gets_the_outcome_and_another_request_is_refused() {
        let asked = Fingerprint::builder().text("2 seats").finish();
        let other = Fingerprint::builder().text("3 seats").finish();
        assert_eq!(replay::<u8>(&id(), None, &asked).expect("new"), None);
        assert_eq!(
            replay(&id(), Some((7, asked)), &asked).expect("retry"),
            Some(7)
        );
        let refused = replay(&id(), Some((7, asked)), &other).expect_err("reused");
        assert!(matches!(
            refused,
            Error::Conflict {
                reason: Reason::RequestIdReused,
                ..
            }
        ));
    }

    #[test]
    fn fingerprints_read_back_from_the_database() {
        let f = Fingerprint::builder().text("x").finish();
        assert_eq!(Fingerprint::from_db(f.as_bytes()), Some(f));
        assert_eq!(Fingerprint::from_db(&[0; 31]), None);
    }
}
