//! A simulator of both gateways' HTTP APIs (appendices A and B), for the local stack
//! and tests: Watertel's login with expiring tokens, both send endpoints with every
//! status code the clients handle, configurable failure, rate-limit and latency, and
//! `GET /texts` listing what was accepted.
//!
//! Routes: `POST /watertel/api/login`, `POST /watertel/api/sms?accessToken=`,
//! `POST /milio/api/sms?accessToken=`, `GET /texts`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

#[derive(Debug, Clone, clap::Args)]
pub struct SimSettings {
    #[arg(long, env = "SIM_WATERTEL_USERNAME", default_value = "cinema")]
    pub watertel_username: String,
    #[arg(long, env = "SIM_WATERTEL_PASSWORD", default_value = "watertel-secret")]
    pub watertel_password: String,
    /// Lifetime of Watertel tokens (`expiresIn`).
    #[arg(long, env = "SIM_TOKEN_TTL_SECS", default_value_t = 7200)]
    pub token_ttl_secs: u64,
    #[arg(long, env = "SIM_MILIO_TOKEN", default_value = "milio-token")]
    pub milio_token: String,
    #[arg(
        long,
        env = "SIM_MILIO_REGISTERED_PHONE",
        default_value = "+14155550100"
    )]
    pub milio_registered_phone: String,
    /// Fraction of sends that fail with 500.
    #[arg(long, env = "SIM_FAILURE_RATE", default_value_t = 0.0)]
    pub failure_rate: f64,
    /// Fraction of Milio sends refused with 429.
    #[arg(long, env = "SIM_RATE_LIMIT_RATE", default_value_t = 0.0)]
    pub rate_limit_rate: f64,
    /// `Retry-After` seconds on a 429.
    #[arg(long, env = "SIM_RETRY_AFTER_SECS", default_value_t = 1)]
    pub retry_after_secs: u64,
    /// Delay before every answer.
    #[arg(long, env = "SIM_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,
}

impl Default for SimSettings {
    fn default() -> Self {
        Self {
            watertel_username: "cinema".into(),
            watertel_password: "watertel-secret".into(),
            token_ttl_secs: 7200,
            milio_token: "milio-token".into(),
            milio_registered_phone: "+14155550100".into(),
            failure_rate: 0.0,
            rate_limit_rate: 0.0,
            retry_after_secs: 1,
            latency_ms: 0,
        }
    }
}

/// A text a gateway accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub gateway: String,
    pub phone: String,
    pub message: String,
    /// Seconds since the Unix epoch.
    pub received_at: u64,
}

struct SimState {
    settings: SimSettings,
    tokens: Mutex<HashMap<String, Instant>>,
    texts: Mutex<Vec<Text>>,
}

impl SimState {
    async fn pause(&self) {
        if self.settings.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.settings.latency_ms)).await;
        }
    }

    fn roll(&self, rate: f64) -> bool {
        rate > 0.0 && rand::rng().random_bool(rate.clamp(0.0, 1.0))
    }

    fn record(&self, gateway: &str, phone: &str, message: &str) {
        let received_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.texts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Text {
                gateway: gateway.into(),
                phone: phone.into(),
                message: message.into(),
                received_at,
            });
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

fn valid_phone(phone: &str) -> bool {
    phone
        .strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_text(text: &str) -> bool {
    !text.trim().is_empty() && text.chars().count() <= cinema_sms::MAX_MESSAGE_CHARS
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct WatertelLogin {
    username: String,
    password: String,
}

async fn watertel_login(
    State(state): State<Arc<SimState>>,
    body: Option<Json<WatertelLogin>>,
) -> Response {
    state.pause().await;
    let Some(Json(login)) = body else {
        return error(StatusCode::BAD_REQUEST, "expected {username, password}");
    };
    if login.username != state.settings.watertel_username
        || login.password != state.settings.watertel_password
    {
        return error(StatusCode::UNAUTHORIZED, "invalid username or password");
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let expires = Instant::now() + Duration::from_secs(state.settings.token_ttl_secs);
    state
        .tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), expires);
    Json(serde_json::json!({ "accessToken": token, "expiresIn": state.settings.token_ttl_secs }))
        .into_response()
}

#[derive(Deserialize)]
struct WatertelSms {
    message: String,
    phone: String,
}

async fn watertel_sms(
    State(state): State<Arc<SimState>>,
    Query(query): Query<TokenQuery>,
    body: Option<Json<WatertelSms>>,
) -> Response {
    state.pause().await;
    let valid_token = query.access_token.is_some_and(|token| {
        state
            .tokens
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&token)
            .is_some_and(|expires| Instant::now() < *expires)
    });
    if !valid_token {
        return error(StatusCode::UNAUTHORIZED, "invalid or expired access token");
    }
    let Some(Json(sms)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {message, phone, priority}",
        );
    };
    if !valid_phone(&sms.phone) || !valid_text(&sms.message) {
        return error(
            StatusCode::BAD_REQUEST,
            "wrong phone number, or text longer than 140 characters",
        );
    }
    if state.roll(state.settings.failure_rate) {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "simulated Watertel failure",
        );
    }
    state.record("watertel", &sms.phone, &sms.message);
    StatusCode::OK.into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MilioSms {
    text: String,
    recipient_phone: String,
    registered_phone: String,
}

async fn milio_sms(
    State(state): State<Arc<SimState>>,
    Query(query): Query<TokenQuery>,
    body: Option<Json<MilioSms>>,
) -> Response {
    state.pause().await;
    if query.access_token.as_deref() != Some(state.settings.milio_token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "invalid access token");
    }
    let Some(Json(sms)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "expected {text, recipientPhone, registeredPhone}",
        );
    };
    if sms.registered_phone != state.settings.milio_registered_phone
        || !valid_phone(&sms.recipient_phone)
        || !valid_text(&sms.text)
    {
        return error(
            StatusCode::BAD_REQUEST,
            "wrong phone number, or text longer than 140 characters",
        );
    }
    if state.roll(state.settings.rate_limit_rate) {
        let mut response = error(StatusCode::TOO_MANY_REQUESTS, "slow down");
        if let Ok(value) = state.settings.retry_after_secs.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if state.roll(state.settings.failure_rate) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "simulated Milio failure");
    }
    state.record("milio", &sms.recipient_phone, &sms.text);
    StatusCode::CREATED.into_response()
}

async fn texts(State(state): State<Arc<SimState>>) -> Json<Vec<Text>> {
    Json(
        state
            .texts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    )
}

/// A running simulator.
#[derive(Debug)]
pub struct Simulator {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Simulator {
    /// Starts serving on `addr` (port 0 picks one).
    pub async fn start(addr: SocketAddr, settings: SimSettings) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        Ok(Self::serve(listener, settings))
    }

    pub fn serve(listener: tokio::net::TcpListener, settings: SimSettings) -> Self {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| ([127, 0, 0, 1], 0).into());
        let state = Arc::new(SimState {
            settings,
            tokens: Mutex::new(HashMap::new()),
            texts: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/watertel/api/login", post(watertel_login))
            .route("/watertel/api/sms", post(watertel_sms))
            .route("/milio/api/sms", post(milio_sms))
            .route("/texts", get(texts))
            .with_state(state);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Self {
            addr,
            shutdown: Some(tx),
            task,
        }
    }

    pub fn watertel_url(&self) -> String {
        format!("http://{}/watertel", self.addr)
    }

    pub fn milio_url(&self) -> String {
        format!("http://{}/milio", self.addr)
    }

    pub fn texts_url(&self) -> String {
        format!("http://{}/texts", self.addr)
    }

    /// Stops serving and waits until the listener is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}
