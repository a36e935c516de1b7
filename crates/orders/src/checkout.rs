//! Checkout: hold the seats, pay outside every lock, confirm.
//!
//! A real payment takes 200 ms to 2 s. Nothing here holds a row lock while it waits:
//!
//! 1. **hold**: one short transaction moves the units from available to held (all or
//!    nothing; the `WHERE available >= n` guard makes overselling impossible). A
//!    HoldProducts call does this step alone; a PlaceOrder with items does it itself.
//! 2. **authorize** with no transaction open, after writing down that it is about to
//!    (`payment_authorizations`), so whatever a dead process authorized can be found.
//! 3. **confirm** in one short transaction: the hold becomes the order (its items are
//!    the order's lines) and its payment; or, on a decline, nothing is sold.
//!
//! A process that dies between the steps loses nothing: its hold expires by itself
//! (the sweeper, in every replica, returns the units) and its authorization is then
//! voided. PlaceOrder stays idempotent on its request id across all steps: a retry
//! finds the order, the hold, or the authorization that the first attempt left.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cinema_service::idempotency;
use sqlx::{Acquire, PgConnection};

use crate::domain::{
    Basket, Confirmation, Fingerprint, Hold, HoldDraft, HoldId, HoldStatus, HoldTtl, Order,
    OrderDraft, OrderStatus, PaymentMethod, PaymentSummary, ProductId, RequestId, ZipCode,
};
use crate::error::{Error, Reason};
use crate::payments::{Authorization, PaymentError, PaymentProcessor};
use crate::store::outbox::{self, Message, Text};
use crate::store::{
    self, AuthorizationClaim, ClaimFor, ConfirmInsert, HoldInsert, HoldKey, OnSale, OrderKey,
    PromotionRefused, StockChange,
};
use crate::texts;

/// How often a retry that finds its request being paid for checks for the outcome, and
/// how long past the payment timeout it waits before answering UNAVAILABLE.
const IN_FLIGHT_POLL: Duration = Duration::from_millis(20);
const IN_FLIGHT_MARGIN: Duration = Duration::from_secs(2);
/// The longest a failed attempt spends giving its authorization claim up.
const ABANDON_TIMEOUT: Duration = Duration::from_millis(200);

/// How many expired holds one sweep returns to sale at most.
const SWEEP_BATCH: usize = 100;

#[derive(Debug, Clone)]
pub struct Checkout {
    pool: sqlx::PgPool,
    processor: Arc<dyn PaymentProcessor>,
    /// Whether customers who gave a phone number are texted (SMS is configured).
    texts: bool,
    /// How long the hold a PlaceOrder-with-items makes for itself lasts: long enough
    /// for any payment; if the process dies, the units are back on sale after it.
    checkout_hold: HoldTtl,
    /// The longest a processor may take to authorize before the checkout gives up.
    payment_timeout: Duration,
    /// This process, as recorded on the authorization claims its attempts make.
    instance: uuid::Uuid,
    /// Request ids whose attempt in this process is between its claim and its end:
    /// a pending claim of ours that is not here belongs to an attempt that died.
    authorizing: Arc<Mutex<HashSet<String>>>,
    known_zips: KnownZips,
}

/// The billing ZIP codes seen to exist. ZIP codes are only ever added (by migration),
/// never removed, so a code found once is known for good and most checkouts skip the
/// look-up. Bounded by the table: only codes it holds are kept.
#[derive(Debug, Clone, Default)]
struct KnownZips(Arc<RwLock<HashSet<String>>>);

impl KnownZips {
    fn contains(&self, zip: &ZipCode) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(zip.as_str())
    }

    /// Asks the database, remembering a code it knows.
    async fn look_up(&self, conn: &mut PgConnection, zip: &ZipCode) -> Result<bool, Error> {
        let known = store::zip_exists(conn, zip).await?;
        if known {
            self.0
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(zip.as_str().to_owned());
        }
        Ok(known)
    }
}

/// Keeps a request id in [`Checkout::authorizing`] while its attempt runs, whatever way
/// the attempt ends (an error, or the caller going away and the future being dropped).
struct Authorizing {
    set: Arc<Mutex<HashSet<String>>>,
    request_id: String,
}

impl Drop for Authorizing {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.request_id);
    }
}

/// Why the confirm step did not place the order.
enum NotConfirmed {
    /// The hold is no longer active: expired, released, or paid by another request.
    HoldGone,
    PromotionRefused,
    Failed(Error),
}

impl From<Error> for NotConfirmed {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl From<sqlx::Error> for NotConfirmed {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(e.into())
    }
}

/// What PlaceOrder's first step leaves for the payment.
struct Held {
    /// The hold's row id.
    internal: i64,
    hold: Hold,
    /// Whether this request made the hold itself: a decline then puts its units back
    /// on sale at once, where a hold the customer made keeps them for another card.
    made_here: bool,
    /// The authorization claim taken with the hold, when one was.
    claimed: Option<AuthorizationClaim>,
}

fn no_hold(id: HoldId) -> Error {
    Error::not_found("hold", id, format!("no hold {id}"))
}

fn promotion_refused(code: &str, why: PromotionRefused) -> Error {
    match why {
        PromotionRefused::Unknown => Error::not_found(
            "promotion_code",
            code,
            format!("promotion code {code} does not exist"),
        ),
        PromotionRefused::Inactive => Error::refused(
            Reason::PromotionUnusable,
            format!("promotion code {code} is no longer active"),
        ),
        PromotionRefused::UsedUp => Error::refused(
            Reason::PromotionUnusable,
            format!("promotion code {code} has no uses left"),
        ),
    }
}

impl Checkout {
    pub fn new(
        pool: sqlx::PgPool,
        processor: Arc<dyn PaymentProcessor>,
        texts: bool,
        checkout_hold: HoldTtl,
        payment_timeout: Duration,
    ) -> Self {
        Self {
            pool,
            processor,
            texts,
            checkout_hold,
            payment_timeout,
            instance: uuid::Uuid::new_v4(),
            authorizing: Arc::default(),
            known_zips: KnownZips::default(),
        }
    }

    /// Marks this attempt as the one authorizing `request_id` in this process.
    fn authorizing(&self, request_id: &str) -> Authorizing {
        self.authorizing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(request_id.to_owned());
        Authorizing {
            set: self.authorizing.clone(),
            request_id: request_id.to_owned(),
        }
    }

    /// Whether an attempt of `request_id` is running in this process.
    fn is_authorizing(&self, request_id: &str) -> bool {
        self.authorizing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(request_id)
    }

    /// Holds the draft's units, or returns the hold already made under its key.
    pub async fn hold(&self, draft: &HoldDraft) -> Result<Hold, Error> {
        let mut conn = self.pool.acquire().await?;
        self.hold_with_id(&mut conn, draft, None)
            .await
            .map(|(_, hold, _)| hold)
    }

    /// [`Self::hold`], with the hold's internal id. With `pay_for`, a new hold's
    /// authorization is claimed for that request in the same transaction (one commit
    /// fewer per order); `None` comes back when the hold already existed.
    ///
    /// A first attempt is the common case, so it tries to hold straight away; the
    /// request's key being taken (or the units being short) is when it looks for the
    /// hold an earlier attempt made.
    #[tracing::instrument(skip_all, fields(key = draft.key.as_str()))]
    async fn hold_with_id(
        &self,
        conn: &mut PgConnection,
        draft: &HoldDraft,
        pay_for: Option<&RequestId>,
    ) -> Result<(i64, Hold, Option<AuthorizationClaim>), Error> {
        let fingerprint = draft.fingerprint();
        let id = HoldId::new();
        // Postgres keeps microseconds: the hold returned now must equal the one read later.
        let expires_at = Utc::now() + draft.ttl.duration();
        let expires_at = chrono::DateTime::from_timestamp_micros(expires_at.timestamp_micros())
            .unwrap_or(expires_at);
        let claim = pay_for.map(|request_id| ClaimFor {
            request_id: request_id.as_str(),
            lease: self.authorization_lease(),
            claimed_by: self.instance,
        });
        let products: Vec<i64> = draft.lines.iter().map(|l| l.product_id.get()).collect();
        let inserted = all_or_nothing(
            conn,
            &products,
            draft.lines.is_single_product(),
            async |conn| store::insert_hold(conn, id, draft, expires_at, claim).await,
            |inserted| matches!(inserted, HoldInsert::Held { .. }),
        )
        .await?;
        match inserted {
            HoldInsert::Held {
                id: internal,
                hold,
                claimed,
            } => {
                tracing::info!(hold_id = %id, expires_at = %hold.expires_at, "units held");
                let claim = match pay_for {
                    Some(_) if claimed => Some(AuthorizationClaim::Mine),
                    // A retry whose first attempt died before holding, with a claim
                    // that has not lapsed: the caller waits for it or takes it over.
                    Some(request_id) => {
                        Some(store::claim_of_another(&mut *conn, request_id.as_str()).await?)
                    }
                    None => None,
                };
                Ok((internal, hold, claim))
            }
            HoldInsert::Short => {
                // A retry finds its units short because its first attempt holds them.
                if let Some((internal, hold)) = existing_hold(conn, draft, &fingerprint).await? {
                    return Ok((internal, hold, None));
                }
                Err(why_short(conn, draft).await?)
            }
            HoldInsert::Raced => {
                // An earlier attempt, or a racing one, made the hold under this key.
                let (internal, hold) = existing_hold(conn, draft, &fingerprint)
                    .await?
                    .ok_or_else(|| Error::unexpected("a racing hold vanished"))?;
                Ok((internal, hold, None))
            }
        }
    }

    async fn load_hold(&self, key: HoldKey) -> Result<(i64, Hold), Error> {
        let mut conn = self.pool.acquire().await?;
        load_hold(&mut conn, key).await
    }

    pub async fn get_hold(&self, id: HoldId) -> Result<Hold, Error> {
        self.load_hold(HoldKey::Public(id))
            .await
            .map(|(_, hold)| hold)
    }

    /// Releases an active hold, returning its units to sale. Releasing a hold that has
    /// already ended returns it unchanged.
    #[tracing::instrument(skip_all, fields(hold_id = %id))]
    pub async fn release(&self, id: HoldId) -> Result<Hold, Error> {
        let mut tx = self.pool.begin().await?;
        let (internal, _) = store::load_hold(&mut tx, HoldKey::Public(id))
            .await?
            .ok_or_else(|| no_hold(id))?;
        if let Some(changes) = store::end_hold(&mut tx, internal, HoldStatus::Released).await? {
            enqueue_availability_events(&mut tx, &changes).await?;
            tracing::info!("hold released");
        }
        tx.commit().await?;
        self.load_hold(HoldKey::Internal(internal))
            .await
            .map(|(_, hold)| hold)
    }

    /// Returns the units of holds past their expiry to sale; the sweeper calls it in
    /// every replica (holds are claimed with `SKIP LOCKED`), tests call it to drain.
    /// Returns how many holds it expired.
    pub async fn expire_due(&self) -> Result<usize, Error> {
        let mut expired = 0;
        while expired < SWEEP_BATCH {
            let mut tx = self.pool.begin().await?;
            let Some(hold) = store::claim_expired_hold(&mut tx).await? else {
                break;
            };
            if let Some(changes) = store::end_hold(&mut tx, hold, HoldStatus::Expired).await? {
                enqueue_availability_events(&mut tx, &changes).await?;
            }
            tx.commit().await?;
            expired += 1;
        }
        if expired > 0 {
            tracing::info!(expired, "expired holds returned to sale");
        }
        Ok(expired)
    }

    /// Voids authorizations that can no longer be captured (their hold ended without
    /// them: a process died mid-checkout, or the hold expired while the processor
    /// thought). Returns how many it voided.
    pub async fn void_orphans(&self) -> Result<usize, Error> {
        let orphans = {
            let mut conn = self.pool.acquire().await?;
            store::orphaned_authorizations(&mut conn, 0, SWEEP_BATCH as i64).await?
        };
        let mut voided = 0;
        for orphan in orphans {
            match self
                .processor
                .void(&orphan.request_id, orphan.code.as_deref())
                .await
            {
                Ok(()) => {
                    let mut conn = self.pool.acquire().await?;
                    let from = ["pending", "authorized"];
                    if store::set_authorization(
                        &mut conn,
                        &orphan.request_id,
                        &from,
                        "voided",
                        None,
                    )
                    .await?
                    {
                        voided += 1;
                    }
                }
                Err(error) => {
                    tracing::warn!(request_id = %orphan.request_id, %error, "void failed; will retry")
                }
            }
        }
        if voided > 0 {
            tracing::info!(voided, "orphaned payment authorizations voided");
        }
        Ok(voided)
    }

    /// The order already placed under this request id, if any.
    async fn replay(
        &self,
        request_id: &RequestId,
        fingerprint: &Fingerprint,
    ) -> Result<Option<Order>, Error> {
        let mut conn = self.pool.acquire().await?;
        replay(&mut conn, request_id, fingerprint).await
    }

    /// Ends this attempt's claim on the request's authorization, so that a retry takes
    /// over at once instead of waiting for the claim to lapse. Best effort, and brief:
    /// the database may be why the attempt failed. Safe even if a concurrent attempt
    /// holds the claim: the processor answers the same request id with the same
    /// authorization, and only one confirmation of a hold can succeed.
    async fn give_up_claim(&self, request_id: &str) {
        let abandon = async {
            let mut conn = self.pool.acquire().await?;
            store::abandon_authorization(&mut conn, request_id).await
        };
        if !matches!(
            tokio::time::timeout(ABANDON_TIMEOUT, abandon).await,
            Ok(Ok(()))
        ) {
            tracing::debug!("could not give the authorization claim up; it will lapse");
        }
    }

    /// How long an attempt's claim on a request's authorization lasts: its payment's
    /// deadline, with margin for the confirmation that follows.
    fn authorization_lease(&self) -> Duration {
        self.payment_timeout + 2 * IN_FLIGHT_MARGIN
    }

    /// Places an order: holds its units (or takes the hold it names), pays with no
    /// transaction open, then confirms. Each step may find the request answered
    /// already, by an earlier or a racing attempt of it: that attempt's order is the
    /// answer. (No span of its own: the call's, `place_order` with its request id,
    /// already names every line it logs.)
    pub async fn place_order(&self, draft: &OrderDraft) -> Result<Order, Error> {
        let fingerprint = draft.fingerprint();
        let mut held = match self.hold_for_order(draft, &fingerprint).await? {
            ControlFlow::Continue(held) => held,
            ControlFlow::Break(order) => return Ok(order),
        };
        // The guard marks this attempt as paying until it ends, confirmation included.
        let (authorization, _paying) = match self.pay(draft, &fingerprint, &mut held).await? {
            ControlFlow::Continue(paid) => paid,
            ControlFlow::Break(order) => return Ok(order),
        };
        self.confirm_or_void(draft, &fingerprint, &held, &authorization)
            .await
    }

    /// Step 1: the units, held already or held now, and checked still payable.
    async fn hold_for_order(
        &self,
        draft: &OrderDraft,
        fingerprint: &Fingerprint,
    ) -> Result<ControlFlow<Order, Held>, Error> {
        // One connection for everything before the payment, none during it: each
        // acquire costs the pool a ping, and a checkout waiting on its processor must
        // not keep a connection others need.
        //
        // A first attempt is the common case, so nothing looks for an earlier order up
        // front: a retry finds its hold taken (by key, or confirmed), or its claim
        // captured, and is answered with its order from there. Only a refusal that
        // could be a retry's (a promotion used up by its own first attempt, say) looks.
        let mut conn = self.pool.acquire().await?;

        // What the payment needs from the database, checked before anything is held:
        // a request refused for bad input changes nothing.
        if let Err(refused) =
            check_payment_prerequisites(&mut conn, &self.known_zips, &draft.payment).await
        {
            return match replay(&mut conn, &draft.request_id, fingerprint).await? {
                Some(order) => Ok(ControlFlow::Break(order)),
                None => Err(refused),
            };
        }

        let held = match &draft.basket {
            Basket::Hold(id) => {
                let (internal, hold) = load_hold(&mut conn, HoldKey::Public(*id)).await?;
                // Claimed on the connection in hand rather than on another one after it
                // (each connection costs a round trip as it goes back to the pool).
                let claimed = match usable(&hold) {
                    Ok(()) => Some(
                        store::claim_authorization(
                            &mut conn,
                            draft.request_id.as_str(),
                            internal,
                            hold.total_cents(),
                            self.authorization_lease(),
                            self.instance,
                        )
                        .await?,
                    ),
                    Err(_) => None,
                };
                Held {
                    internal,
                    hold,
                    made_here: false,
                    claimed,
                }
            }
            Basket::Items(lines) => {
                let own =
                    HoldDraft::for_order(&draft.request_id, lines.clone(), self.checkout_hold);
                match self
                    .hold_with_id(&mut conn, &own, Some(&draft.request_id))
                    .await
                {
                    Ok((internal, hold, claimed)) => Held {
                        internal,
                        hold,
                        made_here: true,
                        claimed,
                    },
                    Err(e) => {
                        // An order placed before holds existed has a hold made by a
                        // migration, with the order's fingerprint rather than a hold's:
                        // its retry is refused here as a reuse, and answered with it.
                        match replay(&mut conn, &draft.request_id, fingerprint).await {
                            Ok(Some(order)) => return Ok(ControlFlow::Break(order)),
                            Err(reused) if !reused.is_retryable() => return Err(reused),
                            _ => {}
                        }
                        drop(conn);
                        // The connection may have died after the hold (and this
                        // attempt's claim) committed: the client cannot know.
                        if e.is_retryable() {
                            self.give_up_claim(draft.request_id.as_str()).await;
                        }
                        return Err(e);
                    }
                }
            }
        };
        drop(conn);
        if let Err(refused) = usable(&held.hold) {
            // Confirmed by a racing attempt of this very request: that is its order.
            if held.hold.status == HoldStatus::Confirmed
                && let Some(order) = self.replay(&draft.request_id, fingerprint).await?
            {
                return Ok(ControlFlow::Break(order));
            }
            return Err(refused);
        }
        Ok(ControlFlow::Continue(held))
    }

    /// Step 2: authorizes the hold's total, with no transaction open. A retry racing
    /// the attempt that is authorizing waits for its outcome rather than paying a
    /// second time. Returns the authorization with the guard that marks this attempt
    /// as paying.
    async fn pay(
        &self,
        draft: &OrderDraft,
        fingerprint: &Fingerprint,
        held: &mut Held,
    ) -> Result<ControlFlow<Order, (Authorization, Authorizing)>, Error> {
        let rid = draft.request_id.as_str();
        let total = held.hold.total_cents();
        let deadline = tokio::time::Instant::now() + self.payment_timeout + IN_FLIGHT_MARGIN;
        loop {
            let claim = match held.claimed.take() {
                Some(claim) => claim,
                None => {
                    let mut conn = self.pool.acquire().await?;
                    store::claim_authorization(
                        &mut conn,
                        rid,
                        held.internal,
                        total,
                        self.authorization_lease(),
                        self.instance,
                    )
                    .await?
                }
            };
            match claim {
                AuthorizationClaim::Mine => {
                    let paying = self.authorizing(rid);
                    let authorization = self
                        .authorize(draft, total, held.made_here, held.internal)
                        .await?;
                    return Ok(ControlFlow::Continue((authorization, paying)));
                }
                // Our own process's claim, with no attempt of ours running: the attempt
                // that made it died with its call (the database went away under it).
                // Take over now rather than wait for the claim to lapse; the processor
                // answers the same request id with the same authorization.
                AuthorizationClaim::InFlight {
                    claimed_by: Some(owner),
                } if owner == self.instance && !self.is_authorizing(rid) => {
                    let mut conn = self.pool.acquire().await?;
                    if store::take_over_authorization(&mut conn, rid, self.instance).await? {
                        tracing::info!("taking over the payment of an attempt that died");
                        held.claimed = Some(AuthorizationClaim::Mine);
                    }
                }
                AuthorizationClaim::Captured => {
                    return self
                        .replay(&draft.request_id, fingerprint)
                        .await?
                        .map(ControlFlow::Break)
                        .ok_or_else(|| Error::unexpected("a captured payment has no order"));
                }
                AuthorizationClaim::InFlight { .. } if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(IN_FLIGHT_POLL).await;
                    if let Some(order) = self.replay(&draft.request_id, fingerprint).await? {
                        return Ok(ControlFlow::Break(order));
                    }
                }
                AuthorizationClaim::InFlight { .. } => {
                    return Err(Error::Unavailable(
                        "this request is already being processed; retry in a moment".into(),
                    ));
                }
            }
        }
    }

    /// Step 3: the hold becomes the order; or, when it cannot, the authorization is
    /// voided and the customer told why.
    async fn confirm_or_void(
        &self,
        draft: &OrderDraft,
        fingerprint: &Fingerprint,
        held: &Held,
        authorization: &Authorization,
    ) -> Result<Order, Error> {
        let (rid, hold) = (draft.request_id.as_str(), &held.hold);
        match self
            .confirm(draft, fingerprint, held.internal, hold, authorization)
            .await
        {
            Ok(order) => Ok(order),
            Err(NotConfirmed::HoldGone) => {
                // A concurrent retry of this very request may have confirmed it.
                if let Some(order) = self.replay(&draft.request_id, fingerprint).await? {
                    return Ok(order);
                }
                self.void(rid, Some(&authorization.code)).await?;
                // Another request paid for it meanwhile (a second click on "Pay"):
                // say so, rather than send the customer to hold seats they own.
                let (_, now) = self.load_hold(HoldKey::Internal(held.internal)).await?;
                if now.status == HoldStatus::Confirmed {
                    return Err(already_paid(&now));
                }
                Err(Error::refused(
                    Reason::HoldExpired,
                    format!(
                        "hold {} expired or was released before the payment completed; \
                         nothing was charged: hold the seats again",
                        hold.id
                    ),
                ))
            }
            Err(NotConfirmed::PromotionRefused) => {
                self.void(rid, Some(&authorization.code)).await?;
                if held.made_here {
                    self.release(hold.id).await?;
                }
                let code = match &draft.payment {
                    PaymentMethod::Promotion(code) => code.as_str().to_owned(),
                    _ => String::new(),
                };
                Err(promotion_refused(&code, PromotionRefused::UsedUp))
            }
            // The authorization stays granted: a retry confirms it, or, once the hold
            // expires, the sweeper voids it. This attempt is over, so a retry may take
            // it over now rather than when its claim lapses (best effort, briefly: the
            // database may be the reason this failed).
            Err(NotConfirmed::Failed(e)) => {
                self.give_up_claim(rid).await;
                Err(e)
            }
        }
    }

    /// Asks the processor, records its answer, and handles a refusal.
    async fn authorize(
        &self,
        draft: &OrderDraft,
        total: i64,
        made_here: bool,
        hold: i64,
    ) -> Result<Authorization, Error> {
        let rid = draft.request_id.as_str();
        let answer = tokio::time::timeout(
            self.payment_timeout,
            self.processor.authorize(rid, &draft.payment, total),
        )
        .await
        .unwrap_or_else(|_| {
            Err(PaymentError::Unavailable(
                "the payment processor did not answer in time; retry".into(),
            ))
        });
        match answer {
            // Recorded with the capture, in the confirm transaction: if this process
            // dies first, the row stays `pending` and is voided by request id once the
            // hold has expired (a processor keys authorizations by that id too).
            Ok(authorization) => Ok(authorization),
            Err(PaymentError::Declined(reason)) => {
                tracing::info!(%reason, "payment declined");
                let mut conn = self.pool.acquire().await?;
                store::set_authorization(&mut conn, rid, &["pending"], "declined", None).await?;
                drop(conn);
                // A hold the customer made keeps their seats for another card; one made
                // by this request alone goes back on sale at once.
                if made_here {
                    self.release_internal(hold).await?;
                }
                self.record_decline(draft, total, &reason).await?;
                Err(Error::refused(
                    Reason::PaymentDeclined,
                    format!("payment declined: {reason}"),
                ))
            }
            Err(PaymentError::Unavailable(reason)) => {
                tracing::warn!(%reason, "payment processor unavailable");
                self.void(rid, None).await?;
                Err(Error::Unavailable(reason))
            }
        }
    }

    async fn release_internal(&self, hold: i64) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        if let Some(changes) = store::end_hold(&mut tx, hold, HoldStatus::Released).await? {
            enqueue_availability_events(&mut tx, &changes).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Voids at the processor, then records it. A failed void is left to the sweeper.
    async fn void(&self, request_id: &str, code: Option<&str>) -> Result<(), Error> {
        match self.processor.void(request_id, code).await {
            Ok(()) => {
                let mut conn = self.pool.acquire().await?;
                let from = ["pending", "authorized"];
                store::set_authorization(&mut conn, request_id, &from, "voided", None).await?;
            }
            Err(error) => tracing::warn!(%error, "void failed; the sweeper will retry"),
        }
        Ok(())
    }

    /// The one statement (in a short transaction where it needs one) that turns the
    /// hold into the order.
    async fn confirm(
        &self,
        draft: &OrderDraft,
        fingerprint: &Fingerprint,
        internal: i64,
        hold: &Hold,
        authorization: &Authorization,
    ) -> Result<Order, NotConfirmed> {
        let confirmation = Confirmation::generate(&mut rand::rng());
        // Queued with the order, sent later: the order never waits for a gateway.
        let text = match (self.texts, &draft.phone) {
            (true, Some(phone)) => {
                Some(Message::text(phone, texts::order_confirmed(&confirmation, hold)).row())
            }
            _ => None,
        };
        let mut conn = self.pool.acquire().await?;
        let products: Vec<i64> = hold.lines.iter().map(|l| l.product_id.get()).collect();
        // A promotion used up meanwhile leaves the hold confirmed: that needs rolling back.
        let alone = products.len() == 1 && !matches!(draft.payment, PaymentMethod::Promotion(_));
        let inserted = all_or_nothing(
            &mut conn,
            &products,
            alone,
            async |conn| {
                store::insert_confirmed_order(
                    conn,
                    &confirmation,
                    &draft.request_id,
                    fingerprint,
                    draft.phone.as_ref(),
                    &draft.payment,
                    authorization,
                    internal,
                    text.as_ref(),
                )
                .await
            },
            |inserted| matches!(inserted, ConfirmInsert::Placed { .. }),
        )
        .await?;
        let created_at = match inserted {
            ConfirmInsert::Placed { created_at, .. } => created_at,
            ConfirmInsert::HoldGone => return Err(NotConfirmed::HoldGone),
            ConfirmInsert::PromotionRefused => return Err(NotConfirmed::PromotionRefused),
            // One code in 2^50 is taken, and nothing was written: the authorization
            // stays granted and a retry confirms under a new code.
            ConfirmInsert::CodeTaken => {
                return Err(NotConfirmed::Failed(Error::Unavailable(
                    "confirmation code collision; retry".into(),
                )));
            }
        };
        // Built from what the statement wrote, not read back.
        let order = Order {
            confirmation,
            status: OrderStatus::Placed,
            lines: hold.lines.clone(),
            payment: PaymentSummary::of(&draft.payment),
            created_at,
            cancelled_at: None,
            cancelled_by_provider: false,
            admitted: None,
            phone: draft.phone.clone(),
        };
        tracing::info!(
            confirmation = %order.confirmation,
            total_cents = order.total_cents(),
            "order placed"
        );
        Ok(order)
    }

    async fn record_decline(
        &self,
        draft: &OrderDraft,
        total: i64,
        reason: &str,
    ) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        store::record_declined_checkout(
            &mut tx,
            &draft.request_id,
            draft.phone.as_ref(),
            total,
            reason,
        )
        .await?;
        if let (true, Some(phone)) = (self.texts, &draft.phone) {
            let text = Message::text(phone, texts::checkout_declined(total, reason));
            outbox::enqueue(&mut tx, &text).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Cancels an order: returns its stock and its promotion use, refunds what the
    /// processor took, and tells providers about products that are available again.
    /// Cancelling twice returns the same cancelled order, and refunds once.
    #[tracing::instrument(skip_all, fields(confirmation = %code))]
    pub async fn cancel_order(
        &self,
        code: &Confirmation,
        request_id: &RequestId,
    ) -> Result<Order, Error> {
        self.cancel(code, Canceller::Customer(request_id)).await
    }

    /// Withdraws a product its provider no longer offers (a cancelled showing): its
    /// sales end, its active holds are released, and each order of it is cancelled and
    /// refunded. Each step is its own short transaction and finds what is left to do,
    /// so a call that died part-way is finished by the next (the provider retries).
    #[tracing::instrument(skip_all, fields(product_id = %product))]
    pub async fn withdraw_product(&self, product: ProductId) -> Result<Withdrawal, Error> {
        let withdrawn_at = {
            let mut conn = self.pool.acquire().await?;
            store::withdraw_product(&mut conn, product)
                .await?
                .ok_or_else(|| {
                    Error::not_found("product", product, format!("no product {product}"))
                })?
        };
        // From here no hold of it can be made. A checkout paying for one of these
        // holds either confirmed it first (its order is cancelled below) or finds it
        // released, and voids its payment.
        let holds = {
            let mut conn = self.pool.acquire().await?;
            store::active_holds_of(&mut conn, product).await?
        };
        for hold in holds {
            let mut tx = self.pool.begin().await?;
            if let Some(changes) = store::end_hold(&mut tx, hold, HoldStatus::Released).await? {
                enqueue_availability_events(&mut tx, &changes).await?;
            }
            tx.commit().await?;
        }
        let standing = {
            let mut conn = self.pool.acquire().await?;
            store::standing_orders_of(&mut conn, product).await?
        };
        for code in &standing {
            self.cancel(code, Canceller::Provider(product)).await?;
        }
        let mut conn = self.pool.acquire().await?;
        let orders_cancelled = store::withdrawn_orders_of(&mut conn, product).await?;
        tracing::info!(orders_cancelled, "product withdrawn");
        Ok(Withdrawal {
            withdrawn_at,
            orders_cancelled,
        })
    }

    async fn cancel(&self, code: &Confirmation, by: Canceller<'_>) -> Result<Order, Error> {
        let mut tx = self.pool.begin().await?;
        let order = store::lock_order(&mut tx, code).await?.ok_or_else(|| {
            Error::not_found("order", code, format!("no order with confirmation {code}"))
        })?;
        let by_provider = matches!(by, Canceller::Provider(_));
        if let (false, Some(at), false) = (order.cancelled, order.admitted_at, by_provider) {
            return Err(Error::refused(
                Reason::AlreadyAdmitted,
                format!("order {code} was used at the door at {at}: it can no longer be cancelled"),
            ));
        }
        if !order.cancelled {
            let ids: Vec<_> = order.lines.iter().map(|(id, _)| *id).collect();
            // Same lock order as checkout: ascending product id.
            let products = store::lock_products(&mut tx, &ids).await?;
            // Once a showtime has started its tickets are spent: nothing to refund. A
            // withdrawn one was never given: everything is.
            if let (Some(ended), false) = (products.iter().find(|p| p.sales_ended), by_provider) {
                return Err(Error::refused(
                    Reason::SalesEnded,
                    format!(
                        "order {code} can no longer be cancelled: the sales of product {} have ended",
                        ended.id
                    ),
                ));
            }
            let mut changes = store::change_stock(&mut tx, &order.lines).await?;
            // A withdrawn product is not available again, whatever its count says: its
            // provider hears only of the order's other products.
            if let Canceller::Provider(withdrawn) = by {
                changes.retain(|change| change.product != withdrawn);
            }
            enqueue_availability_events(&mut tx, &changes).await?;
            if let Some(promotion) = &order.promotion {
                store::restore_promotion(&mut tx, promotion).await?;
            }
            // The money goes back as durably as the seats: the refund is written with
            // the cancellation and given by the dispatcher, whenever the processor
            // answers.
            if let Some(taken) = order.taken.clone() {
                outbox::enqueue(&mut tx, &Message::Refund(taken)).await?;
            }
            if let (true, Some(phone)) = (self.texts, order.phone.clone()) {
                let refund = order.taken.as_ref().map(|taken| taken.amount_cents);
                let body = match by {
                    Canceller::Customer(_) => texts::order_cancelled(code, refund),
                    Canceller::Provider(_) => {
                        // What was called off, in the provider's words.
                        let shown = store::load_order(&mut tx, OrderKey::Id(order.id)).await?;
                        let lines = shown.map(|o| o.lines).unwrap_or_default();
                        texts::order_withdrawn(code, &lines, refund)
                    }
                };
                outbox::enqueue(&mut tx, &Message::Text(Text { phone, body })).await?;
            }
            let request_id = match by {
                Canceller::Customer(request_id) => Some(request_id),
                Canceller::Provider(_) => None,
            };
            store::mark_cancelled(&mut tx, order.id, request_id, by_provider).await?;
            tracing::info!(confirmation = %code, by_provider, "order cancelled");
        }
        let cancelled = store::load_order(&mut tx, OrderKey::Id(order.id))
            .await?
            .ok_or_else(|| Error::unexpected(format!("order {} vanished", order.id)))?;
        tx.commit().await?;
        Ok(cancelled)
    }
}

/// Who cancels an order.
#[derive(Debug, Clone, Copy)]
enum Canceller<'a> {
    /// Its customer, under this request id: refused once its holder was let in or
    /// its showtime has started.
    Customer(&'a RequestId),
    /// Its provider, by withdrawing this product of it: always.
    Provider(ProductId),
}

/// What withdrawing a product did, over every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    pub withdrawn_at: DateTime<Utc>,
    pub orders_cancelled: i64,
}

/// Runs `statement`, which changes `products`' stock. With `alone` (the caller knows
/// that this one statement writes everything or nothing by itself, as it does over one
/// product row) it commits on its own: two round trips fewer. Otherwise it runs in a
/// transaction, after locking the products in a fixed order (two baskets naming them in
/// different orders can never deadlock), which commits only if `keep` accepts the
/// outcome.
async fn all_or_nothing<T>(
    conn: &mut PgConnection,
    products: &[i64],
    alone: bool,
    statement: impl AsyncFnOnce(&mut PgConnection) -> Result<T, Error>,
    keep: impl FnOnce(&T) -> bool,
) -> Result<T, Error> {
    if alone {
        return statement(conn).await;
    }
    let mut tx = conn.begin().await?;
    store::lock_in_order(&mut tx, products).await?;
    let outcome = statement(&mut tx).await?;
    if keep(&outcome) {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(outcome)
}

/// HOLD_CONFIRMED, naming the order, for a payment of a hold that another request
/// has paid for.
fn already_paid(hold: &Hold) -> Error {
    Error::refused(
        Reason::HoldConfirmed,
        format!(
            "hold {} is already paid for: order {}; nothing more was charged",
            hold.id,
            hold.order.as_ref().map_or("?", Confirmation::as_str)
        ),
    )
}

/// Refuses a hold that can no longer be paid for, saying why.
fn usable(hold: &Hold) -> Result<(), Error> {
    if hold.is_usable(Utc::now()) {
        return Ok(());
    }
    Err(match hold.status {
        HoldStatus::Confirmed => already_paid(hold),
        HoldStatus::Released => Error::refused(
            Reason::HoldExpired,
            format!("hold {} was released: hold the seats again", hold.id),
        ),
        HoldStatus::Active | HoldStatus::Expired => Error::refused(
            Reason::HoldExpired,
            format!("hold {} has expired: hold the seats again", hold.id),
        ),
    })
}

/// Writes an outbox event for every product of a provider that this transaction sold
/// out or brought back into stock.
async fn enqueue_availability_events(
    conn: &mut sqlx::PgConnection,
    changes: &[StockChange],
) -> Result<(), Error> {
    for message in changes.iter().filter_map(Message::for_stock_change) {
        outbox::enqueue(conn, &message).await?;
    }
    Ok(())
}

/// The hold this draft's request already made, if any (see `idempotency`).
async fn existing_hold(
    conn: &mut PgConnection,
    draft: &HoldDraft,
    fingerprint: &Fingerprint,
) -> Result<Option<(i64, Hold)>, Error> {
    let on_record = store::find_hold_by_key(&mut *conn, &draft.key).await?;
    let Some(id) = idempotency::replay(&draft.request_id, on_record, fingerprint)? else {
        return Ok(None);
    };
    load_hold(conn, HoldKey::Internal(id)).await.map(Some)
}

async fn load_hold(conn: &mut PgConnection, key: HoldKey) -> Result<(i64, Hold), Error> {
    match store::load_hold(conn, key).await? {
        Some(found) => Ok(found),
        None => match key {
            HoldKey::Public(id) => Err(no_hold(id)),
            HoldKey::Internal(id) => Err(Error::unexpected(format!("hold {id} vanished"))),
        },
    }
}

/// The NOT_FOUND, SALES_ENDED or RESOURCE_EXHAUSTED that explains why a hold could not
/// be made.
async fn why_short(conn: &mut PgConnection, draft: &HoldDraft) -> Result<Error, Error> {
    let ids: Vec<_> = draft.lines.iter().map(|l| l.product_id).collect();
    let on_sale = store::on_sale(conn, &ids).await?;
    let missing: Vec<String> = on_sale
        .iter()
        .filter(|(_, s)| *s == OnSale::NoSuchProduct)
        .map(|(id, _)| id.to_string())
        .collect();
    if !missing.is_empty() {
        return Ok(Error::not_found(
            "product",
            &missing[0],
            format!("unknown product id(s): {}", missing.join(", ")),
        ));
    }
    if let Some((ended, _)) = on_sale.iter().find(|(_, s)| *s == OnSale::Ended) {
        return Ok(Error::refused(
            Reason::SalesEnded,
            format!("product {ended} is no longer on sale: its sales have ended"),
        ));
    }
    for line in draft.lines.iter() {
        let left = on_sale
            .iter()
            .find_map(|(id, s)| match s {
                OnSale::Available(left) if *id == line.product_id => Some(*left),
                _ => None,
            })
            .unwrap_or(0);
        if left < line.quantity {
            return Ok(Error::out_of_stock(
                line.product_id,
                format!(
                    "product {} has {left} left; {} requested",
                    line.product_id, line.quantity
                ),
            ));
        }
    }
    // Someone else's cancellation or expiry freed units in between: a retry can win.
    Ok(Error::Unavailable(
        "availability changed while holding; retry".into(),
    ))
}

/// The order already placed under this request id, if any.
async fn replay(
    conn: &mut PgConnection,
    request_id: &RequestId,
    fingerprint: &Fingerprint,
) -> Result<Option<Order>, Error> {
    let on_record = store::find_by_request_id(&mut *conn, request_id).await?;
    let Some(order_id) = idempotency::replay(request_id, on_record, fingerprint)? else {
        return Ok(None);
    };
    tracing::info!("replaying the order already placed for this request id");
    store::load_order(&mut *conn, OrderKey::Id(order_id))
        .await?
        .map(Some)
        .ok_or_else(|| Error::unexpected(format!("order {order_id} vanished")))
}

/// What the payment needs from the database, checked before asking the processor.
async fn check_payment_prerequisites(
    conn: &mut PgConnection,
    known_zips: &KnownZips,
    payment: &PaymentMethod,
) -> Result<(), Error> {
    match payment {
        PaymentMethod::CreditCard(card) => {
            let zip = &card.billing_address.zip;
            if !known_zips.contains(zip) && !known_zips.look_up(&mut *conn, zip).await? {
                return Err(crate::domain::ValidationError::of(
                    "payment.credit_card.billing_address.zip_code",
                    format!(
                        "billing ZIP code {} is not a known US ZIP code",
                        zip.as_str()
                    ),
                )
                .into());
            }
        }
        PaymentMethod::Promotion(code) => {
            if let Err(why) = store::check_promotion(&mut *conn, code).await? {
                return Err(promotion_refused(code.as_str(), why));
            }
        }
        PaymentMethod::PayPal(_) => {}
    }
    Ok(())
}
