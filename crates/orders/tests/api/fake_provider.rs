//! A product provider that records the callbacks it receives.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cinema_proto::orders::v1 as pb;
use cinema_proto::orders::v1::product_provider_service_server::{
    ProductProviderService, ProductProviderServiceServer,
};
use tokio::sync::oneshot;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use crate::helpers::CALLBACK_TOKEN;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub event_id: String,
    pub kind: &'static str,
    pub product_id: String,
    pub external_ref: String,
    pub remaining: i64,
    pub sequence: u64,
    /// The W3C trace context the callback carried.
    pub traceparent: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    Accept,
    /// Answer UNAVAILABLE to everything.
    Fail,
    /// Accept after a pause, to keep deliveries in flight.
    AcceptSlowly(Duration),
    /// Never answer the first call (until its caller gives up or dies); accept the rest.
    HangFirstCall,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<Received>,
    in_flight: HashMap<String, usize>,
    /// The most deliveries of one event ever in flight at the same time.
    max_in_flight_per_event: usize,
    refused: usize,
    /// Authorized calls received, answered or not.
    calls: usize,
}

#[derive(Clone)]
struct Service {
    state: Arc<Mutex<State>>,
    behaviour: Behaviour,
}

impl Service {
    async fn handle(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        mut event: Received,
    ) -> Result<(), Status> {
        event.traceparent = metadata
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let authorized = metadata
            .get("authorization")
            .is_some_and(|v| v.to_str().ok() == Some(&format!("Bearer {CALLBACK_TOKEN}")));
        if !authorized {
            self.state.lock().expect("state").refused += 1;
            return Err(Status::unauthenticated("bad callback token"));
        }
        let first = {
            let mut state = self.state.lock().expect("state");
            state.calls += 1;
            state.calls == 1
        };
        {
            let mut state = self.state.lock().expect("state");
            let n = state.in_flight.entry(event.event_id.clone()).or_default();
            *n += 1;
            let n = *n;
            state.max_in_flight_per_event = state.max_in_flight_per_event.max(n);
        }
        let result = match self.behaviour {
            Behaviour::Fail => Err(Status::unavailable("provider is down for maintenance")),
            Behaviour::Accept => Ok(()),
            Behaviour::AcceptSlowly(pause) => {
                tokio::time::sleep(pause).await;
                Ok(())
            }
            Behaviour::HangFirstCall if first => std::future::pending().await,
            Behaviour::HangFirstCall => Ok(()),
        };
        let mut state = self.state.lock().expect("state");
        *state.in_flight.entry(event.event_id.clone()).or_default() -= 1;
        result?;
        state.received.push(event);
        Ok(())
    }
}

#[tonic::async_trait]
impl ProductProviderService for Service {
    async fn product_sold_out(
        &self,
        request: Request<pb::ProductSoldOutRequest>,
    ) -> Result<Response<pb::ProductSoldOutResponse>, Status> {
        let e = request.get_ref();
        let event = Received {
            event_id: e.event_id.clone(),
            kind: "sold_out",
            product_id: e.product_id.clone(),
            external_ref: e.external_ref.clone(),
            remaining: 0,
            sequence: e.sequence,
            traceparent: None,
        };
        self.handle(request.metadata(), event).await?;
        Ok(Response::new(pb::ProductSoldOutResponse {}))
    }

    async fn product_available(
        &self,
        request: Request<pb::ProductAvailableRequest>,
    ) -> Result<Response<pb::ProductAvailableResponse>, Status> {
        let e = request.get_ref();
        let event = Received {
            event_id: e.event_id.clone(),
            kind: "available",
            product_id: e.product_id.clone(),
            external_ref: e.external_ref.clone(),
            remaining: e.remaining,
            sequence: e.sequence,
            traceparent: None,
        };
        self.handle(request.metadata(), event).await?;
        Ok(Response::new(pb::ProductAvailableResponse {}))
    }
}

pub struct FakeProvider {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeProvider {
    /// Starts on `addr` (port 0 picks one).
    pub async fn start(addr: SocketAddr, behaviour: Behaviour) -> Self {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind provider");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let service = Service {
            state: state.clone(),
            behaviour,
        };
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(ProductProviderServiceServer::new(service))
                .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                    let _ = rx.await;
                }),
        );
        Self {
            addr,
            state,
            shutdown: Some(tx),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    pub fn calls(&self) -> usize {
        self.state.lock().expect("state").calls
    }

    pub fn max_in_flight_per_event(&self) -> usize {
        self.state.lock().expect("state").max_in_flight_per_event
    }
}

impl Drop for FakeProvider {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// An address where nothing listens yet (bound once, then released).
pub async fn free_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr")
}
