//! The whole stack, built from configuration, against the gateway simulator.

use cinema_sms::{GatewayConfig, HttpSettings, Region, RetryPolicy, SmsConfig, SmsError};
use cinema_sms_sim::{SimSettings, Simulator, Text};
use secrecy::SecretString;

fn config(sim: &Simulator, watertel_password: &str, weights: (u32, u32)) -> SmsConfig {
    SmsConfig {
        gateways: vec![
            GatewayConfig::Watertel {
                weight: weights.0,
                base_url: sim.watertel_url(),
                username: "cinema".into(),
                password: SecretString::from(watertel_password.to_owned()),
            },
            GatewayConfig::Milio {
                weight: weights.1,
                base_url: sim.milio_url(),
                access_token: SecretString::from("milio-token".to_owned()),
                registered_phone: "+14155550100".into(),
            },
        ],
        default_region: Region::US,
        retry: RetryPolicy::default(),
        http: HttpSettings::default(),
    }
}

async fn texts(sim: &Simulator) -> Vec<Text> {
    reqwest::get(sim.texts_url())
        .await
        .expect("texts")
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn texts_sent_through_either_gateway_are_listed_by_the_simulator() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    // A zero weight turns a gateway off without removing its configuration.
    let watertel_only = config(&sim, "watertel-secret", (1, 0))
        .build()
        .expect("stack");
    for _ in 0..5 {
        watertel_only
            .send_sms("+14155550132", "Watertel only")
            .await
            .expect("sent");
    }
    assert!(texts(&sim).await.iter().all(|t| t.gateway == "watertel"));

    let sms = config(&sim, "watertel-secret", (50, 50))
        .build()
        .expect("stack");
    for i in 0..20 {
        sms.send_sms("(415) 555-0132", &format!("Order {i}"))
            .await
            .expect("sent");
    }
    let texts: Vec<Text> = texts(&sim)
        .await
        .into_iter()
        .filter(|t| t.message.starts_with("Order"))
        .collect();
    assert_eq!(texts.len(), 20);
    assert!(texts.iter().all(|t| t.phone == "+14155550132"));
    assert!(
        texts.iter().any(|t| t.gateway == "watertel") && texts.iter().any(|t| t.gateway == "milio")
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_wrong_watertel_password_is_misconfiguration_not_a_retry() {
    let sim = Simulator::start("127.0.0.1:0".parse().expect("addr"), SimSettings::default())
        .await
        .expect("sim");
    let mut only_watertel = config(&sim, "wrong", (1, 1));
    only_watertel.gateways.truncate(1);
    let error = only_watertel
        .build()
        .expect("stack")
        .send_sms("+14155550132", "hi")
        .await
        .expect_err("refused");
    assert!(matches!(error, SmsError::Misconfigured(_)), "{error:?}");
    assert!(texts(&sim).await.is_empty());
    sim.stop().await;
}
