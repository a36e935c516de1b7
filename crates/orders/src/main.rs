// Serving a call allocates and frees many small buffers (protobuf, JSON, HTTP/2
// frames); mimalloc does that for less CPU than the system allocator did (glibc's
// malloc and free were a sixth of the movies service's time under load).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema_service::service::main::<cinema_orders::Application>().await
}
