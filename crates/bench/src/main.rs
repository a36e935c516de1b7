use clap::Parser;

// Each call allocates and frees many small buffers (protobuf, JSON, HTTP/2
// frames); mimalloc does that for less CPU than the system allocator (a load
// generator's own CPU is taken from the stack it measures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cinema_bench::run(cinema_bench::Args::parse()).await
}
