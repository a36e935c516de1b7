//! The admin tokens the box office's and operators' commands carry: one per service,
//! each from its flag or the environment, never printed.

use anyhow::Context;
use cinema_client::{Cinema, ClientConfig};
use secrecy::SecretString;

use crate::ClientArgs;

/// A token from a flag or the environment: never empty, never printed.
pub(crate) fn secret(raw: &str) -> Result<SecretString, String> {
    match raw.trim() {
        "" => Err("must not be empty".into()),
        _ => Ok(SecretString::from(raw.to_owned())),
    }
}

/// Whose admin API a command calls, and so which token it needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Admin {
    /// `cinema admit`, `outbox`, `promotion`.
    Orders,
    /// `cinema catalogue`.
    Movies,
}

/// A client carrying `admin`'s token, which `what` ("adding a movie") needs.
pub(crate) fn connect_as(
    admin: Admin,
    client: &ClientArgs,
    token: Option<SecretString>,
    what: &str,
) -> anyhow::Result<Cinema> {
    let (service, var, flag) = match admin {
        Admin::Orders => ("orders", "ORDERS_ADMIN_TOKEN", "--orders-admin-token"),
        Admin::Movies => ("movies", "MOVIES_ADMIN_TOKEN", "--movies-admin-token"),
    };
    let token = token
        .with_context(|| format!("{what} needs the {service} admin token: set {var} or {flag}"))?;
    let mut config = ClientConfig::new(client.movies.clone(), client.orders.clone());
    match admin {
        Admin::Orders => config.orders_admin_token = Some(token),
        Admin::Movies => config.movies_admin_token = Some(token),
    }
    Ok(Cinema::connect(config)?)
}
