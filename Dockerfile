# Builds every binary once; the runtime image holds them all, and compose picks one
# per service with `command`.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        --bin orders-service --bin movies-service --bin sms-gateway-sim --bin cinema --bin cinema-dev \
        --bin cinema-web \
 && mkdir -p /out \
 && cp target/release/orders-service target/release/movies-service \
       target/release/sms-gateway-sim target/release/cinema target/release/cinema-dev \
       target/release/cinema-web /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
USER 10001
ENV LOG_FORMAT=json
