//! Traffic split by composition: each text goes to one of several senders, at random,
//! in proportion to their weights.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::{Message, PhoneNumber, SendSms, SmsError};

pub struct Router {
    senders: Vec<Arc<dyn SendSms>>,
    weights: Vec<u32>,
    choose: WeightedIndex<u32>,
    /// Injectable, so tests can seed it.
    rng: Mutex<Box<dyn RngCore + Send>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<_> = self
            .senders
            .iter()
            .zip(&self.weights)
            .map(|(s, w)| format!("{}: {w}", s.name()))
            .collect();
        f.debug_struct("Router").field("routes", &routes).finish()
    }
}

impl Router {
    /// Routes by weight (e.g. `[(80, watertel), (20, milio)]`), with OS randomness.
    pub fn new(routes: Vec<(u32, Arc<dyn SendSms>)>) -> Result<Self, SmsError> {
        Self::with_rng(routes, StdRng::from_os_rng())
    }

    pub fn with_rng(
        routes: Vec<(u32, Arc<dyn SendSms>)>,
        rng: impl RngCore + Send + 'static,
    ) -> Result<Self, SmsError> {
        let (weights, senders): (Vec<u32>, Vec<_>) = routes.into_iter().unzip();
        let choose = WeightedIndex::new(&weights).map_err(|e| {
            SmsError::Misconfigured(format!("SMS gateway weights {weights:?} are unusable: {e}"))
        })?;
        Ok(Self {
            senders,
            weights,
            choose,
            rng: Mutex::new(Box::new(rng)),
        })
    }

    fn pick(&self) -> &Arc<dyn SendSms> {
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        &self.senders[self.choose.sample(&mut *rng)]
    }
}

#[async_trait]
impl SendSms for Router {
    async fn send(&self, phone: &PhoneNumber, message: &Message) -> Result<(), SmsError> {
        let sender = self.pick();
        tracing::debug!(gateway = sender.name(), "routing text");
        sender.send(phone, message).await
    }

    fn name(&self) -> &str {
        "router"
    }
}
