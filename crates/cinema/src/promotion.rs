//! `cinema promotion create|show|end`: the promotion codes customers pay with.

use cinema_client::orders_pb as orders;
use clap::{Args, Subcommand};
use serde_json::json;

use crate::ClientArgs;
use crate::admin::{Admin, connect_as, secret};

#[derive(Debug, Args)]
pub struct PromotionArgs {
    #[command(subcommand)]
    command: PromotionCommand,
    /// The orders service's admin token.
    #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = secret, hide_env_values = true, global = true)]
    orders_admin_token: Option<secrecy::SecretString>,
}

#[derive(Debug, Subcommand)]
enum PromotionCommand {
    /// Create a code that pays for orders, good for a number of them (each order takes
    /// one; cancelling it gives it back).
    Create {
        /// 3 to 32 letters, digits or dashes; customers may type it in any case.
        code: String,
        /// How many orders it pays for.
        #[arg(long)]
        uses: i64,
        /// What it is for (for operators; customers never see it).
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A code as it is now: its uses left, whether it is active.
    Show {
        code: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// End a code: it pays for no more orders (those it paid for stay paid).
    End {
        code: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

pub async fn run(args: PromotionArgs) -> anyhow::Result<()> {
    let token = args.orders_admin_token;
    let (promotion, client) = match args.command {
        PromotionCommand::Create {
            code,
            uses,
            description,
            client,
        } => {
            let cinema = connect_as(Admin::Orders, &client, token, "creating a promotion")?;
            let created = cinema
                .orders()
                .create_promotion(&code, uses, &description)
                .await?;
            (created, client)
        }
        PromotionCommand::Show { code, client } => {
            let cinema = connect_as(Admin::Orders, &client, token, "reading a promotion")?;
            (cinema.orders().get_promotion(&code).await?, client)
        }
        PromotionCommand::End { code, client } => {
            let cinema = connect_as(Admin::Orders, &client, token, "ending a promotion")?;
            (cinema.orders().end_promotion(&code).await?, client)
        }
    };
    let orders::PromotionCode {
        code,
        description,
        uses_remaining,
        active,
    } = &promotion;
    crate::commands::emit(
        &client,
        json!({
            "code": code, "description": description,
            "uses_remaining": uses_remaining, "active": active,
        }),
        || match active {
            true => format!("Promotion {code}: active, {uses_remaining} use(s) left."),
            false => format!("Promotion {code}: ended, {uses_remaining} use(s) were left."),
        },
    )
}
