//! The texts customers receive about their orders. Each fits the gateways' 140
//! characters whatever it is filled with.

use cinema_sms::MAX_MESSAGE_CHARS;

use crate::domain::{Confirmation, Hold, PricedLine};

fn dollars(cents: i64) -> String {
    format!("${}.{:02}", cents / 100, cents % 100)
}

fn fit(text: String) -> String {
    if text.chars().count() <= MAX_MESSAGE_CHARS {
        text
    } else {
        let mut cut: String = text.chars().take(MAX_MESSAGE_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// "Cinema: order ABCDEFGHJK, 2 tickets, $25.00: Heat at Kendall Square Cinema,
/// auditorium 2, Sun Dec 6 7:30 PM EST. Show it at the box office."
///
/// The code and the count come first, so that a long movie name cut at the limit
/// loses the least; the advice is left out when it does not fit. An order of several products says how many tickets only.
/// Written before the order is: it is queued by the statement that places it.
pub fn order_confirmed(confirmation: &Confirmation, paid: &Hold) -> String {
    let tickets: i64 = paid.lines.iter().map(|l| l.quantity).sum();
    let noun = if tickets == 1 { "ticket" } else { "tickets" };
    let total = dollars(paid.total_cents());
    match paid.lines.as_slice() {
        [line] => {
            // What was bought matters more than the advice: the advice goes first.
            let bought = format!(
                "Cinema: order {confirmation}, {tickets} {noun}, {total}: {}.",
                line.description
            );
            let advised = format!("{bought} Show it at the box office.");
            fit(if advised.chars().count() <= MAX_MESSAGE_CHARS {
                advised
            } else {
                bought
            })
        }
        _ => fit(format!(
            "Cinema: order {confirmation} confirmed. {tickets} {noun}, total {total}. Show this code at the box office."
        )),
    }
}

/// "Cinema: your payment of $40.00 was declined (...). No tickets were bought."
pub fn checkout_declined(total_cents: i64, reason: &str) -> String {
    fit(format!(
        "Cinema: your payment of {} was declined ({reason}). No tickets were bought.",
        dollars(total_cents)
    ))
}

/// "Cinema: order ABCDEFGHJK is cancelled and its seats are back on sale. $25.00 will
/// be refunded to your card or PayPal." Sent with the refund (`refund_cents`; none for
/// an order paid with a promotion code), so that a customer who did not cancel the
/// order themselves hears of it at once.
pub fn order_cancelled(confirmation: &Confirmation, refund_cents: Option<i64>) -> String {
    let money = match refund_cents {
        Some(cents) => format!(
            "{} will be refunded to your card or PayPal.",
            dollars(cents)
        ),
        None => "Your promotion code can be used again.".to_owned(),
    };
    fit(format!(
        "Cinema: order {confirmation} is cancelled and its seats are back on sale. {money}"
    ))
}

/// "Cinema: Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST is
/// cancelled. Order ABCDEFGHJK: $25.00 will be refunded." Sent when the provider
/// withdrew what the order was for: the customer did nothing, and must hear of it
/// before setting out. An order of several products, or one whose description makes
/// the text too long, is named by its code alone.
pub fn order_withdrawn(
    confirmation: &Confirmation,
    lines: &[PricedLine],
    refund_cents: Option<i64>,
) -> String {
    let money = match refund_cents {
        Some(cents) => format!("{} will be refunded", dollars(cents)),
        None => "your promotion code works again".to_owned(),
    };
    if let [line] = lines {
        let named = format!(
            "Cinema: {} is cancelled. Order {confirmation}: {money}.",
            line.description
        );
        if named.chars().count() <= MAX_MESSAGE_CHARS {
            return named;
        }
    }
    fit(format!(
        "Cinema: sorry, what order {confirmation} was for is cancelled, and {money}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_fit_the_gateways_limit() {
        assert_eq!(dollars(4000), "$40.00");
        assert_eq!(dollars(1205), "$12.05");
        let long = checkout_declined(100, &"very long reason ".repeat(20));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS);
        assert!(checkout_declined(4000, "the card was declined").contains("$40.00"));
        let code = Confirmation::parse("ABCDEFGHJKLMNPQR").expect("a code");
        for refund in [Some(99_999_999_999), None] {
            let cancelled = order_cancelled(&code, refund);
            assert!(
                cancelled.chars().count() <= MAX_MESSAGE_CHARS,
                "{cancelled}"
            );
            assert!(!cancelled.ends_with('…'), "nothing cut: {cancelled}");
        }
        assert!(order_cancelled(&code, Some(2500)).contains("$25.00 will be refunded"));
        assert!(order_cancelled(&code, None).contains("promotion code can be used again"));
    }

    fn hold(descriptions: &[&str]) -> Hold {
        Hold {
            id: crate::domain::HoldId::new(),
            status: crate::domain::HoldStatus::Active,
            order: None,
            expires_at: chrono::Utc::now(),
            lines: descriptions
                .iter()
                .enumerate()
                .map(|(i, d)| crate::domain::PricedLine {
                    position: i as u32 + 1,
                    product_id: crate::domain::ProductId::from_db(i as i64 + 1),
                    quantity: 2,
                    unit_price_cents: 1250,
                    external_ref: None,
                    description: (*d).to_owned(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_confirmation_says_what_was_bought_and_keeps_the_code_when_cut() {
        let code = Confirmation::from_db("ABCDEFGHJK".into());
        let one = order_confirmed(
            &code,
            &hold(&["Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST"]),
        );
        assert_eq!(
            one,
            "Cinema: order ABCDEFGHJK, 2 tickets, $25.00: Heat at Kendall Square Cinema, \
             auditorium 2, Sun Dec 6 7:30 PM EST. Show it at the box office."
        );
        let longer = order_confirmed(
            &code,
            &hold(&["Nosferatu at Kendall Square Cinema, auditorium 2, Sun Dec 6 4:30 PM EST"]),
        );
        assert_eq!(
            longer,
            "Cinema: order ABCDEFGHJK, 2 tickets, $25.00: Nosferatu at Kendall Square Cinema, \
             auditorium 2, Sun Dec 6 4:30 PM EST.",
            "the advice is left out whole rather than cut"
        );
        let long = order_confirmed(&code, &hold(&[&"A very long title ".repeat(20)]));
        assert_eq!(long.chars().count(), MAX_MESSAGE_CHARS);
        assert!(long.starts_with("Cinema: order ABCDEFGHJK, 2 tickets, $25.00: A very"));
        let two = order_confirmed(&code, &hold(&["Heat", "Alien"]));
        assert!(two.contains("4 tickets, total $50.00"), "{two}");
    }

    #[test]
    fn a_withdrawal_says_what_is_cancelled_and_what_comes_back() {
        let code = Confirmation::from_db("ABCDEFGHJK".into());
        let heat = hold(&["Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST"]);
        assert_eq!(
            order_withdrawn(&code, &heat.lines, Some(2500)),
            "Cinema: Heat at Kendall Square Cinema, auditorium 2, Sun Dec 6 7:30 PM EST is \
             cancelled. Order ABCDEFGHJK: $25.00 will be refunded."
        );
        assert!(
            order_withdrawn(&code, &heat.lines, None).ends_with("your promotion code works again.")
        );
        // Too long to name, or several things: the code alone, never cut.
        let long = hold(&[&"A very long title ".repeat(20)]);
        let two = hold(&["Heat", "Alien"]);
        for lines in [&long.lines, &two.lines] {
            let text = order_withdrawn(&code, lines, Some(99_999_999_999));
            assert_eq!(
                text,
                "Cinema: sorry, what order ABCDEFGHJK was for is cancelled, and \
                 $999999999.99 will be refunded."
            );
        }
    }
}
