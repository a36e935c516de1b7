//! What a page shows when something goes wrong, with the status a browser (and a test)
//! can act on. Service errors arrive as `ClientError` and are translated once, here.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use cinema_client::ClientError;

#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    /// A confirmation code no order has: the page offers the lookup form again, with
    /// the code in it to correct.
    pub lookup: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    lookup: Option<&'a str>,
}

impl WebError {
    pub fn not_found(what: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: format!("We could not find that {what}."),
            lookup: None,
        }
    }

    /// No order has this confirmation code (most often, one typed wrong).
    pub fn no_such_order(code: &str) -> Self {
        let code = crate::views::as_typed(code, 16);
        Self {
            status: StatusCode::NOT_FOUND,
            title: "Order not found",
            message: format!(
                "We could not find an order with the confirmation code {code}. Check the \
                 code and try again."
            ),
            lookup: Some(code),
        }
    }

    pub fn forbidden() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            title: "Please try again",
            message: "This form has expired or did not come from this site. Go back, \
                      reload the page and submit it again."
                .into(),
            lookup: None,
        }
    }
}

impl From<ClientError> for WebError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::NotFound(_) => Self::not_found("page"),
            ClientError::InvalidInput(failure) => Self {
                status: StatusCode::BAD_REQUEST,
                title: "That did not look right",
                message: failure.message,
                lookup: None,
            },
            ClientError::Unavailable(_) => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                title: "The box office is busy",
                message: "We cannot reach the box office right now. Please try again in a \
                          moment."
                    .into(),
                lookup: None,
            },
            other => {
                tracing::error!(error = %other, "a service call failed");
                Self {
                    status: StatusCode::BAD_GATEWAY,
                    title: "Something went wrong",
                    message: "Something went wrong on our side. Please try again.".into(),
                    lookup: None,
                }
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            title: self.title,
            message: &self.message,
            lookup: self.lookup.as_deref(),
        };
        match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, self.message).into_response(),
        }
    }
}
