use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tonic::Request;

use crate::error::Error;

/// Checks the admin credential on calls that change the catalogue of products and
/// providers. Sent as `authorization: Bearer <token>`.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    token: SecretString,
}

impl AdminAuth {
    pub fn new(token: SecretString) -> Self {
        Self { token }
    }

    pub fn check<T>(&self, request: &Request<T>) -> Result<(), Error> {
        let presented = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            // Constant-time comparison: response timing must not reveal the token.
            Some(token)
                if bool::from(
                    token
                        .as_bytes()
                        .ct_eq(self.token.expose_secret().as_bytes()),
                ) =>
            {
                Ok(())
            }
            Some(_) => Err(Error::Unauthenticated(
                "the admin credential is not valid".into(),
            )),
            None => Err(Error::Unauthenticated(
                "this call needs the admin credential: send `authorization: Bearer <token>`".into(),
            )),
        }
    }
}
