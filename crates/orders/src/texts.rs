//! The texts customers receive about their orders. Each fits the gateways' 140
//! characters whatever it is filled with.

use cinema_sms::MAX_MESSAGE_CHARS;

use crate::domain::{Confirmation, Hold};

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

/// "Cinema: order ABCDEFGHJK confirmed. 4 tickets, total $40.00. Show this code at the box office."
/// Written before the order is: it is queued by the statement that places it.
pub fn order_confirmed(confirmation: &Confirmation, paid: &Hold) -> String {
    let tickets: i64 = paid.lines.iter().map(|l| l.quantity).sum();
    let noun = if tickets == 1 { "ticket" } else { "tickets" };
    fit(format!(
        "Cinema: order {} confirmed. {tickets} {noun}, total {}. Show this code at the box office.",
        confirmation,
        dollars(paid.total_cents())
    ))
}

/// "Cinema: your payment of $40.00 was declined (...). No tickets were bought."
pub fn checkout_declined(total_cents: i64, reason: &str) -> String {
    fit(format!(
        "Cinema: your payment of {} was declined ({reason}). No tickets were bought.",
        dollars(total_cents)
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
    }
}
