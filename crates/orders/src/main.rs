#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema_service::service::main::<cinema_orders::Application>().await
}
