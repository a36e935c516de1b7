//! Every class of bad input gets a precise status and changes nothing.

use cinema_proto::orders::v1 as pb;
use tonic::Code;

use crate::helpers::*;

fn card_with(edit: impl FnOnce(&mut pb::CreditCard)) -> pb::Payment {
    let mut payment = card(VISA);
    if let Some(pb::payment::Method::CreditCard(card)) = payment.method.as_mut() {
        edit(card);
    }
    payment
}

fn address_with(edit: impl FnOnce(&mut pb::Address)) -> pb::Payment {
    card_with(|card| {
        let mut address = billing_address();
        edit(&mut address);
        card.billing_address = Some(address);
    })
}

#[tokio::test]
async fn bad_orders_get_precise_statuses_and_change_nothing() {
    let app = spawn_app().await;
    let product = app.add_product("Seat", 10, 1000).await;
    app.add_promotion("USED-UP", 0, true).await;
    let one = || vec![item(&product, 1)];

    let cases: Vec<(&str, pb::PlaceOrderRequest, Code, &str)> = vec![
        (
            "no request id",
            pb::PlaceOrderRequest {
                request_id: String::new(),
                ..order(one(), card(VISA))
            },
            Code::InvalidArgument,
            "request_id",
        ),
        (
            "long request id",
            pb::PlaceOrderRequest {
                request_id: "x".repeat(65),
                ..order(one(), card(VISA))
            },
            Code::InvalidArgument,
            "request_id",
        ),
        (
            "no items",
            order(vec![], card(VISA)),
            Code::InvalidArgument,
            "at least one item",
        ),
        (
            "101 items",
            order((0..101).map(|_| item(&product, 1)).collect(), card(VISA)),
            Code::InvalidArgument,
            "at most 100",
        ),
        (
            "zero quantity",
            order(vec![item(&product, 0)], card(VISA)),
            Code::InvalidArgument,
            "quantity",
        ),
        (
            "negative quantity",
            order(vec![item(&product, -2)], card(VISA)),
            Code::InvalidArgument,
            "quantity",
        ),
        (
            "huge quantity",
            order(vec![item(&product, 10_001)], card(VISA)),
            Code::InvalidArgument,
            "quantity",
        ),
        (
            "malformed product id",
            order(vec![item("seat-1", 1)], card(VISA)),
            Code::InvalidArgument,
            "product_id",
        ),
        (
            "unknown product",
            order(vec![item(&product, 1), item("987654", 1)], card(VISA)),
            Code::NotFound,
            "987654",
        ),
        (
            "no payment",
            pb::PlaceOrderRequest {
                payment: None,
                ..order(one(), card(VISA))
            },
            Code::InvalidArgument,
            "payment is required",
        ),
        (
            "empty payment",
            order(one(), pb::Payment { method: None }),
            Code::InvalidArgument,
            "payment is required",
        ),
        (
            "luhn",
            order(one(), card("4111 1111 1111 1112")),
            Code::InvalidArgument,
            "checksum",
        ),
        (
            "letters in number",
            order(one(), card("4111-abcd-1111-1111")),
            Code::InvalidArgument,
            "digits",
        ),
        (
            "wrong brand",
            order(
                one(),
                card_with(|c| c.brand = pb::CardBrand::AmericanExpress.into()),
            ),
            Code::InvalidArgument,
            "AmericanExpress",
        ),
        (
            "no brand",
            order(one(), card_with(|c| c.brand = 0)),
            Code::InvalidArgument,
            "brand",
        ),
        (
            "expired",
            order(
                one(),
                card_with(|c| {
                    c.expiration_month = 1;
                    c.expiration_year = 2020;
                }),
            ),
            Code::InvalidArgument,
            "expired",
        ),
        (
            "month 13",
            order(one(), card_with(|c| c.expiration_month = 13)),
            Code::InvalidArgument,
            "month",
        ),
        (
            "short security code",
            order(one(), card_with(|c| c.security_code = "12".into())),
            Code::InvalidArgument,
            "security code must be the 3 digits",
        ),
        (
            "letters in security code",
            order(one(), card_with(|c| c.security_code = "1x3".into())),
            Code::InvalidArgument,
            "security code",
        ),
        (
            "no billing address",
            order(one(), card_with(|c| c.billing_address = None)),
            Code::InvalidArgument,
            "billing address",
        ),
        (
            "empty line 1",
            order(one(), address_with(|a| a.line_1 = "  ".into())),
            Code::InvalidArgument,
            "line_1",
        ),
        (
            "empty city",
            order(one(), address_with(|a| a.city = String::new())),
            Code::InvalidArgument,
            "city",
        ),
        (
            "fake state",
            order(one(), address_with(|a| a.state = "ZZ".into())),
            Code::InvalidArgument,
            "state",
        ),
        (
            "malformed zip",
            order(one(), address_with(|a| a.zip_code = "0213".into())),
            Code::InvalidArgument,
            "zip_code",
        ),
        (
            "unknown zip",
            order(one(), address_with(|a| a.zip_code = "99999".into())),
            Code::InvalidArgument,
            "99999",
        ),
        (
            "bad email",
            order(one(), paypal("buyer-at-example.com")),
            Code::InvalidArgument,
            "email",
        ),
        (
            "malformed promo",
            order(one(), promotion("!")),
            Code::InvalidArgument,
            "promotion code",
        ),
        (
            "unknown promo",
            order(one(), promotion("NOPE-NOPE")),
            Code::NotFound,
            "NOPE-NOPE",
        ),
        (
            "used-up promo",
            order(one(), promotion("USED-UP")),
            Code::FailedPrecondition,
            "no uses left",
        ),
        (
            "bad phone",
            pb::PlaceOrderRequest {
                customer: Some(pb::Customer {
                    phone: Some("555-0100".into()),
                }),
                ..order(one(), card(VISA))
            },
            Code::InvalidArgument,
            "phone",
        ),
        (
            "too many tickets",
            order(vec![item(&product, 11)], card(VISA)),
            Code::ResourceExhausted,
            "10 left",
        ),
    ];

    // What the error contract's details say, for the cases a client acts on.
    let details: &[(&str, &str)] = &[
        ("no request id", "field request_id"),
        ("malformed product id", "field items[0].product_id"),
        ("zero quantity", "field items[0].quantity"),
        ("unknown product", "product 987654"),
        ("no payment", "field payment"),
        ("luhn", "field payment.credit_card.number"),
        ("no brand", "field payment.credit_card.brand"),
        (
            "short security code",
            "field payment.credit_card.security_code",
        ),
        (
            "no billing address",
            "field payment.credit_card.billing_address",
        ),
        (
            "fake state",
            "field payment.credit_card.billing_address.state",
        ),
        (
            "malformed zip",
            "field payment.credit_card.billing_address.zip_code",
        ),
        (
            "unknown zip",
            "field payment.credit_card.billing_address.zip_code",
        ),
        ("bad email", "field payment.paypal.email"),
        ("unknown promo", "promotion_code NOPE-NOPE"),
        ("used-up promo", "reason PROMOTION_UNUSABLE"),
        ("bad phone", "field customer.phone"),
        ("too many tickets", &*format!("product {product}")),
    ];

    let before = app.row_counts().await;
    for (name, request, code, needle) in cases {
        let status = app.client().place_order(request).await.expect_err(name);
        assert_eq!(status.code(), code, "{name}: {status:?}");
        let sent = cinema_proto::error::Details::of(&status);
        assert!(sent.reason.is_some(), "{name}: no ErrorInfo reason");
        if let Some((_, expected)) = details.iter().find(|(case, _)| *case == name) {
            let described = match expected.split_once(' ') {
                Some(("field", _)) => format!(
                    "field {}",
                    sent.violations.first().map_or("", |v| v.field.as_str())
                ),
                Some(("reason", _)) => format!("reason {}", sent.reason.expect("checked above")),
                _ => sent
                    .resource
                    .as_ref()
                    .map(|r| format!("{} {}", r.resource_type, r.name))
                    .unwrap_or_default(),
            };
            assert_eq!(&described, expected, "{name}: {sent:?}");
        }
        assert!(
            status.message().contains(needle),
            "{name}: message {:?} should mention {needle:?}",
            status.message()
        );
        assert_eq!(app.row_counts().await, before, "{name} changed something");
    }
    app.stop().await;
}

#[tokio::test]
async fn get_order_refuses_malformed_and_unknown_codes() {
    let app = spawn_app().await;
    let message = expect_code(
        app.client()
            .get_order(pb::GetOrderRequest {
                confirmation: "O0I1".into(),
            })
            .await,
        Code::InvalidArgument,
    );
    assert!(message.contains("confirmation"), "{message}");
    let message = expect_code(
        app.client()
            .get_order(pb::GetOrderRequest {
                confirmation: "ABCDEFGHJK".into(),
            })
            .await,
        Code::NotFound,
    );
    assert!(message.contains("ABCDEFGHJK"), "{message}");
    app.stop().await;
}
