#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema_service::service::main::<cinema_movies::Application>().await
}
