//! `cinema outbox list|redrive`: what an operator asks of the orders service's outbox.

use cinema_client::Cinema;
use cinema_client::orders_pb as orders;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::ClientArgs;
use crate::admin::{Admin, connect_as, secret};

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    command: OutboxCommand,
    /// The orders service's admin token.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = secret, hide_env_values = true, global = true)]
    orders_admin_token: Option<secrecy::SecretString>,
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// Messages, newest first (exhausted ones by default).
    List {
        /// Which messages.
        #[arg(long, value_enum, default_value_t = Status::Exhausted)]
        status: Status,
        /// How many at most.
        #[arg(long, default_value_t = 50)]
        limit: i32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Send exhausted messages again, with a fresh retry schedule.
    Redrive {
        /// The ids to redrive (from `cinema outbox list`).
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        /// Redrive every exhausted message.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Status {
    Exhausted,
    Pending,
    Delivered,
    All,
}

impl Status {
    fn to_pb(self) -> orders::OutboxStatus {
        match self {
            Self::Exhausted => orders::OutboxStatus::Exhausted,
            Self::Pending => orders::OutboxStatus::Pending,
            Self::Delivered => orders::OutboxStatus::Delivered,
            Self::All => orders::OutboxStatus::Unspecified,
        }
    }
}

fn kind(m: &orders::OutboxMessage) -> &'static str {
    match m.kind() {
        orders::OutboxKind::ProductSoldOut => "product_sold_out",
        orders::OutboxKind::ProductAvailable => "product_available",
        orders::OutboxKind::Sms => "sms",
        orders::OutboxKind::PaymentRefund => "payment_refund",
        orders::OutboxKind::Unspecified => "?",
    }
}

fn status(m: &orders::OutboxMessage) -> &'static str {
    match m.status() {
        orders::OutboxStatus::Pending => "pending",
        orders::OutboxStatus::Delivered => "delivered",
        orders::OutboxStatus::Exhausted => "exhausted",
        orders::OutboxStatus::Unspecified => "?",
    }
}

fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, t.nanos as u32))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// Where a message goes: the provider's endpoint, a text's recipient (last four
/// digits only), or the payment processor with what a refund gives back.
fn destination(m: &orders::OutboxMessage) -> String {
    if m.kind() == orders::OutboxKind::PaymentRefund {
        format!(
            "refund of ${}.{:02}",
            m.refund_cents / 100,
            m.refund_cents % 100
        )
    } else if m.phone_last4.is_empty() {
        m.endpoint.clone()
    } else {
        format!("text to …{}", m.phone_last4)
    }
}

fn connect(client: &ClientArgs, token: Option<secrecy::SecretString>) -> anyhow::Result<Cinema> {
    connect_as(Admin::Orders, client, token, "the outbox")
}

pub async fn run(args: OutboxArgs) -> anyhow::Result<()> {
    let token = args.orders_admin_token;
    match args.command {
        OutboxCommand::List {
            status: filter,
            limit,
            client,
        } => {
            let cinema = connect(&client, token)?;
            let response = cinema
                .orders()
                .list_outbox(orders::ListOutboxRequest {
                    status: filter.to_pb().into(),
                    page_size: limit,
                    ..Default::default()
                })
                .await?;
            let rows: Vec<Value> = response
                .messages
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id, "kind": kind(m), "status": status(m), "attempts": m.attempts,
                        "destination": destination(m), "product_id": m.product_id,
                        "occurred_at": time(m.occurred_at.as_ref()),
                        "next_attempt_at": time(m.next_attempt_at.as_ref()),
                        "last_error": m.last_error,
                    })
                })
                .collect();
            crate::commands::emit(&client, Value::Array(rows), || {
                if response.messages.is_empty() {
                    return "No messages.".to_owned();
                }
                let mut table = crate::commands::table(&[
                    "id",
                    "kind",
                    "status",
                    "attempts",
                    "to",
                    "occurred",
                    "last error",
                ]);
                for m in &response.messages {
                    let mut error = m.last_error.clone();
                    if error.chars().count() > 60 {
                        error = error.chars().take(59).collect::<String>() + "…";
                    }
                    table.add_row(vec![
                        m.id.clone(),
                        kind(m).to_owned(),
                        status(m).to_owned(),
                        m.attempts.to_string(),
                        destination(m),
                        time(m.occurred_at.as_ref()),
                        error,
                    ]);
                }
                table.to_string()
            })?;
        }
        OutboxCommand::Redrive { ids, all, client } => {
            let cinema = connect(&client, token)?;
            let redriven = cinema
                .orders()
                .redrive_outbox(orders::RedriveOutboxRequest {
                    ids,
                    all_exhausted: all,
                })
                .await?;
            crate::commands::emit(
                &client,
                json!({ "redriven": redriven }),
                || match redriven.len() {
                    0 => "Nothing to redrive: no message is exhausted.".to_owned(),
                    n => format!(
                        "Redriven {n} message{}: {} (pending again, due now).",
                        if n == 1 { "" } else { "s" },
                        redriven.join(", ")
                    ),
                },
            )?;
        }
    }
    Ok(())
}
