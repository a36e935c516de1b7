//! The checkout: the held seats with a countdown, the payment form, and the way to give
//! the seats back.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use cinema_client::orders_pb as orders;
use cinema_client::{ClientError, Failure, NewOrder, Reason};
use serde::Deserialize;

use super::{AppState, CsrfForm, once_per_form, subject};
use crate::error::WebError;
use crate::limit::{Client, TooSoon};
use crate::views;
use crate::{csrf, current_hold};

/// What the customer typed, kept when the form comes back with an error. The card
/// number and its security code are never echoed into a page, nor printed by `Debug`.
#[derive(Default, Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    csrf: String,
    /// This rendering of the form's idempotency key: a second click on "Pay" sends
    /// the same one and gets the first click's order, never a second charge. Every
    /// rendering makes a new one, so another card after a decline is a new request.
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_month: String,
    #[serde(default)]
    card_year: String,
    #[serde(default)]
    card_cvc: String,
    #[serde(default)]
    line_1: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    zip: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    promo: String,
    #[serde(default)]
    phone: String,
}

impl std::fmt::Debug for CheckoutForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutForm")
            .field("method", &self.method)
            .field("card_number", &"[redacted]")
            .field("card_cvc", &"[redacted]")
            .field("state", &self.state)
            .field("zip", &self.zip)
            .finish_non_exhaustive()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    hold_id: String,
    /// Where to hold seats again once these are released.
    showtime_id: String,
    movie: String,
    theatre: String,
    /// Where in the theatre: what the customer checks before paying, as on the order.
    room: String,
    address: String,
    when: String,
    /// `3 tickets at $15.00`
    tickets: String,
    total: String,
    /// When the seats are released, on the theatre's clock and as an instant.
    expires_label: String,
    expires_at: String,
    active: bool,
    /// The theatre called the showing off: the hold was given back for it.
    called_off: bool,
    form: CheckoutForm,
    request_id: String,
    csrf: String,
    error: Option<Problem>,
}

impl CheckoutPage {
    /// Whether the input `id` is the one the error is about: it is marked invalid and
    /// described by the error.
    fn invalid(&self, id: &str) -> bool {
        self.error.as_ref().and_then(|problem| problem.input) == Some(id)
    }
}

/// Why a payment was not made, in the moviegoer's words, and the input to correct
/// (its `id` in the form), if it is about one.
struct Problem {
    sentence: String,
    input: Option<&'static str>,
}

impl Problem {
    fn at(input: &'static str, sentence: impl Into<String>) -> Self {
        Self {
            sentence: sentence.into(),
            input: Some(input),
        }
    }

    /// A field the orders service refused, said as the form says it. The service's
    /// message names the request's fields (`billing address line_1 is required`,
    /// `card brand is required`), which the moviegoer never saw; the violation's path
    /// says which input it came from.
    fn refused(failure: &Failure, form: &CheckoutForm) -> Self {
        let field = failure.violations.first().map_or("", |v| v.field.as_str());
        match field {
            "payment.credit_card.brand" => Self::at(
                "card_number",
                "We take Visa, Mastercard and American Express: check the card number, \
                 or pay another way.",
            ),
            "payment.credit_card.number" => {
                Self::at("card_number", "Check the card number for a typo.")
            }
            "payment.credit_card.expiration_month" => Self::at(
                "card_month",
                format!("Check the card's expiry date: {}.", failure.message),
            ),
            "payment.credit_card.security_code" => Self::at("card_cvc", SECURITY_CODE),
            "payment.credit_card.billing_address.line_1" => {
                Self::at("line_1", "Enter the billing street address.")
            }
            "payment.credit_card.billing_address.city" => {
                Self::at("city", "Enter the billing address's city.")
            }
            "payment.credit_card.billing_address.state" => Self::at(
                "state",
                "Enter the billing address's state as two letters, like MA.",
            ),
            "payment.credit_card.billing_address.zip_code" => {
                let typed = form.zip.trim();
                Self::at(
                    "billing_zip",
                    if typed.len() == 5 && typed.bytes().all(|b| b.is_ascii_digit()) {
                        format!("Check the billing ZIP code: {typed} is not a US ZIP code.")
                    } else {
                        "Enter the billing ZIP code: five digits, like 02139.".to_owned()
                    },
                )
            }
            "payment.paypal.email" => {
                Self::at("email", "Enter the email address of your PayPal account.")
            }
            "payment.promotion.code" => Self::at(
                "promo",
                "Check the promotion code: 3 to 32 letters, digits or dashes.",
            ),
            "customer.phone" => Self::at("phone", PHONE),
            _ => format!("Please check your details: {failure}.").into(),
        }
    }
}

impl From<String> for Problem {
    fn from(sentence: String) -> Self {
        Self {
            sentence,
            input: None,
        }
    }
}

const SECURITY_CODE: &str = "Enter the card's security code: the 3 digits on its back (4 on \
                             the front of an American Express).";
const PHONE: &str = "Enter a phone number like (415) 555-0132, or leave it empty.";

/// A checkout page, or its order once the hold is paid for (the customer came back,
/// or clicked "Pay" twice).
enum Checkout {
    Page(Box<CheckoutPage>),
    Paid(Redirect),
}

impl IntoResponse for Checkout {
    fn into_response(self) -> Response {
        match self {
            Self::Page(page) => page.into_response(),
            Self::Paid(to_order) => to_order.into_response(),
        }
    }
}

async fn checkout_page(
    state: &AppState,
    hold_id: &str,
    form: CheckoutForm,
    csrf: String,
    error: Option<Problem>,
) -> Result<Checkout, WebError> {
    let hold = subject(state.cinema.orders().get_hold(hold_id).await, "checkout")?;
    if hold.status() == orders::HoldStatus::Confirmed && !hold.confirmation.is_empty() {
        let to_order = Redirect::to(&format!("/orders/{}", hold.confirmation));
        return Ok(Checkout::Paid(to_order));
    }
    let line = hold.line_items.first().cloned().unwrap_or_default();
    let details = state
        .cinema
        .movies()
        .get_showtime(&line.external_ref)
        .await?;
    let theatre = details.theatre.unwrap_or_default();
    let showtime = details.showtime.unwrap_or_default();
    let expires = views::instant(hold.expires_at.as_ref());
    let now = chrono::Utc::now();
    let called_off = details.cancelled_at.is_some();
    // The page says why these seats are gone: not that time ran out.
    let error = error.filter(|_| !called_off);
    Ok(Checkout::Page(Box::new(CheckoutPage {
        hold_id: hold.hold_id.clone(),
        showtime_id: line.external_ref.clone(),
        movie: details.movie.map(|m| m.name).unwrap_or_default(),
        theatre: theatre.name.clone(),
        room: showtime.auditorium.clone(),
        address: cinema_client::facade::address(&theatre),
        when: views::when(&theatre, views::instant(showtime.start_time.as_ref()), now),
        tickets: views::tickets(line.quantity, line.unit_price_cents),
        total: views::dollars(hold.price_cents),
        // On the theatre's clock, like the showtime, and saying so: the customer
        // may not be in the theatre's time zone.
        expires_label: views::clock(&cinema_client::facade::local_time(&theatre, expires)),
        expires_at: expires.to_rfc3339(),
        active: hold.status() == orders::HoldStatus::Active && expires > now && !called_off,
        called_off,
        form,
        request_id: uuid::Uuid::new_v4().to_string(),
        csrf,
        error,
    })))
}

/// `/checkout/{hold}`: the held seats, a countdown, and the payment form.
pub async fn checkout(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let form = CheckoutForm {
        method: "card".into(),
        ..Default::default()
    };
    let page = checkout_page(&state, &hold_id, form, token, None).await?;
    Ok((jar, page).into_response())
}

/// POST `/checkout/{hold}/release`: the customer changed their mind; the seats go back
/// on sale now rather than when the hold runs out, and the showtime page shows them.
/// A hold paid for meanwhile stays paid for, and leads to its order.
pub async fn release(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let hold = subject(
        state.cinema.orders().release_hold(&hold_id).await,
        "checkout",
    )?;
    let jar = current_hold::forget(jar, &hold_id);
    let to = if hold.confirmation.is_empty() {
        let showtime = hold.line_items.first().map(|l| l.external_ref.as_str());
        format!("/showtimes/{}", showtime.unwrap_or_default())
    } else {
        format!("/orders/{}", hold.confirmation)
    };
    Ok((jar, Redirect::to(&to)).into_response())
}

/// The card's brand from its number's prefix (what a payment form infers as you type).
fn card_brand(digits: &str) -> orders::CardBrand {
    let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
    match (prefix(1), prefix(2), prefix(4)) {
        (Some(4), _, _) => orders::CardBrand::Visa,
        (_, Some(34 | 37), _) => orders::CardBrand::AmericanExpress,
        (_, Some(51..=55), _) | (_, _, Some(2221..=2720)) => orders::CardBrand::Mastercard,
        _ => orders::CardBrand::Unspecified,
    }
}

fn payment(form: &CheckoutForm) -> Result<orders::Payment, Problem> {
    let method = match form.method.as_str() {
        "card" => {
            let digits: String = form
                .card_number
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            // Without digits there is no brand either, and the orders service would
            // ask for that first.
            if form.card_number.trim().is_empty() {
                return Err(Problem::at("card_number", "Enter the card number."));
            }
            let month = form.card_month.trim().parse().map_err(|_| {
                Problem::at("card_month", "Enter the card's expiry month (1 to 12).")
            })?;
            let year: u32 = form.card_year.trim().parse().map_err(|_| {
                Problem::at("card_year", "Enter the card's expiry year, like 2030.")
            })?;
            // The orders service checks its form (and takes none from older clients);
            // a person paying here always has the card in hand.
            if form.card_cvc.trim().is_empty() {
                return Err(Problem::at("card_cvc", SECURITY_CODE));
            }
            orders::payment::Method::CreditCard(orders::CreditCard {
                brand: card_brand(&digits).into(),
                number: form.card_number.trim().to_owned(),
                expiration_month: month,
                expiration_year: if year < 100 { 2000 + year } else { year },
                billing_address: Some(orders::Address {
                    line_1: form.line_1.clone(),
                    line_2: String::new(),
                    city: form.city.clone(),
                    state: form.state.clone(),
                    zip_code: form.zip.trim().to_owned(),
                }),
                security_code: form.card_cvc.trim().to_owned(),
            })
        }
        "paypal" => orders::payment::Method::Paypal(orders::PayPal {
            email: form.email.trim().to_owned(),
        }),
        "promotion" => orders::payment::Method::Promotion(orders::Promotion {
            code: form.promo.trim().to_owned(),
        }),
        _ => return Err("Choose how to pay.".to_owned().into()),
    };
    Ok(orders::Payment {
        method: Some(method),
    })
}

/// A phone number as people type it, in the E.164 form the services require; US
/// numbers may omit the country code.
fn e164(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    let allowed = raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    if !allowed || digits.is_empty() {
        return None;
    }
    Some(match (raw.trim_start().starts_with('+'), digits.len()) {
        (true, _) => format!("+{digits}"),
        (false, 10) => format!("+1{digits}"),
        (false, 11) if digits.starts_with('1') => format!("+{digits}"),
        (false, _) => format!("+{digits}"),
    })
}

/// POST `/checkout/{hold}`: pays; on success, the confirmation page. A hold paid for
/// meanwhile (by another click) sends the browser to its order instead of an error.
pub async fn pay(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(hold_id): Path<String>,
    client: Client,
    Form(form): Form<CheckoutForm>,
) -> Result<Response, WebError> {
    csrf::verify(&jar, &form.csrf)?;
    let attempt = state.limiter.attempt(client);
    let phone = form.phone.trim();
    let phone = if phone.is_empty() {
        Ok(None)
    } else {
        e164(phone)
            .map(Some)
            .ok_or_else(|| Problem::at("phone", PHONE))
    };
    let problem = match (attempt, payment(&form), phone) {
        (Err(too_soon), _, _) => {
            let problem = too_soon.sentence("Nothing was charged, and your seats stay held.");
            return refused(&state, jar, &hold_id, form, problem.into(), Some(too_soon)).await;
        }
        (_, Err(problem), _) | (_, _, Err(problem)) => problem,
        (Ok(()), Ok(payment), Ok(phone)) => {
            let order = NewOrder {
                hold_id: Some(hold_id.clone()),
                payment,
                phone,
                ..Default::default()
            };
            let client = state.cinema.orders();
            let placed = once_per_form(&form.request_id, |id| {
                client.place_order_with_id(id, order.clone())
            })
            .await;
            match placed {
                Ok(placed) => {
                    let jar = current_hold::forget(jar, &hold_id);
                    let to_order = Redirect::to(&format!("/orders/{}", placed.confirmation));
                    return Ok((jar, to_order).into_response());
                }
                Err(ClientError::Refused(failure)) => match failure.reason {
                    Some(Reason::PaymentDeclined) => format!(
                        "Your payment was declined ({}). Your seats are still held: try another card.",
                        failure.message.trim_start_matches("payment declined: ")
                    )
                    .into(),
                    Some(Reason::HoldExpired) => "Your seats were released because time ran out. \
                        Go back to the showtime to hold them again."
                        .to_owned()
                        .into(),
                    // No longer active, or used up: the service says which.
                    Some(Reason::PromotionUnusable) => {
                        Problem::at(
                        "promo",
                        format!(
                            "Sorry, {}. Try another code, or pay another way.",
                            failure.message
                        ),
                    )
                    }
                    // HOLD_CONFIRMED (another click paid) included: the hold's order,
                    // found below, is shown instead.
                    _ => failure.message.into(),
                },
                Err(ClientError::InvalidInput(failure)) => Problem::refused(&failure, &form),
                Err(ClientError::SoldOut(_)) => {
                    "Those seats are no longer available.".to_owned().into()
                }
                Err(ClientError::NotFound(failure))
                    if failure.resource.as_ref().map(|r| r.resource_type.as_str())
                        == Some("promotion_code") =>
                {
                    Problem::at("promo", "That promotion code does not exist.")
                }
                Err(ClientError::Unavailable(_)) => {
                    "We could not reach the payment service. Nothing was charged; please try again."
                        .to_owned()
                        .into()
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    refused(&state, jar, &hold_id, form, problem, None).await
}

/// The checkout again, saying why the payment was not made. Everything typed comes
/// back except the card number and its security code (and the request id: the next
/// click is a new attempt).
async fn refused(
    state: &AppState,
    jar: CookieJar,
    hold_id: &str,
    form: CheckoutForm,
    problem: Problem,
    too_soon: Option<TooSoon>,
) -> Result<Response, WebError> {
    let (jar, token) = csrf::token(jar, state.secure_cookies);
    let kept = CheckoutForm {
        card_number: String::new(),
        card_cvc: String::new(),
        request_id: String::new(),
        ..form
    };
    match checkout_page(state, hold_id, kept, token, Some(problem)).await? {
        Checkout::Page(page) => Ok(match too_soon {
            Some(wait) => (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                wait.retry_after(),
                jar,
                *page,
            )
                .into_response(),
            None => (axum::http::StatusCode::UNPROCESSABLE_ENTITY, jar, *page).into_response(),
        }),
        paid @ Checkout::Paid(_) => Ok(paid.into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_read_as_people_type_them() {
        assert_eq!(e164("(415) 555-0132").as_deref(), Some("+14155550132"));
        assert_eq!(e164("+44 20 7946 0958").as_deref(), Some("+442079460958"));
        assert_eq!(e164("1 415 555 0132").as_deref(), Some("+14155550132"));
        assert_eq!(e164("call me"), None);
    }

    #[test]
    fn card_brands_follow_the_prefix() {
        assert_eq!(card_brand("4111111111111111"), orders::CardBrand::Visa);
        assert_eq!(
            card_brand("5555555555554444"),
            orders::CardBrand::Mastercard
        );
        assert_eq!(
            card_brand("378282246310005"),
            orders::CardBrand::AmericanExpress
        );
        assert_eq!(card_brand("6011"), orders::CardBrand::Unspecified);
    }
}
