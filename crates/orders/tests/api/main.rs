//! Tests that drive the orders service over gRPC, against real Postgres, each test on
//! its own fresh database.

mod add_product;
mod admission;
mod availability;
mod callbacks;
mod crash;
mod fake_provider;
mod faults;
mod helpers;
mod holds;
mod metrics;
mod migrations;
mod outbox_admin;
mod place_order;
mod place_order_concurrency;
mod place_order_validation;
mod promotions;
mod refunds;
mod sales;
mod sales_end;
mod server;
mod stale_statistics;
mod telemetry;
mod texts;
mod withdrawals;
