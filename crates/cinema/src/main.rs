//! `cinema`: the command-line front-end. It talks to a running stack like a website
//! would (`cinema movies`, `showtimes`, `buy`, `order`, `cancel`, `texts`), and like
//! the box office and operators (`cinema admit`, `outbox`, `promotion`, `catalogue`,
//! `sales`), through `cinema-client` only: it links no server. `cinema-dev up --demo`
//! runs a stack locally.

mod admin;
mod catalogue;
mod commands;
mod outbox;
mod promotion;
mod sales;

use cinema_client::Near;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cinema",
    version,
    about = "Use a running Cinema stack from the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Movies showing near a ZIP code (the home page), those sold out said so.
    Movies {
        #[arg(long)]
        zip: Option<String>,
        /// How far from the ZIP code to look.
        #[arg(long, value_name = "MILES", requires = "zip", value_parser = miles)]
        within: Option<f64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Theatres near a ZIP code, nearest first, with their address and phone (without
    /// a ZIP code, every theatre).
    Theatres {
        #[arg(long)]
        zip: Option<String>,
        /// How far from the ZIP code to look.
        #[arg(long, value_name = "MILES", requires = "zip", value_parser = miles)]
        within: Option<f64>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Showtimes near a ZIP code, grouped by theatre (or by movie with --theatre).
    Showtimes {
        #[arg(long)]
        zip: Option<String>,
        /// How far from the ZIP code to look.
        #[arg(long, value_name = "MILES", requires = "zip", value_parser = miles)]
        within: Option<f64>,
        #[arg(long)]
        movie: Option<String>,
        #[arg(long)]
        theatre: Option<String>,
        /// Only this day's: `today`, `tomorrow` or a date (2026-12-09), on each
        /// theatre's calendar.
        #[arg(long, value_parser = commands::Day::parse)]
        day: Option<commands::Day>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Buy tickets for a showtime.
    Buy(commands::BuyArgs),
    /// Show an order.
    Order {
        confirmation: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Cancel an order and give its seats back.
    Cancel {
        confirmation: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Texts the SMS gateway simulator delivered.
    Texts {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Let an order's holder in at the door (the box office; once per order): from an
    /// hour before the showtime until the movie is over, at its theatre.
    Admit {
        confirmation: String,
        /// The theatre whose door this is (its id): tickets for another are turned away.
        #[arg(long, env = "CINEMA_THEATRE")]
        theatre: Option<String>,
        /// Let them in even at another theatre or time (what a manager may decide).
        #[arg(long)]
        anyway: bool,
        /// The orders service's admin token.
        #[arg(long, env = "ORDERS_ADMIN_TOKEN", value_parser = admin::secret, hide_env_values = true)]
        orders_admin_token: Option<secrecy::SecretString>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// The orders service's outbox: list messages, redrive exhausted ones.
    Outbox(outbox::OutboxArgs),
    /// Promotion codes customers pay with: create one, show one, end one.
    Promotion(promotion::PromotionArgs),
    /// Add movies, theatres and showtimes (the movies admin token is needed).
    Catalogue(catalogue::CatalogueArgs),
    /// How showings sold: seats sold and let in, takings, cancellations; a theatre's
    /// day or the showtimes named (the orders admin token is needed).
    Sales(sales::SalesArgs),
}

/// `--within`: a distance the movies service searches within, checked here so that
/// the message names the flag typed.
fn miles(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(miles) if (Near::MIN_MILES..=Near::MAX_MILES).contains(&miles) => Ok(miles),
        _ => Err(format!(
            "a distance in miles, from {} to {} (default {})",
            Near::MIN_MILES,
            Near::MAX_MILES,
            Near::DEFAULT_MILES
        )),
    }
}

/// A ZIP code with the distance to search within.
fn near(zip: String, within: Option<f64>) -> Near {
    Near {
        zip,
        radius_miles: within,
    }
}

/// Where the client subcommands find the stack.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    #[arg(long, env = "CINEMA_MOVIES", default_value = "http://127.0.0.1:50051")]
    movies: String,
    #[arg(long, env = "CINEMA_ORDERS", default_value = "http://127.0.0.1:50052")]
    orders: String,
    /// The SMS gateway simulator.
    #[arg(long, env = "CINEMA_SMS", default_value = "http://127.0.0.1:50060")]
    sms: String,
    /// Print JSON instead of tables, for scripts.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Movies {
            zip,
            within,
            client,
        } => commands::movies(&client, zip.map(|z| near(z, within)).as_ref()).await,
        Command::Theatres {
            zip,
            within,
            client,
        } => commands::theatres(&client, zip.map(|z| near(z, within)).as_ref()).await,
        Command::Showtimes {
            zip,
            within,
            movie,
            theatre,
            day,
            client,
        } => {
            commands::showtimes(
                &client,
                zip.map(|z| near(z, within)).as_ref(),
                movie.as_deref(),
                theatre.as_deref(),
                day,
            )
            .await
        }
        Command::Buy(args) => commands::buy(&args).await,
        Command::Order {
            confirmation,
            client,
        } => commands::order(&client, &confirmation).await,
        Command::Cancel {
            confirmation,
            client,
        } => commands::cancel(&client, &confirmation).await,
        Command::Texts { client } => commands::texts(&client).await,
        Command::Admit {
            confirmation,
            theatre,
            anyway,
            orders_admin_token,
            client,
        } => {
            let door = commands::Door { theatre, anyway };
            commands::admit(&client, orders_admin_token, &confirmation, &door).await
        }
        Command::Outbox(args) => outbox::run(args).await,
        Command::Promotion(args) => promotion::run(args).await,
        Command::Catalogue(args) => catalogue::run(args).await,
        Command::Sales(args) => sales::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let unreachable = e
                .chain()
                .filter_map(|cause| cause.downcast_ref::<cinema_client::ClientError>())
                .any(cinema_client::ClientError::is_unreachable);
            if unreachable {
                eprintln!(
                    "Is the stack running? `cargo run -p cinema-dev -- up --demo` starts one; \
                     --movies and --orders (CINEMA_MOVIES, CINEMA_ORDERS) say where it is."
                );
            }
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
