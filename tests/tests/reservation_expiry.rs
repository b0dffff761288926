//! Stock held by reservations nobody finished with comes back: a reservation expires at the
//! end of its lifetime (shown with a controlled clock, on both stores), and one answered
//! after its checkout had already failed is released at once.

use std::sync::Arc;

use application::checkout::{CheckoutSaga, Participants, SagaSettings};
use application::checkout_participants::InventoryReservations;
use application::expiry::ReservationExpiry;
use application::saga::SagaDefinition;
use async_trait::async_trait;
use checkout::ports::{
    AuthorizationOutcome, CartLocks, OrderPlacement, OrderRequest, PaymentAuthorizations,
    PlacementOutcome, PromotionRedemptions, RedemptionOutcome, ReservationOutcome, Settled,
    StepError, StockReservations,
};
use checkout::{Checkout, CheckoutCommand, CheckoutLine, CheckoutStatus};
use chrono::{Duration, TimeZone, Utc};
use cqrs_es::persist::PersistedEventRepository;
use inventory::{StockCommand, StockItem};
use runtime::{CommandExecutor, CommandMetadata, Deadlines, EventSourcedExecutor};
use shared_kernel::{
    AddressData, CartId, CheckoutId, Clock, Currency, EmailAddress, FixedClock, Money,
    PostalAddress, ProductId, Quantity, ReservationId, Sku,
};
use uuid::Uuid;

fn sku(raw: &str) -> Sku {
    Sku::parse(raw).unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn meta() -> CommandMetadata {
    CommandMetadata::new("test")
}

async fn receive(inventory: &dyn CommandExecutor<StockItem>, raw: &str, units: u32) {
    let command = StockCommand::ReceiveStock {
        sku: sku(raw),
        quantity: qty(units),
        reference: None,
    };
    inventory
        .execute(raw, command, None, &meta())
        .await
        .unwrap();
}

async fn available(inventory: &dyn CommandExecutor<StockItem>, raw: &str) -> u64 {
    inventory.load(raw).await.unwrap().aggregate.available()
}

async fn expires_with_a_controlled_clock<R>(
    repository: impl Fn() -> R,
    deadlines: Arc<dyn Deadlines>,
) where
    R: PersistedEventRepository + 'static,
{
    let clock = Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
    ));
    let inventory: Arc<dyn CommandExecutor<StockItem>> =
        Arc::new(EventSourcedExecutor::new(repository(), ()));
    receive(inventory.as_ref(), "EXP-1", 5).await;
    let reservations = InventoryReservations {
        inventory: inventory.clone(),
        clock: clock.clone(),
        lifetime: Duration::minutes(15),
        deadlines: deadlines.clone(),
    };
    let expiry = ReservationExpiry {
        inventory: inventory.clone(),
        deadlines,
        clock: clock.clone(),
    };
    let held = ReservationId::from_uuid(Uuid::from_u128(1));
    let outcome = reservations
        .reserve(&sku("EXP-1"), held, qty(2))
        .await
        .unwrap();
    assert_eq!(outcome, ReservationOutcome::Reserved);
    assert_eq!(available(inventory.as_ref(), "EXP-1").await, 3);

    clock.advance(Duration::minutes(15) - Duration::seconds(1));
    assert_eq!(expiry.run_once().await.unwrap(), 0, "not yet due");
    assert_eq!(available(inventory.as_ref(), "EXP-1").await, 3);

    clock.advance(Duration::seconds(1));
    assert_eq!(expiry.run_once().await.unwrap(), 1);
    let item = inventory.load("EXP-1").await.unwrap().aggregate;
    assert_eq!(item.available(), 5);
    assert_eq!(
        item.reservation(held).unwrap().status(),
        inventory::ReservationStatus::Expired
    );
    assert_eq!(
        expiry.run_once().await.unwrap(),
        0,
        "each deadline is handled once"
    );
}

#[tokio::test]
async fn a_reservation_nobody_finished_with_expires_at_its_deadline_on_sqlite() {
    let store = acceptance::support::fresh_sqlite().await;
    let repositories = store.clone();
    expires_with_a_controlled_clock(move || repositories.event_repository(), Arc::new(store)).await;
}

#[tokio::test]
async fn a_reservation_nobody_finished_with_expires_at_its_deadline_on_postgres() {
    let store = acceptance::support::fresh_postgres().await;
    let repositories = store.clone();
    expires_with_a_controlled_clock(move || repositories.event_repository(), Arc::new(store)).await;
}

/// The participants a released reservation never reaches.
struct Unused;

fn unused() -> StepError {
    StepError::Unavailable("not part of this test".to_owned())
}

#[async_trait]
impl PaymentAuthorizations for Unused {
    async fn authorize(
        &self,
        _: shared_kernel::PaymentId,
        _: Money,
    ) -> Result<AuthorizationOutcome, StepError> {
        Err(unused())
    }
    async fn forget_payment_method(&self, _: shared_kernel::PaymentId) -> Result<(), StepError> {
        Err(unused())
    }
    async fn reconcile(
        &self,
        _: shared_kernel::PaymentId,
    ) -> Result<AuthorizationOutcome, StepError> {
        Err(unused())
    }
    async fn capture(&self, _: shared_kernel::PaymentId) -> Result<Settled, StepError> {
        Err(unused())
    }
    async fn void(&self, _: shared_kernel::PaymentId) -> Result<(), StepError> {
        Err(unused())
    }
}

#[async_trait]
impl OrderPlacement for Unused {
    async fn place(&self, _: OrderRequest) -> Result<PlacementOutcome, StepError> {
        Err(unused())
    }
    async fn mark_paid(
        &self,
        _: shared_kernel::OrderId,
        _: shared_kernel::PaymentId,
        _: Money,
    ) -> Result<Settled, StepError> {
        Err(unused())
    }
}

#[async_trait]
impl CartLocks for Unused {
    async fn check_out(&self, _: CartId, _: CheckoutId) -> Result<Settled, StepError> {
        Err(unused())
    }
    async fn release(&self, _: CartId, _: CheckoutId) -> Result<(), StepError> {
        Err(unused())
    }
}

#[async_trait]
impl PromotionRedemptions for Unused {
    async fn redeem(
        &self,
        _: &str,
        _: CheckoutId,
        _: Option<shared_kernel::CustomerId>,
        _: Money,
        _: chrono::DateTime<Utc>,
    ) -> Result<RedemptionOutcome, StepError> {
        Err(unused())
    }
    async fn confirm(&self, _: &str, _: CheckoutId) -> Result<Settled, StepError> {
        Err(unused())
    }
    async fn release(&self, _: &str, _: CheckoutId) -> Result<(), StepError> {
        Err(unused())
    }
}

#[tokio::test]
async fn a_reservation_answered_after_its_checkout_failed_is_released_at_once() {
    let store = acceptance::support::fresh_sqlite().await;
    let clock: Arc<dyn Clock> = Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
    ));
    let inventory: Arc<dyn CommandExecutor<StockItem>> =
        Arc::new(EventSourcedExecutor::new(store.event_repository(), ()));
    let checkouts: Arc<dyn CommandExecutor<Checkout>> =
        Arc::new(EventSourcedExecutor::new(store.event_repository(), ()));
    receive(inventory.as_ref(), "LATE-A", 1).await;
    receive(inventory.as_ref(), "LATE-B", 4).await;
    let reservations = Arc::new(InventoryReservations {
        inventory: inventory.clone(),
        clock: clock.clone(),
        lifetime: Duration::minutes(15),
        deadlines: Arc::new(store.clone()),
    });
    let saga = CheckoutSaga::new(
        Participants {
            stock: reservations.clone(),
            payments: Arc::new(Unused),
            orders: Arc::new(Unused),
            carts: Arc::new(Unused),
            promotions: Arc::new(Unused),
        },
        Arc::new(store.clone()),
        clock.clone(),
        SagaSettings::default(),
    );

    // A checkout of two lines fails on the first and is compensated to the end.
    let id = CheckoutId::from_uuid(Uuid::from_u128(0xC0));
    let line = |raw: &str, n: u32| CheckoutLine {
        sku: sku(raw),
        product_id: ProductId::from_uuid(Uuid::from_u128(1)),
        title: raw.to_owned(),
        quantity: qty(n),
        unit_price: Money::parse("5.00", "EUR").unwrap(),
    };
    let key = id.to_string();
    let record = |command: CheckoutCommand| {
        let checkouts = checkouts.clone();
        let key = key.clone();
        async move {
            checkouts
                .execute(&key, command, None, &meta())
                .await
                .unwrap()
                .state
        }
    };
    record(CheckoutCommand::StartCheckout {
        checkout_id: id,
        cart_id: CartId::from_uuid(Uuid::from_u128(0xCA)),
        customer_id: None,
        email: EmailAddress::parse("late@example.com").unwrap(),
        shipping: PostalAddress::new(AddressData {
            name: "L. Ate".into(),
            line1: "1 Main St".into(),
            city: "Berlin".into(),
            postal_code: "10115".into(),
            country: "DE".into(),
            ..AddressData::default()
        })
        .unwrap(),
        currency: Currency::EUR,
        lines: vec![line("LATE-A", 2), line("LATE-B", 3)],
        started_at: clock.now(),
        promotion: None,
        shipping_method: None,
        tax: None,
    })
    .await;
    record(CheckoutCommand::RecordStockUnavailable { sku: sku("LATE-A") }).await;
    record(CheckoutCommand::RecordStockReleased { sku: sku("LATE-A") }).await;
    record(CheckoutCommand::RecordStockReleased { sku: sku("LATE-B") }).await;
    let failed = record(CheckoutCommand::RecordCartReleased).await;
    assert_eq!(failed.status(), Some(CheckoutStatus::Failed));

    // Only now does inventory answer the second line's reservation, which the checkout no
    // longer needs: recording it changes nothing, and the saga releases it at once.
    let late = checkout::reservation_id(id, &sku("LATE-B"));
    let outcome = reservations
        .reserve(&sku("LATE-B"), late, qty(3))
        .await
        .unwrap();
    assert_eq!(outcome, ReservationOutcome::Reserved);
    assert_eq!(available(inventory.as_ref(), "LATE-B").await, 1);
    let command = CheckoutCommand::RecordStockReserved { sku: sku("LATE-B") };
    let after = record(command.clone()).await;
    assert_eq!(after.status(), Some(CheckoutStatus::Failed));
    saga.recorded(id, &command, &after).await.unwrap();
    assert_eq!(available(inventory.as_ref(), "LATE-B").await, 4);
    let item = inventory.load("LATE-B").await.unwrap().aggregate;
    assert_eq!(
        item.reservation(late).unwrap().status(),
        inventory::ReservationStatus::Released
    );
}
