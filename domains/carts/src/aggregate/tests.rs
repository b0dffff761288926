//! Given/when/then specifications of the cart.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::{Aggregate, DomainEvent};
use shared_kernel::{CartId, Currency, CustomerId, Grams, LineId, Money, ProductId, Quantity};
use uuid::Uuid;

use super::{Cart, CartServices};
use crate::commands::CartCommand;
use crate::errors::CartError;
use crate::events::CartEvent;
use crate::ports::{PriceList, PriceLookupError, PricedSku};
use crate::values::{line_id_for, CartStatus};

/// Answers from a fixed table keyed by normalized SKU, like the catalog would.
#[derive(Default)]
struct FakePriceList {
    answers: HashMap<String, Result<PricedSku, PriceLookupError>>,
}

impl FakePriceList {
    fn with(mut self, sku: &str, answer: Result<PricedSku, PriceLookupError>) -> Self {
        self.answers.insert(sku.to_owned(), answer);
        self
    }
}

#[async_trait]
impl PriceList for FakePriceList {
    async fn price(&self, sku: &str, _currency: Currency) -> Result<PricedSku, PriceLookupError> {
        let normalized = sku.to_ascii_uppercase();
        self.answers
            .get(&normalized)
            .cloned()
            .unwrap_or(Err(PriceLookupError::UnknownSku {
                sku: sku.to_owned(),
            }))
    }
}

fn cart_id() -> CartId {
    CartId::from_uuid(Uuid::from_u128(0xC0FFEE))
}

fn tee_id() -> ProductId {
    ProductId::from_uuid(Uuid::from_u128(1))
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn qty(n: u32) -> Quantity {
    Quantity::new(n).unwrap()
}

fn priced(sku: &str, price: Money) -> PricedSku {
    PricedSku {
        product_id: tee_id(),
        sku: sku.to_owned(),
        title: "Tee".into(),
        unit_price: price,
        weight: None,
        tax_class: None,
    }
}

fn prices() -> FakePriceList {
    FakePriceList::default()
        .with("TEE-S", Ok(priced("TEE-S", eur("19.90"))))
        .with("TEE-M", Ok(priced("TEE-M", eur("21.00"))))
}

fn cart_test(prices: FakePriceList) -> TestFramework<Cart> {
    TestFramework::with(CartServices {
        prices: Arc::new(prices),
    })
}

fn created() -> CartEvent {
    CartEvent::CartCreated {
        cart_id: cart_id(),
        currency: Currency::EUR,
        customer_id: None,
    }
}

fn tee_line() -> LineId {
    line_id_for(cart_id(), "TEE-S")
}

fn tee_added(quantity: u32) -> CartEvent {
    CartEvent::ItemAdded {
        line_id: tee_line(),
        sku: "TEE-S".into(),
        product_id: tee_id(),
        title: "Tee".into(),
        quantity: qty(quantity),
        unit_price: eur("19.90"),
        weight_grams: None,
        tax_class: None,
    }
}

fn checked_out(id: u128) -> CartEvent {
    CartEvent::CartCheckedOut {
        checkout_id: Uuid::from_u128(id),
    }
}

fn began_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 12, 0, 0).unwrap()
}

fn checkout(id: u128) -> Uuid {
    Uuid::from_u128(id)
}

fn began(id: u128) -> CartEvent {
    CartEvent::CheckoutBegan {
        checkout_id: checkout(id),
        at: began_at(),
    }
}

fn released(id: u128) -> CartEvent {
    CartEvent::CheckoutReleased {
        checkout_id: checkout(id),
    }
}

fn begin(id: u128) -> CartCommand {
    CartCommand::BeginCheckout {
        checkout_id: checkout(id),
        at: began_at(),
    }
}

fn release(id: u128) -> CartCommand {
    CartCommand::ReleaseCheckout {
        checkout_id: checkout(id),
    }
}

fn mark_checked_out(id: u128) -> CartCommand {
    CartCommand::MarkCheckedOut {
        checkout_id: checkout(id),
    }
}

fn not_allowed(status: CartStatus, command: &'static str) -> CartError {
    CartError::NotAllowed { status, command }
}

fn add(sku: &str, quantity: u32) -> CartCommand {
    CartCommand::AddItem {
        sku: sku.into(),
        quantity,
    }
}

fn out_of_range(requested: u32) -> CartError {
    CartError::QuantityOutOfRange {
        min: 1,
        max: 999,
        requested,
    }
}

fn replay(events: Vec<CartEvent>) -> Cart {
    let mut cart = Cart::default();
    for event in events {
        cart.apply(event);
    }
    cart
}

// --- CreateCart ---

#[test]
fn creating_a_cart_opens_it_in_its_currency() {
    let customer = CustomerId::from_uuid(Uuid::from_u128(9));
    cart_test(prices())
        .given_no_previous_events()
        .when(CartCommand::CreateCart {
            cart_id: cart_id(),
            currency: Currency::EUR,
            customer_id: Some(customer),
        })
        .then_expect_events(vec![CartEvent::CartCreated {
            cart_id: cart_id(),
            currency: Currency::EUR,
            customer_id: Some(customer),
        }]);
}

#[test]
fn rejects_creating_a_cart_twice() {
    cart_test(prices())
        .given(vec![created()])
        .when(CartCommand::CreateCart {
            cart_id: cart_id(),
            currency: Currency::USD,
            customer_id: None,
        })
        .then_expect_error(CartError::AlreadyExists);
}

#[test]
fn rejects_every_other_command_on_a_cart_that_does_not_exist() {
    let commands = [
        add("TEE-S", 1),
        CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 2,
        },
        CartCommand::RemoveItem {
            line_id: tee_line(),
        },
        CartCommand::MarkCheckedOut {
            checkout_id: Uuid::from_u128(1),
        },
        begin(1),
        release(1),
    ];
    for command in commands {
        cart_test(prices())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CartError::NotFound);
    }
}

// --- AddItem ---

#[test]
fn adding_an_item_captures_the_current_price_under_a_derived_line_id() {
    cart_test(prices())
        .given(vec![created()])
        .when(add(" tee-s ", 2))
        .then_expect_events(vec![tee_added(2)]);
}

/// A 600 g tee in the "reduced" tax class, as the catalog prices it today.
fn weighed_tee() -> PricedSku {
    PricedSku {
        weight: Some(Grams::new(600)),
        tax_class: Some("reduced".into()),
        ..priced("TEE-S", eur("19.90"))
    }
}

fn weighed_tee_added(quantity: u32) -> CartEvent {
    let CartEvent::ItemAdded {
        line_id,
        sku,
        product_id,
        title,
        quantity,
        unit_price,
        ..
    } = tee_added(quantity)
    else {
        unreachable!()
    };
    CartEvent::ItemAdded {
        line_id,
        sku,
        product_id,
        title,
        quantity,
        unit_price,
        weight_grams: Some(Grams::new(600)),
        tax_class: Some("reduced".into()),
    }
}

#[test]
fn adding_an_item_captures_its_weight_and_tax_class_with_the_price() {
    cart_test(FakePriceList::default().with("TEE-S", Ok(weighed_tee())))
        .given(vec![created()])
        .when(add("tee-s", 2))
        .then_expect_events(vec![weighed_tee_added(2)]);
}

#[test]
fn a_line_shows_the_weight_and_tax_class_it_captured() {
    let cart = replay(vec![created(), weighed_tee_added(2)]);
    let line = &cart.lines()[0];
    assert_eq!(line.weight_grams(), Some(Grams::new(600)));
    assert_eq!(line.tax_class(), Some("reduced"));
    let old = replay(vec![created(), tee_added(2)]);
    assert_eq!(old.lines()[0].weight_grams(), None);
    assert_eq!(old.lines()[0].tax_class(), None);
}

#[test]
fn a_cart_weighs_each_line_times_its_quantity_a_line_without_weight_counting_zero() {
    let mut cap = CartEvent::ItemAdded {
        line_id: line_id_for(cart_id(), "CAP"),
        sku: "CAP".into(),
        product_id: tee_id(),
        title: "Cap".into(),
        quantity: qty(4),
        unit_price: eur("9.50"),
        weight_grams: None,
        tax_class: None,
    };
    let cart = replay(vec![created(), weighed_tee_added(2), cap.clone()]);
    assert_eq!(cart.total_weight(), Grams::new(1_200));
    if let CartEvent::ItemAdded { weight_grams, .. } = &mut cap {
        *weight_grams = Some(Grams::new(150));
    }
    let cart = replay(vec![
        created(),
        weighed_tee_added(2),
        cap,
        CartEvent::ItemQuantityChanged {
            line_id: tee_line(),
            quantity: qty(3),
        },
    ]);
    assert_eq!(cart.total_weight(), Grams::new(3 * 600 + 4 * 150));
    assert_eq!(replay(vec![created()]).total_weight(), Grams::ZERO);
}

#[test]
fn an_item_added_without_weight_or_tax_class_is_stored_as_before() {
    let json = serde_json::to_value(tee_added(1)).unwrap();
    assert!(json["ItemAdded"].get("weight_grams").is_none(), "{json}");
    assert!(json["ItemAdded"].get("tax_class").is_none(), "{json}");
    let json = serde_json::to_value(weighed_tee_added(1)).unwrap();
    assert_eq!(json["ItemAdded"]["weight_grams"], 600);
    assert_eq!(json["ItemAdded"]["tax_class"], "reduced");
}

#[test]
fn adding_a_sku_already_in_the_cart_grows_its_line_and_keeps_the_old_price() {
    let repriced = FakePriceList::default().with("TEE-S", Ok(priced("TEE-S", eur("25.00"))));
    cart_test(repriced)
        .given(vec![created(), tee_added(2)])
        .when(add("tee-s", 3))
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line_id: tee_line(),
            quantity: qty(5),
        }]);
}

#[test]
fn rejects_growing_a_line_beyond_999() {
    cart_test(prices())
        .given(vec![created(), tee_added(998)])
        .when(add("TEE-S", 2))
        .then_expect_error(out_of_range(1000));
}

#[test]
fn rejects_adding_zero_items() {
    cart_test(prices())
        .given(vec![created()])
        .when(add("TEE-S", 0))
        .then_expect_error(out_of_range(0));
}

#[test]
fn rejects_adding_more_than_999_items() {
    cart_test(prices())
        .given(vec![created()])
        .when(add("TEE-S", 1000))
        .then_expect_error(out_of_range(1000));
}

#[test]
fn accepts_exactly_999_items() {
    cart_test(prices())
        .given(vec![created()])
        .when(add("TEE-S", 999))
        .then_expect_events(vec![tee_added(999)]);
}

#[test]
fn rejects_a_hundred_and_first_line() {
    let mut list = FakePriceList::default();
    let mut given = vec![created()];
    for i in 0..100 {
        let sku = format!("SKU-{i}");
        given.push(CartEvent::ItemAdded {
            line_id: line_id_for(cart_id(), &sku),
            sku: sku.clone(),
            product_id: tee_id(),
            title: "Tee".into(),
            quantity: qty(1),
            unit_price: eur("1.00"),
            weight_grams: None,
            tax_class: None,
        });
        list = list.with(&sku, Ok(priced(&sku, eur("1.00"))));
    }
    list = list.with("SKU-100", Ok(priced("SKU-100", eur("1.00"))));
    cart_test(list)
        .given(given)
        .when(add("SKU-100", 1))
        .then_expect_error(CartError::TooManyLines { max: 100 });
}

#[test]
fn a_full_cart_still_grows_an_existing_line() {
    let mut list = FakePriceList::default();
    let mut given = vec![created()];
    for i in 0..100 {
        let sku = format!("SKU-{i}");
        given.push(CartEvent::ItemAdded {
            line_id: line_id_for(cart_id(), &sku),
            sku: sku.clone(),
            product_id: tee_id(),
            title: "Tee".into(),
            quantity: qty(1),
            unit_price: eur("1.00"),
            weight_grams: None,
            tax_class: None,
        });
        list = list.with(&sku, Ok(priced(&sku, eur("1.00"))));
    }
    cart_test(list)
        .given(given)
        .when(add("SKU-7", 1))
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line_id: line_id_for(cart_id(), "SKU-7"),
            quantity: qty(2),
        }]);
}

#[test]
fn rejects_a_price_in_another_currency() {
    let list = FakePriceList::default().with(
        "TEE-S",
        Ok(priced("TEE-S", Money::parse("19.90", "USD").unwrap())),
    );
    cart_test(list)
        .given(vec![created()])
        .when(add("TEE-S", 1))
        .then_expect_error(CartError::CurrencyMismatch {
            cart: Currency::EUR,
            price: Currency::USD,
        });
}

#[test]
fn rejects_an_invalid_price_from_a_broken_price_list() {
    let list = FakePriceList::default().with("TEE-S", Ok(priced("TEE-S", eur("-1.00"))));
    cart_test(list)
        .given(vec![created()])
        .when(add("TEE-S", 1))
        .then_expect_error(CartError::PricingUnavailable(
            "price list returned an invalid price for TEE-S: amount must not be negative".into(),
        ));
}

#[test]
fn rejects_an_unknown_sku() {
    cart_test(prices())
        .given(vec![created()])
        .when(add("NOPE", 1))
        .then_expect_error(CartError::UnknownSku { sku: "NOPE".into() });
}

#[test]
fn rejects_a_sku_that_is_not_for_sale() {
    let list = FakePriceList::default().with(
        "TEE-S",
        Err(PriceLookupError::NotPurchasable {
            sku: "TEE-S".into(),
        }),
    );
    cart_test(list)
        .given(vec![created()])
        .when(add("TEE-S", 1))
        .then_expect_error(CartError::NotPurchasable {
            sku: "TEE-S".into(),
        });
}

#[test]
fn rejects_a_sku_without_a_price_in_the_cart_currency() {
    let list = FakePriceList::default().with(
        "TEE-S",
        Err(PriceLookupError::NoPriceInCurrency {
            sku: "TEE-S".into(),
            currency: Currency::EUR,
        }),
    );
    cart_test(list)
        .given(vec![created()])
        .when(add("TEE-S", 1))
        .then_expect_error(CartError::NoPriceInCurrency {
            sku: "TEE-S".into(),
            currency: Currency::EUR,
        });
}

#[test]
fn reports_an_unreachable_price_list_as_pricing_unavailable() {
    let list = FakePriceList::default().with(
        "TEE-S",
        Err(PriceLookupError::Unavailable("timeout".into())),
    );
    cart_test(list)
        .given(vec![created()])
        .when(add("TEE-S", 1))
        .then_expect_error(CartError::PricingUnavailable("timeout".into()));
}

// --- ChangeItemQuantity ---

#[test]
fn changing_a_quantity_sets_it() {
    cart_test(prices())
        .given(vec![created(), tee_added(2)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 7,
        })
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line_id: tee_line(),
            quantity: qty(7),
        }]);
}

#[test]
fn changing_a_quantity_to_its_current_value_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(2)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 2,
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_changing_a_quantity_to_zero() {
    cart_test(prices())
        .given(vec![created(), tee_added(2)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 0,
        })
        .then_expect_error(out_of_range(0));
}

#[test]
fn rejects_changing_a_quantity_above_999() {
    cart_test(prices())
        .given(vec![created(), tee_added(2)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 1000,
        })
        .then_expect_error(out_of_range(1000));
}

#[test]
fn rejects_changing_the_quantity_of_an_unknown_line() {
    let unknown = LineId::from_uuid(Uuid::from_u128(5));
    cart_test(prices())
        .given(vec![created()])
        .when(CartCommand::ChangeItemQuantity {
            line_id: unknown,
            quantity: 1,
        })
        .then_expect_error(CartError::LineNotFound { line_id: unknown });
}

// --- RemoveItem ---

#[test]
fn removing_an_item_drops_its_line() {
    cart_test(prices())
        .given(vec![created(), tee_added(2)])
        .when(CartCommand::RemoveItem {
            line_id: tee_line(),
        })
        .then_expect_events(vec![CartEvent::ItemRemoved {
            line_id: tee_line(),
        }]);
}

#[test]
fn rejects_removing_an_unknown_line() {
    cart_test(prices())
        .given(vec![
            created(),
            tee_added(2),
            CartEvent::ItemRemoved {
                line_id: tee_line(),
            },
        ])
        .when(CartCommand::RemoveItem {
            line_id: tee_line(),
        })
        .then_expect_error(CartError::LineNotFound {
            line_id: tee_line(),
        });
}

#[test]
fn a_removed_sku_can_be_added_again_at_the_current_price() {
    let repriced = FakePriceList::default().with("TEE-S", Ok(priced("TEE-S", eur("25.00"))));
    let mut expected = tee_added(1);
    if let CartEvent::ItemAdded { unit_price, .. } = &mut expected {
        *unit_price = eur("25.00");
    }
    cart_test(repriced)
        .given(vec![
            created(),
            tee_added(2),
            CartEvent::ItemRemoved {
                line_id: tee_line(),
            },
        ])
        .when(add("TEE-S", 1))
        .then_expect_events(vec![expected]);
}

// --- MarkCheckedOut ---

#[test]
fn checking_out_freezes_the_cart() {
    cart_test(prices())
        .given(vec![created(), tee_added(1)])
        .when(CartCommand::MarkCheckedOut {
            checkout_id: Uuid::from_u128(42),
        })
        .then_expect_events(vec![checked_out(42)]);
}

#[test]
fn rejects_checking_out_an_empty_cart() {
    cart_test(prices())
        .given(vec![created()])
        .when(CartCommand::MarkCheckedOut {
            checkout_id: Uuid::from_u128(42),
        })
        .then_expect_error(CartError::EmptyCart);
}

#[test]
fn checking_out_again_with_the_same_checkout_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(CartCommand::MarkCheckedOut {
            checkout_id: Uuid::from_u128(42),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_checking_out_with_a_different_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(CartCommand::MarkCheckedOut {
            checkout_id: Uuid::from_u128(43),
        })
        .then_expect_error(CartError::NotAllowed {
            status: CartStatus::CheckedOut,
            command: "MarkCheckedOut",
        });
}

#[test]
fn rejects_adding_items_after_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(add("TEE-M", 1))
        .then_expect_error(CartError::NotAllowed {
            status: CartStatus::CheckedOut,
            command: "AddItem",
        });
}

#[test]
fn rejects_changing_quantities_after_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 3,
        })
        .then_expect_error(CartError::NotAllowed {
            status: CartStatus::CheckedOut,
            command: "ChangeItemQuantity",
        });
}

#[test]
fn rejects_removing_items_after_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(CartCommand::RemoveItem {
            line_id: tee_line(),
        })
        .then_expect_error(CartError::NotAllowed {
            status: CartStatus::CheckedOut,
            command: "RemoveItem",
        });
}

#[test]
fn rejects_creating_over_a_checked_out_cart() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), checked_out(42)])
        .when(CartCommand::CreateCart {
            cart_id: cart_id(),
            currency: Currency::EUR,
            customer_id: None,
        })
        .then_expect_error(CartError::AlreadyExists);
}

// --- BeginCheckout ---

#[test]
fn beginning_a_checkout_locks_the_cart_for_that_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1)])
        .when(begin(42))
        .then_expect_events(vec![began(42)]);
}

#[test]
fn rejects_beginning_a_checkout_of_an_empty_cart() {
    cart_test(prices())
        .given(vec![created()])
        .when(begin(42))
        .then_expect_error(CartError::EmptyCart);
}

#[test]
fn beginning_the_same_checkout_again_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(begin(42))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_a_second_checkout_while_one_is_in_progress() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(begin(43))
        .then_expect_error(CartError::CheckoutInProgress {
            checkout_id: checkout(42),
        });
}

#[test]
fn rejects_beginning_a_checkout_of_a_checked_out_cart() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), checked_out(42)])
        .when(begin(42))
        .then_expect_error(not_allowed(CartStatus::CheckedOut, "BeginCheckout"));
}

#[test]
fn a_released_cart_can_begin_a_new_checkout() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), released(42)])
        .when(begin(43))
        .then_expect_events(vec![began(43)]);
}

// --- While checking out ---

#[test]
fn rejects_adding_items_while_checking_out() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(add("TEE-M", 1))
        .then_expect_error(not_allowed(CartStatus::CheckingOut, "AddItem"));
}

#[test]
fn rejects_changing_quantities_while_checking_out() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(CartCommand::ChangeItemQuantity {
            line_id: tee_line(),
            quantity: 3,
        })
        .then_expect_error(not_allowed(CartStatus::CheckingOut, "ChangeItemQuantity"));
}

#[test]
fn rejects_removing_items_while_checking_out() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(CartCommand::RemoveItem {
            line_id: tee_line(),
        })
        .then_expect_error(not_allowed(CartStatus::CheckingOut, "RemoveItem"));
}

#[test]
fn rejects_creating_over_a_cart_that_is_checking_out() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(CartCommand::CreateCart {
            cart_id: cart_id(),
            currency: Currency::EUR,
            customer_id: None,
        })
        .then_expect_error(not_allowed(CartStatus::CheckingOut, "CreateCart"));
}

// --- ReleaseCheckout ---

#[test]
fn releasing_the_checkout_in_progress_reopens_the_cart() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(release(42))
        .then_expect_events(vec![released(42)]);
}

#[test]
fn releasing_an_open_cart_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), released(42)])
        .when(release(42))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_another_checkout_leaves_the_lock_in_place() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(43)])
        .when(release(42))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_after_another_checkout_checked_the_cart_out_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(43), checked_out(43)])
        .when(release(42))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_releasing_the_checkout_that_checked_the_cart_out() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), checked_out(42)])
        .when(release(42))
        .then_expect_error(not_allowed(CartStatus::CheckedOut, "ReleaseCheckout"));
}

#[test]
fn a_released_cart_accepts_changes_again() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), released(42)])
        .when(add("TEE-S", 1))
        .then_expect_events(vec![CartEvent::ItemQuantityChanged {
            line_id: tee_line(),
            quantity: qty(2),
        }]);
}

// --- MarkCheckedOut after BeginCheckout ---

#[test]
fn checking_out_completes_the_checkout_in_progress() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(mark_checked_out(42))
        .then_expect_events(vec![checked_out(42)]);
}

#[test]
fn rejects_checking_out_for_another_checkout_while_one_is_in_progress() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42)])
        .when(mark_checked_out(43))
        .then_expect_error(CartError::CheckoutInProgress {
            checkout_id: checkout(42),
        });
}

#[test]
fn checking_out_the_locked_cart_again_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), tee_added(1), began(42), checked_out(42)])
        .when(mark_checked_out(42))
        .then_expect_events(vec![]);
}

// --- State and accessors ---

#[test]
fn a_new_cart_is_open_empty_and_worth_zero() {
    let cart = replay(vec![created()]);
    assert_eq!(cart.id(), Some(cart_id()));
    assert_eq!(cart.status(), Some(CartStatus::Open));
    assert_eq!(cart.currency(), Some(Currency::EUR));
    assert_eq!(cart.customer_id(), None);
    assert!(cart.lines().is_empty());
    assert_eq!(cart.subtotal(), Some(Money::zero(Currency::EUR)));
    assert_eq!(cart.item_count(), 0);
    assert_eq!(cart.checkout_id(), None);
}

#[test]
fn a_cart_that_does_not_exist_has_no_subtotal() {
    assert_eq!(Cart::default().subtotal(), None);
    assert_eq!(Cart::default().status(), None);
}

#[test]
fn subtotal_and_item_count_sum_the_lines() {
    let cart = replay(vec![
        created(),
        tee_added(2),
        CartEvent::ItemAdded {
            line_id: line_id_for(cart_id(), "TEE-M"),
            sku: "TEE-M".into(),
            product_id: tee_id(),
            title: "Tee".into(),
            quantity: qty(1),
            unit_price: eur("21.00"),
            weight_grams: None,
            tax_class: None,
        },
        CartEvent::ItemQuantityChanged {
            line_id: tee_line(),
            quantity: qty(3),
        },
    ]);
    let line = &cart.lines()[0];
    assert_eq!(line.sku(), "TEE-S");
    assert_eq!(line.title(), "Tee");
    assert_eq!(line.product_id(), tee_id());
    assert_eq!(line.unit_price(), eur("19.90"));
    assert_eq!(line.line_total(), eur("59.70"));
    assert_eq!(cart.item_count(), 4);
    assert_eq!(cart.subtotal(), Some(eur("80.70")));
}

#[test]
fn checkout_is_recorded_on_the_cart() {
    let cart = replay(vec![created(), tee_added(1), checked_out(42)]);
    assert_eq!(cart.status(), Some(CartStatus::CheckedOut));
    assert_eq!(cart.checkout_id(), Some(Uuid::from_u128(42)));
}

#[test]
fn a_checkout_in_progress_is_recorded_on_the_cart() {
    let cart = replay(vec![created(), tee_added(1), began(42)]);
    assert_eq!(cart.status(), Some(CartStatus::CheckingOut));
    assert_eq!(cart.checkout_in_progress(), Some(checkout(42)));
    assert_eq!(cart.checkout_began_at(), Some(began_at()));
    assert_eq!(cart.checkout_id(), None);
}

#[test]
fn a_released_cart_is_open_with_its_lines_and_no_checkout() {
    let cart = replay(vec![created(), tee_added(2), began(42), released(42)]);
    assert_eq!(cart.status(), Some(CartStatus::Open));
    assert_eq!(cart.checkout_in_progress(), None);
    assert_eq!(cart.checkout_began_at(), None);
    assert_eq!(cart.item_count(), 2);
}

#[test]
fn checking_out_ends_the_checkout_in_progress() {
    let cart = replay(vec![created(), tee_added(1), began(42), checked_out(42)]);
    assert_eq!(cart.status(), Some(CartStatus::CheckedOut));
    assert_eq!(cart.checkout_id(), Some(checkout(42)));
    assert_eq!(cart.checkout_in_progress(), None);
    assert_eq!(cart.checkout_began_at(), None);
}

#[test]
fn a_snapshot_taken_before_checkout_locks_still_loads() {
    let cart = replay(vec![created(), tee_added(2)]);
    let mut json = serde_json::to_value(&cart).unwrap();
    let fields = json.as_object_mut().unwrap();
    fields.remove("checkout_in_progress");
    fields.remove("checkout_began_at");
    assert_eq!(serde_json::from_value::<Cart>(json).unwrap(), cart);
}

#[test]
fn the_aggregate_survives_a_snapshot_round_trip() {
    let cart = replay(vec![created(), tee_added(2)]);
    let json = serde_json::to_string(&cart).unwrap();
    assert_eq!(serde_json::from_str::<Cart>(&json).unwrap(), cart);
}

#[test]
fn events_have_stable_type_names_and_version_two() {
    let cases = [
        (created(), "CartCreated"),
        (tee_added(1), "ItemAdded"),
        (
            CartEvent::ItemQuantityChanged {
                line_id: tee_line(),
                quantity: qty(1),
            },
            "ItemQuantityChanged",
        ),
        (
            CartEvent::ItemRemoved {
                line_id: tee_line(),
            },
            "ItemRemoved",
        ),
        (checked_out(1), "CartCheckedOut"),
        (began(1), "CheckoutBegan"),
        (released(1), "CheckoutReleased"),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
    }
}

#[test]
fn error_codes_are_stable() {
    assert_eq!(CartError::NotFound.code(), "cart_not_found");
    assert_eq!(out_of_range(0).code(), "quantity_out_of_range");
    assert_eq!(
        CartError::PricingUnavailable(String::new()).code(),
        "pricing_unavailable"
    );
    assert_eq!(
        CartError::CheckoutInProgress {
            checkout_id: checkout(1)
        }
        .code(),
        "checkout_in_progress"
    );
}

// --- Taking a guest cart over, and merging it into a customer's cart (ADR 0027) ---

fn customer(n: u128) -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xC057_0000 + n))
}

fn other_cart() -> CartId {
    CartId::from_uuid(Uuid::from_u128(0xBEEF))
}

fn owned_by(n: u128) -> CartEvent {
    CartEvent::CustomerAssigned {
        customer_id: customer(n),
    }
}

/// A line of another cart (the guest's), as the merge reads it.
fn guest_line(sku: &str, quantity: u32, price: &str) -> crate::values::CartLine {
    let mut guest = replay(vec![CartEvent::CartCreated {
        cart_id: other_cart(),
        currency: Currency::EUR,
        customer_id: None,
    }]);
    guest.apply(CartEvent::ItemAdded {
        line_id: line_id_for(other_cart(), sku),
        sku: sku.into(),
        product_id: tee_id(),
        title: "Tee".into(),
        quantity: qty(quantity),
        unit_price: eur(price),
        weight_grams: None,
        tax_class: None,
    });
    guest.lines()[0].clone()
}

fn merge_in(lines: Vec<crate::values::CartLine>) -> CartCommand {
    CartCommand::MergeIn {
        source_cart_id: other_cart(),
        customer_id: customer(1),
        lines,
    }
}

#[test]
fn a_logged_in_customer_takes_a_guest_cart_over() {
    cart_test(prices())
        .given(vec![created(), tee_added(1)])
        .when(CartCommand::AssignCustomer {
            customer_id: customer(1),
        })
        .then_expect_events(vec![owned_by(1)]);
}

#[test]
fn taking_over_ones_own_cart_again_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), owned_by(1)])
        .when(CartCommand::AssignCustomer {
            customer_id: customer(1),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_taking_over_or_merging_another_customers_cart() {
    cart_test(prices())
        .given(vec![created(), owned_by(1)])
        .when(CartCommand::AssignCustomer {
            customer_id: customer(2),
        })
        .then_expect_error(CartError::OwnedByAnotherCustomer);
    cart_test(prices())
        .given(vec![created(), owned_by(1)])
        .when(CartCommand::BeginMerge {
            into_cart_id: other_cart(),
            customer_id: customer(2),
        })
        .then_expect_error(CartError::OwnedByAnotherCustomer);
}

#[test]
fn a_merge_locks_the_guest_cart_and_a_repeat_is_a_no_op() {
    let begin_merge = || CartCommand::BeginMerge {
        into_cart_id: other_cart(),
        customer_id: customer(1),
    };
    let began = CartEvent::MergeBegan {
        into_cart_id: other_cart(),
    };
    cart_test(prices())
        .given(vec![created(), tee_added(1)])
        .when(begin_merge())
        .then_expect_events(vec![began.clone()]);
    cart_test(prices())
        .given(vec![created(), tee_added(1), began.clone()])
        .when(begin_merge())
        .then_expect_events(vec![]);
    cart_test(prices())
        .given(vec![created(), tee_added(1), began])
        .when(add("TEE-S", 1))
        .then_expect_error(not_allowed(CartStatus::Merging, "AddItem"));
}

#[test]
fn a_merged_cart_can_neither_change_nor_be_checked_out() {
    let merged = vec![
        created(),
        tee_added(1),
        CartEvent::MergeBegan {
            into_cart_id: other_cart(),
        },
        CartEvent::CartMerged {
            into_cart_id: other_cart(),
        },
    ];
    cart_test(prices())
        .given(merged.clone())
        .when(begin(1))
        .then_expect_error(not_allowed(CartStatus::Merged, "BeginCheckout"));
    cart_test(prices())
        .given(merged.clone())
        .when(add("TEE-M", 1))
        .then_expect_error(not_allowed(CartStatus::Merged, "AddItem"));
    cart_test(prices())
        .given(merged)
        .when(CartCommand::CompleteMerge {
            into_cart_id: other_cart(),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_cancelled_merge_gives_the_cart_back_with_its_lines() {
    let cart = replay(vec![
        created(),
        tee_added(2),
        CartEvent::MergeBegan {
            into_cart_id: other_cart(),
        },
        CartEvent::MergeCancelled {
            into_cart_id: other_cart(),
        },
    ]);
    assert_eq!(cart.status(), Some(CartStatus::Open));
    assert_eq!(cart.item_count(), 2);
}

#[test]
fn merging_in_sums_a_shared_sku_and_adds_new_ones_at_the_guests_price() {
    // The customer's cart holds 1 TEE-S at 19.90; the guest's 2 TEE-S at 18.00 and 1 CAP.
    cart_test(prices())
        .given(vec![created(), owned_by(1), tee_added(1)])
        .when(merge_in(vec![
            guest_line("TEE-S", 2, "18.00"),
            guest_line("CAP", 1, "9.50"),
        ]))
        .then_expect_events(vec![
            CartEvent::ItemQuantityChanged {
                line_id: tee_line(),
                quantity: qty(3),
            },
            CartEvent::ItemAdded {
                line_id: line_id_for(cart_id(), "CAP"),
                sku: "CAP".into(),
                product_id: tee_id(),
                title: "Tee".into(),
                quantity: qty(1),
                unit_price: eur("9.50"),
                weight_grams: None,
                tax_class: None,
            },
            CartEvent::CartMergedIn {
                source_cart_id: other_cart(),
            },
        ]);
}

#[test]
fn merging_in_keeps_the_weight_and_tax_class_the_guest_captured() {
    let mut guest = replay(vec![CartEvent::CartCreated {
        cart_id: other_cart(),
        currency: Currency::EUR,
        customer_id: None,
    }]);
    let CartEvent::ItemAdded {
        sku,
        product_id,
        title,
        quantity,
        unit_price,
        weight_grams,
        tax_class,
        ..
    } = weighed_tee_added(2)
    else {
        unreachable!()
    };
    guest.apply(CartEvent::ItemAdded {
        line_id: line_id_for(other_cart(), "TEE-S"),
        sku,
        product_id,
        title,
        quantity,
        unit_price,
        weight_grams,
        tax_class,
    });
    cart_test(prices())
        .given(vec![created(), owned_by(1)])
        .when(merge_in(guest.lines().to_vec()))
        .then_expect_events(vec![
            weighed_tee_added(2),
            CartEvent::CartMergedIn {
                source_cart_id: other_cart(),
            },
        ]);
}

#[test]
fn merging_the_same_cart_in_twice_adds_its_lines_once() {
    cart_test(prices())
        .given(vec![
            created(),
            owned_by(1),
            tee_added(3),
            CartEvent::CartMergedIn {
                source_cart_id: other_cart(),
            },
        ])
        .when(merge_in(vec![guest_line("TEE-S", 2, "18.00")]))
        .then_expect_events(vec![]);
}

#[test]
fn rejects_a_merge_that_would_overflow_a_line_changing_nothing() {
    cart_test(prices())
        .given(vec![created(), owned_by(1), tee_added(998)])
        .when(merge_in(vec![guest_line("TEE-S", 2, "18.00")]))
        .then_expect_error(out_of_range(1000));
}

#[test]
fn rejects_merging_into_a_cart_of_another_customer() {
    cart_test(prices())
        .given(vec![created(), owned_by(2)])
        .when(merge_in(vec![guest_line("TEE-S", 1, "18.00")]))
        .then_expect_error(CartError::OwnedByAnotherCustomer);
}

#[test]
fn rejects_merging_lines_of_another_currency() {
    let usd = Currency::parse("USD").unwrap();
    let mut guest = replay(vec![CartEvent::CartCreated {
        cart_id: other_cart(),
        currency: usd,
        customer_id: None,
    }]);
    guest.apply(CartEvent::ItemAdded {
        line_id: line_id_for(other_cart(), "TEE-S"),
        sku: "TEE-S".into(),
        product_id: tee_id(),
        title: "Tee".into(),
        quantity: qty(1),
        unit_price: Money::parse("18.00", "USD").unwrap(),
        weight_grams: None,
        tax_class: None,
    });
    let usd_line = guest.lines()[0].clone();
    cart_test(prices())
        .given(vec![created(), owned_by(1)])
        .when(merge_in(vec![usd_line]))
        .then_expect_error(CartError::CurrencyMismatch {
            cart: Currency::EUR,
            price: Currency::parse("USD").unwrap(),
        });
}

// --- Promotion codes ---

fn applied(code: &str) -> CartEvent {
    CartEvent::PromotionCodeApplied { code: code.into() }
}

fn apply_code(code: &str) -> CartCommand {
    CartCommand::ApplyPromotionCode { code: code.into() }
}

#[test]
fn an_open_cart_holds_one_code_and_a_new_one_replaces_it() {
    cart_test(prices())
        .given(vec![created(), tee_added(1)])
        .when(apply_code("SPRING"))
        .then_expect_events(vec![applied("SPRING")]);
    cart_test(prices())
        .given(vec![created(), applied("SPRING")])
        .when(apply_code("SPRING"))
        .then_expect_events(vec![]);
    cart_test(prices())
        .given(vec![created(), applied("SPRING")])
        .when(apply_code("SUMMER"))
        .then_expect_events(vec![applied("SUMMER")]);
    assert_eq!(
        replay(vec![created(), applied("SPRING"), applied("SUMMER")]).promotion_code(),
        Some("SUMMER")
    );
}

#[test]
fn removing_the_code_drops_it_and_without_one_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), applied("SPRING")])
        .when(CartCommand::RemovePromotionCode)
        .then_expect_events(vec![CartEvent::PromotionCodeRemoved {
            code: "SPRING".into(),
        }]);
    cart_test(prices())
        .given(vec![created()])
        .when(CartCommand::RemovePromotionCode)
        .then_expect_events(vec![]);
    assert_eq!(
        replay(vec![
            created(),
            applied("SPRING"),
            CartEvent::PromotionCodeRemoved {
                code: "SPRING".into()
            }
        ])
        .promotion_code(),
        None
    );
}

#[test]
fn the_code_cannot_change_while_a_checkout_holds_the_cart_or_after_it() {
    for (history, status) in [
        (
            vec![created(), tee_added(1), applied("SPRING"), began(1)],
            CartStatus::CheckingOut,
        ),
        (
            vec![created(), tee_added(1), applied("SPRING"), checked_out(1)],
            CartStatus::CheckedOut,
        ),
    ] {
        cart_test(prices())
            .given(history.clone())
            .when(apply_code("SUMMER"))
            .then_expect_error(not_allowed(status, "ApplyPromotionCode"));
        cart_test(prices())
            .given(history)
            .when(CartCommand::RemovePromotionCode)
            .then_expect_error(not_allowed(status, "RemovePromotionCode"));
    }
}

// --- Shipping address and method ---

fn address(country: &str) -> shared_kernel::PostalAddress {
    shared_kernel::PostalAddress::new(shared_kernel::AddressData {
        name: "Ada Lovelace".into(),
        line1: "1 Analytical Way".into(),
        line2: None,
        city: "London".into(),
        postal_code: "N1 9GU".into(),
        region: None,
        country: country.into(),
        phone: None,
    })
    .unwrap()
}

fn set_address(country: &str, clear_method: bool) -> CartCommand {
    CartCommand::SetShippingAddress {
        address: address(country),
        clear_method,
    }
}

fn address_set(country: &str) -> CartEvent {
    CartEvent::ShippingAddressSet {
        address: address(country).data().clone(),
        customer_id: None,
    }
}

fn option(id: u128) -> Uuid {
    Uuid::from_u128(0x5A1F + id)
}

fn chosen(id: u128) -> CartEvent {
    CartEvent::ShippingMethodChosen {
        option_id: option(id),
    }
}

#[test]
fn an_open_cart_takes_a_shipping_address_and_the_same_one_again_changes_nothing() {
    cart_test(prices())
        .given(vec![created()])
        .when(set_address("gb", false))
        .then_expect_events(vec![address_set("GB")]);
    cart_test(prices())
        .given(vec![created(), address_set("GB")])
        .when(set_address("GB", false))
        .then_expect_events(vec![]);
    cart_test(prices())
        .given(vec![created(), address_set("GB")])
        .when(set_address("DE", false))
        .then_expect_events(vec![address_set("DE")]);
    let cart = replay(vec![created(), address_set("GB"), address_set("DE")]);
    assert_eq!(cart.shipping_address().map(|a| a.country()), Some("DE"));
}

#[test]
fn a_customers_cart_records_whose_address_it_is() {
    let customer = CustomerId::from_uuid(Uuid::from_u128(7));
    cart_test(prices())
        .given(vec![CartEvent::CartCreated {
            cart_id: cart_id(),
            currency: Currency::EUR,
            customer_id: Some(customer),
        }])
        .when(set_address("GB", false))
        .then_expect_events(vec![CartEvent::ShippingAddressSet {
            address: address("GB").data().clone(),
            customer_id: Some(customer),
        }]);
}

#[test]
fn a_shipping_method_needs_an_address_first() {
    cart_test(prices())
        .given(vec![created()])
        .when(CartCommand::ChooseShippingMethod {
            option_id: option(1),
        })
        .then_expect_error(CartError::ShippingAddressRequired);
}

#[test]
fn an_open_cart_with_an_address_chooses_a_method_and_the_same_again_changes_nothing() {
    cart_test(prices())
        .given(vec![created(), address_set("GB")])
        .when(CartCommand::ChooseShippingMethod {
            option_id: option(1),
        })
        .then_expect_events(vec![chosen(1)]);
    cart_test(prices())
        .given(vec![created(), address_set("GB"), chosen(1)])
        .when(CartCommand::ChooseShippingMethod {
            option_id: option(1),
        })
        .then_expect_events(vec![]);
    cart_test(prices())
        .given(vec![created(), address_set("GB"), chosen(1)])
        .when(CartCommand::ChooseShippingMethod {
            option_id: option(2),
        })
        .then_expect_events(vec![chosen(2)]);
    let cart = replay(vec![created(), address_set("GB"), chosen(1), chosen(2)]);
    assert_eq!(cart.shipping_option(), Some(option(2)));
}

#[test]
fn moving_the_address_where_the_method_is_not_offered_drops_the_method_in_the_same_commit() {
    let cleared = CartEvent::ShippingMethodCleared {
        option_id: option(1),
    };
    cart_test(prices())
        .given(vec![created(), address_set("GB"), chosen(1)])
        .when(set_address("US", true))
        .then_expect_events(vec![address_set("US"), cleared.clone()]);
    cart_test(prices())
        .given(vec![created(), address_set("GB"), chosen(1)])
        .when(set_address("FR", false))
        .then_expect_events(vec![address_set("FR")]);
    cart_test(prices())
        .given(vec![created(), address_set("GB")])
        .when(set_address("US", true))
        .then_expect_events(vec![address_set("US")]);
    let cart = replay(vec![
        created(),
        address_set("GB"),
        chosen(1),
        address_set("US"),
        cleared,
    ]);
    assert_eq!(cart.shipping_option(), None);
}

#[test]
fn shipping_cannot_change_while_a_checkout_holds_the_cart_or_after_it() {
    for (history, status) in [
        (
            vec![created(), tee_added(1), address_set("GB"), began(1)],
            CartStatus::CheckingOut,
        ),
        (
            vec![created(), tee_added(1), address_set("GB"), checked_out(1)],
            CartStatus::CheckedOut,
        ),
    ] {
        cart_test(prices())
            .given(history.clone())
            .when(set_address("DE", false))
            .then_expect_error(not_allowed(status, "SetShippingAddress"));
        cart_test(prices())
            .given(history)
            .when(CartCommand::ChooseShippingMethod {
                option_id: option(1),
            })
            .then_expect_error(not_allowed(status, "ChooseShippingMethod"));
    }
}

#[test]
fn shipping_events_are_version_2_with_stable_types() {
    let events = [
        (address_set("GB"), "ShippingAddressSet"),
        (chosen(1), "ShippingMethodChosen"),
        (
            CartEvent::ShippingMethodCleared {
                option_id: option(1),
            },
            "ShippingMethodCleared",
        ),
    ];
    for (event, event_type) in events {
        assert_eq!(event.event_type(), event_type);
        assert_eq!(event.event_version(), "2");
    }
    let stored = serde_json::to_value(address_set("GB")).unwrap();
    assert!(stored["ShippingAddressSet"].get("customer_id").is_none());
}
