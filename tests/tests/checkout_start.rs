//! Starting a checkout as a use case with a controlled clock: a cart lock whose checkout was
//! never recorded (the process died between the two appends) blocks other checkouts until it
//! is old enough, then is taken over; a repeated start of the same checkout finds it.

use std::sync::Arc;

use application::checkout_start::{
    CheckoutStarter, StartCheckout, StartCheckoutError, ORPHANED_LOCK_GRACE,
};
use async_trait::async_trait;
use carts::ports::{PriceList, PriceLookupError, PricedSku};
use carts::{Cart, CartCommand, CartError, CartServices, CartStatus};
use checkout::Checkout;
use chrono::{Duration, TimeZone, Utc};
use payments::{InMemoryPaymentMethodTokens, PaymentMethodTokens};
use runtime::{CommandExecutor, CommandMetadata, EventSourcedExecutor};
use shared_kernel::{
    AddressData, CartId, CheckoutId, Clock, Currency, EmailAddress, FixedClock, Money,
    PostalAddress, ProductId,
};
use uuid::Uuid;

/// Every SKU costs 5.00 EUR.
struct FlatPrices;

#[async_trait]
impl PriceList for FlatPrices {
    async fn price(&self, sku: &str, _: Currency) -> Result<PricedSku, PriceLookupError> {
        Ok(PricedSku {
            product_id: ProductId::from_uuid(Uuid::from_u128(1)),
            sku: sku.to_owned(),
            title: sku.to_owned(),
            unit_price: Money::parse("5.00", "EUR").unwrap(),
            weight: None,
            tax_class: None,
        })
    }
}

fn meta() -> CommandMetadata {
    CommandMetadata::new("test")
}

fn request(cart_id: CartId, checkout: u128) -> StartCheckout {
    StartCheckout {
        cart_id,
        checkout_id: CheckoutId::from_uuid(Uuid::from_u128(checkout)),
        email: EmailAddress::parse("ada@example.com").unwrap(),
        shipping: Some(
            PostalAddress::new(AddressData {
                name: "Ada Lovelace".into(),
                line1: "1 Analytical Way".into(),
                city: "London".into(),
                postal_code: "N1 9GU".into(),
                country: "GB".into(),
                ..AddressData::default()
            })
            .unwrap(),
        ),
        payment_method_token: " tok_visa ".into(),
    }
}

#[tokio::test]
async fn an_orphaned_cart_lock_is_taken_over_only_once_it_is_old_enough() {
    let store = acceptance::support::fresh_sqlite().await;
    let clock = Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap(),
    ));
    let carts: Arc<dyn CommandExecutor<Cart>> = Arc::new(EventSourcedExecutor::new(
        store.event_repository(),
        CartServices {
            prices: Arc::new(FlatPrices),
        },
    ));
    let checkouts: Arc<dyn CommandExecutor<Checkout>> =
        Arc::new(EventSourcedExecutor::new(store.event_repository(), ()));
    let tokens = Arc::new(InMemoryPaymentMethodTokens::default());
    let starter = CheckoutStarter {
        carts: carts.clone(),
        checkouts: checkouts.clone(),
        tokens: tokens.clone(),
        clock: clock.clone(),
        totals: Arc::new(application::cart_totals::CartTotals {
            promotions: Arc::new(application::cart_promotions::CartPromotions {
                promotions: Arc::new(EventSourcedExecutor::new(store.event_repository(), ())),
                carts: carts.clone(),
                clock: clock.clone(),
            }),
            shipping: Arc::new(application::cart_shipping::CartShipping {
                carts: carts.clone(),
                zones: Arc::new(application::shipping::ShippingZones::new(
                    Arc::new(EventSourcedExecutor::new(store.event_repository(), ())),
                    Arc::new(store.clone()),
                    Arc::new(store.clone()),
                )),
            }),
            tax: None,
        }),
    };
    let cart_id = CartId::from_uuid(Uuid::from_u128(0xCA));
    let key = cart_id.to_string();
    carts
        .execute(
            &key,
            CartCommand::CreateCart {
                cart_id,
                currency: Currency::EUR,
                customer_id: None,
            },
            None,
            &meta(),
        )
        .await
        .unwrap();
    carts
        .execute(
            &key,
            CartCommand::AddItem {
                sku: "LAMP".into(),
                quantity: 2,
            },
            None,
            &meta(),
        )
        .await
        .unwrap();
    // A checkout locked the cart and died before it was recorded.
    let orphan = Uuid::from_u128(0xDEAD);
    carts
        .execute(
            &key,
            CartCommand::BeginCheckout {
                checkout_id: orphan,
                at: clock.now(),
            },
            None,
            &meta(),
        )
        .await
        .unwrap();

    clock.advance(ORPHANED_LOCK_GRACE);
    let refused = starter.start(request(cart_id, 1), &meta()).await;
    assert!(
        matches!(
            refused,
            Err(StartCheckoutError::Cart(CartError::CheckoutInProgress { checkout_id }))
                if checkout_id == orphan
        ),
        "{refused:?}"
    );

    clock.advance(Duration::seconds(1));
    let started = starter.start(request(cart_id, 1), &meta()).await.unwrap();
    assert_eq!(started.version, 1);
    assert_eq!(
        started.state.total(),
        Some(Money::parse("10.00", "EUR").unwrap())
    );
    let cart = carts.load(&key).await.unwrap().aggregate;
    assert_eq!(cart.status(), Some(CartStatus::CheckingOut));
    assert_eq!(
        cart.checkout_in_progress(),
        Some(Uuid::from_u128(1)),
        "the new checkout holds the lock"
    );
    let token = tokens
        .token(checkout::payment_id(CheckoutId::from_uuid(
            Uuid::from_u128(1),
        )))
        .await
        .unwrap();
    assert_eq!(token.as_deref(), Some("tok_visa"));

    // The same checkout started again finds itself, not a lock in its way.
    let again = starter.start(request(cart_id, 1), &meta()).await.unwrap();
    assert_eq!(again.version, 1);
    // Another one waits: this lock's checkout exists.
    clock.advance(ORPHANED_LOCK_GRACE * 2);
    let other = starter.start(request(cart_id, 2), &meta()).await;
    assert!(
        matches!(
            other,
            Err(StartCheckoutError::Cart(
                CartError::CheckoutInProgress { .. }
            ))
        ),
        "{other:?}"
    );
}
