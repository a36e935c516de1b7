//! Each gateway client against a fake HTTP server: every status code path, tokens,
//! and transport failures.

use std::sync::Arc;
use std::time::Duration;

use cinema_sms::{HttpSettings, Message, Milio, PhoneNumber, Region, SendSms, SmsError, Watertel};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn phone() -> PhoneNumber {
    PhoneNumber::parse("+14155550132", Region::US).expect("valid")
}

fn text() -> Message {
    Message::parse("Your tickets: ABCDEFGH").expect("valid")
}

/// No pool and no timeouts: nothing that tokio's paused clock could fire by itself.
fn timerless_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn watertel(server: &MockServer) -> Watertel {
    Watertel::with_client(
        timerless_client(),
        server.uri(),
        "cinema",
        SecretString::from("pw".to_owned()),
        HttpSettings::default(),
    )
}

async fn login_returns(server: &MockServer, token: &str, expires_in: u64, times: u64) {
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .and(body_json(json!({"username": "cinema", "password": "pw"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessToken": token, "expiresIn": expires_in})),
        )
        .expect(times)
        .named(format!("login -> {token}"))
        .up_to_n_times(times)
        .mount(server)
        .await;
}

async fn sms_answers(server: &MockServer, token: &str, status: u16) {
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .and(query_param("accessToken", token))
        .respond_with(ResponseTemplate::new(status))
        .mount(server)
        .await;
}

/// How a gateway's answer to `status` was classified, for the status tables.
fn class(error: SmsError, status: u16) -> &'static str {
    match error {
        SmsError::Rejected(_) => "rejected",
        SmsError::Misconfigured(_) => "misconfigured",
        SmsError::Retryable { .. } => "retryable",
        other => panic!("{status}: unexpected {other:?}"),
    }
}

#[tokio::test]
async fn watertel_logs_in_once_and_reuses_its_token() {
    let server = MockServer::start().await;
    login_returns(&server, "t1", 7200, 1).await;
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .and(query_param("accessToken", "t1"))
        .and(body_json(
            json!({"message": "Your tickets: ABCDEFGH", "phone": "+14155550132", "priority": 1}),
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    let gateway = watertel(&server);
    gateway.send(&phone(), &text()).await.expect("sent");
    gateway.send(&phone(), &text()).await.expect("sent again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_watertel_sends_share_one_login() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessToken": "t1", "expiresIn": 7200}))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    sms_answers(&server, "t1", 200).await;
    let gateway = Arc::new(watertel(&server));
    let sends: Vec<_> = (0..10)
        .map(|_| {
            let gateway = gateway.clone();
            tokio::spawn(async move { gateway.send(&phone(), &text()).await })
        })
        .collect();
    for send in sends {
        send.await.expect("task").expect("sent");
    }
}

#[tokio::test]
async fn watertel_logs_in_again_shortly_before_the_token_expires() {
    let server = MockServer::start().await;
    login_returns(&server, "t1", 120, 1).await;
    sms_answers(&server, "t1", 200).await;
    let gateway = watertel(&server);
    tokio::time::pause();
    gateway.send(&phone(), &text()).await.expect("sent");
    // 120 s tokens are renewed 60 s early: still fresh after 59 s...
    tokio::time::advance(Duration::from_secs(59)).await;
    gateway
        .send(&phone(), &text())
        .await
        .expect("sent with the same token");
    // ...renewed after 61 s.
    login_returns(&server, "t2", 120, 1).await;
    sms_answers(&server, "t2", 200).await;
    tokio::time::advance(Duration::from_secs(2)).await;
    gateway
        .send(&phone(), &text())
        .await
        .expect("sent with a new token");
    let logins = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path() == "/api/login")
        .count();
    assert_eq!(logins, 2);
}

#[tokio::test]
async fn a_401_means_the_token_went_bad_so_watertel_logs_in_again_once() {
    let server = MockServer::start().await;
    login_returns(&server, "stale", 7200, 1).await;
    sms_answers(&server, "stale", 401).await;
    let gateway = watertel(&server);
    login_returns(&server, "fresh", 7200, 1).await;
    sms_answers(&server, "fresh", 200).await;
    gateway
        .send(&phone(), &text())
        .await
        .expect("sent after one re-login");
}

#[tokio::test]
async fn a_401_after_a_fresh_login_is_misconfiguration() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"accessToken": "t", "expiresIn": 7200})),
        )
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let error = watertel(&server)
        .send(&phone(), &text())
        .await
        .expect_err("refused");
    assert!(matches!(error, SmsError::Misconfigured(_)), "{error:?}");
}

#[tokio::test]
async fn watertel_status_codes_say_whose_problem_it_is() {
    for (status, expect) in [
        (400, "rejected"),
        (403, "misconfigured"),
        (302, "misconfigured"),
        (500, "retryable"),
        (503, "retryable"),
    ] {
        let server = MockServer::start().await;
        login_returns(&server, "t", 7200, 1).await;
        let mut template = ResponseTemplate::new(status);
        if status == 302 {
            template = template.insert_header("location", "https://elsewhere.example/api/sms");
        }
        Mock::given(method("POST"))
            .and(path("/api/sms"))
            .respond_with(template)
            .mount(&server)
            .await;
        let error = watertel(&server)
            .send(&phone(), &text())
            .await
            .expect_err("fails");
        assert_eq!(class(error, status), expect, "status {status}");
    }
}

#[tokio::test]
async fn watertel_login_failures() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let error = watertel(&server)
        .send(&phone(), &text())
        .await
        .expect_err("bad credentials");
    assert!(
        matches!(error, SmsError::Misconfigured(ref m) if m.contains("username")),
        "{error:?}"
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let error = watertel(&server)
        .send(&phone(), &text())
        .await
        .expect_err("gateway down");
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn a_connect_failure_is_retryable_and_a_late_answer_is_unconfirmed() {
    // Bound, never listened on: connections are refused, and no other test's server
    // can take the port while the test runs.
    let reserved = tokio::net::TcpSocket::new_v4().expect("socket");
    reserved
        .bind("127.0.0.1:0".parse().expect("address"))
        .expect("bind");
    let dead = format!("http://{}", reserved.local_addr().expect("addr"));
    let gateway = Watertel::new(
        dead,
        "cinema",
        SecretString::from("pw".to_owned()),
        HttpSettings::default(),
    )
    .expect("gateway");
    let error = gateway
        .send(&phone(), &text())
        .await
        .expect_err("nothing listens");
    assert!(error.is_retryable(), "{error:?}");

    let server = MockServer::start().await;
    login_returns(&server, "watertel-session-token", 7200, 2).await;
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&server)
        .await;
    let slow = HttpSettings {
        request_timeout: Duration::from_millis(200),
        ..HttpSettings::default()
    };
    let gateway = Watertel::new(
        server.uri(),
        "cinema",
        SecretString::from("pw".to_owned()),
        slow.clone(),
    )
    .expect("gateway");
    let error = gateway.send(&phone(), &text()).await.expect_err("too slow");
    assert!(
        matches!(error, SmsError::Unconfirmed(_)),
        "not retried by default: {error:?}"
    );
    assert!(
        !error.to_string().contains("watertel-session-token"),
        "the token in the URL stays out of the message: {error}"
    );
    let retrying = HttpSettings {
        retry_unconfirmed: true,
        ..slow
    };
    let gateway = Watertel::new(
        server.uri(),
        "cinema",
        SecretString::from("pw".to_owned()),
        retrying,
    )
    .expect("gateway");
    let error = gateway.send(&phone(), &text()).await.expect_err("too slow");
    assert!(error.is_retryable(), "retried when configured: {error:?}");
}

fn milio(server: &MockServer) -> Milio {
    Milio::new(
        server.uri(),
        SecretString::from("m-token".to_owned()),
        PhoneNumber::parse("+14155550100", Region::US).expect("valid"),
        HttpSettings::default(),
    )
    .expect("gateway")
}

#[tokio::test]
async fn milio_sends_with_its_fixed_token_and_registered_phone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .and(query_param("accessToken", "m-token"))
        .and(body_json(json!({
            "text": "Your tickets: ABCDEFGH",
            "recipientPhone": "+14155550132",
            "registeredPhone": "+14155550100"
        })))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    milio(&server).send(&phone(), &text()).await.expect("sent");
}

#[tokio::test]
async fn milio_status_codes_say_whose_problem_it_is() {
    for (status, expect) in [
        (400, "rejected"),
        (401, "misconfigured"),
        (301, "misconfigured"),
        (500, "retryable"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/sms"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let error = milio(&server)
            .send(&phone(), &text())
            .await
            .expect_err("fails");
        assert_eq!(class(error, status), expect, "status {status}");
    }
}

#[tokio::test]
async fn milio_429_is_retryable_with_the_gateways_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/sms"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .mount(&server)
        .await;
    let error = milio(&server)
        .send(&phone(), &text())
        .await
        .expect_err("rate limited");
    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn a_connection_cut_before_the_answer_is_unconfirmed_with_its_cause_and_no_token() {
    // A gateway that reads the request and hangs up without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
        }
    });
    let gateway = Milio::new(
        url,
        SecretString::from("milio-secret-token".to_owned()),
        PhoneNumber::parse("+14155550100", Region::US).expect("valid"),
        HttpSettings::default(),
    )
    .expect("gateway");
    let error = gateway
        .send(&phone(), &text())
        .await
        .expect_err("no answer");
    let SmsError::Unconfirmed(reason) = &error else {
        panic!("the text may have been sent, so it is not retried: {error:?}");
    };
    assert!(
        reason.contains("closed"),
        "the cause, not only \"error sending request\": {reason}"
    );
    assert!(!reason.contains("milio-secret-token"), "{reason}");
}
