//! Given/when/then specifications of the promotion: every command, accepted and refused.

use chrono::{DateTime, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use shared_kernel::{CheckoutId, CustomerId, Money, Sku};
use uuid::Uuid;

use super::Promotion;
use crate::commands::PromotionCommand;
use crate::errors::{PromotionError, Refusal};
use crate::events::PromotionEvent;
use crate::terms::{AppliesTo, Offer, Terms};
use crate::values::{
    CurrencyAmounts, Limit, Percentage, PromotionCode, PromotionStatus, RedemptionState, Schedule,
    SkuSet,
};

type PromotionTest = TestFramework<Promotion>;

fn promotion_test() -> PromotionTest {
    PromotionTest::with(())
}

fn code() -> PromotionCode {
    PromotionCode::parse("winter10").unwrap()
}

/// 1 December 2026 at `hour`, or a later day with [`on`].
fn at(hour: u32) -> DateTime<Utc> {
    on(1, hour)
}

fn on(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, day, hour, 0, 0).unwrap()
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, "USD").unwrap()
}

fn checkout(n: u128) -> CheckoutId {
    CheckoutId::from_uuid(Uuid::from_u128(0xC0_0000 + n))
}

fn customer(n: u128) -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xCA_0000 + n))
}

fn limit(n: u32) -> Option<Limit> {
    Some(Limit::new(n).unwrap())
}

fn ten_percent() -> Offer {
    Offer::PercentOff {
        percent: Percentage::from_basis_points(1000).unwrap(),
    }
}

/// 10 % off the order, any time, any number of times.
fn open_terms() -> Terms {
    Terms::new(ten_percent(), AppliesTo::Order)
}

/// 10 % off the order, from 10:00 on 1 December to the 31st, at most 3 uses, one per
/// customer, from 40 EUR or 45 USD.
fn terms() -> Terms {
    Terms {
        minimum_subtotal: Some(CurrencyAmounts::new(vec![eur("40.00"), usd("45.00")]).unwrap()),
        schedule: Schedule::new(Some(at(10)), Some(on(31, 0))).unwrap(),
        usage_limit: limit(3),
        per_customer_limit: limit(1),
        ..open_terms()
    }
}

fn create(terms: Terms) -> PromotionCommand {
    PromotionCommand::CreatePromotion {
        code: code(),
        terms,
        at: at(9),
    }
}

fn created(terms: Terms) -> PromotionEvent {
    PromotionEvent::PromotionCreated {
        code: "WINTER10".into(),
        terms,
        created_at: at(9),
    }
}

fn update(terms: Terms) -> PromotionCommand {
    PromotionCommand::UpdatePromotion { terms }
}

fn updated(terms: Terms) -> PromotionEvent {
    PromotionEvent::PromotionUpdated { terms }
}

fn deactivated() -> PromotionEvent {
    PromotionEvent::PromotionDeactivated {
        deactivated_at: at(18),
    }
}

/// Checkout `n` of customer `n` (or a guest) with a subtotal of 50 EUR at noon.
fn redeem(n: u128, customer_id: Option<CustomerId>) -> PromotionCommand {
    redeem_with(n, customer_id, eur("50.00"), at(12))
}

fn redeem_with(
    n: u128,
    customer_id: Option<CustomerId>,
    subtotal: Money,
    at: DateTime<Utc>,
) -> PromotionCommand {
    PromotionCommand::RedeemPromotion {
        checkout_id: checkout(n),
        customer_id,
        subtotal,
        at,
    }
}

fn redeemed(n: u128, customer_id: Option<CustomerId>) -> PromotionEvent {
    redeemed_with(n, customer_id, eur("50.00"), at(12))
}

fn redeemed_with(
    n: u128,
    customer_id: Option<CustomerId>,
    subtotal: Money,
    at: DateTime<Utc>,
) -> PromotionEvent {
    PromotionEvent::PromotionRedeemed {
        checkout_id: checkout(n),
        customer_id,
        subtotal,
        redeemed_at: at,
    }
}

fn release(n: u128) -> PromotionCommand {
    PromotionCommand::ReleaseRedemption {
        checkout_id: checkout(n),
    }
}

fn released(n: u128) -> PromotionEvent {
    PromotionEvent::RedemptionReleased {
        checkout_id: checkout(n),
    }
}

fn confirm(n: u128) -> PromotionCommand {
    PromotionCommand::ConfirmRedemption {
        checkout_id: checkout(n),
    }
}

fn confirmed(n: u128) -> PromotionEvent {
    PromotionEvent::RedemptionConfirmed {
        checkout_id: checkout(n),
    }
}

fn refused(refusal: Refusal) -> PromotionError {
    PromotionError::Refused(refusal)
}

fn replay(events: Vec<PromotionEvent>) -> Promotion {
    let mut promotion = Promotion::default();
    for event in events {
        promotion.apply(event);
    }
    promotion
}

// --- CreatePromotion ---

#[test]
fn creating_records_the_normalized_code_and_the_terms() {
    promotion_test()
        .given_no_previous_events()
        .when(create(terms()))
        .then_expect_events(vec![created(terms())]);
    let promotion = replay(vec![created(terms())]);
    assert_eq!(promotion.code(), Some(&code()));
    assert_eq!(Promotion::aggregate_id(&code()), "WINTER10");
    assert_eq!(promotion.status(), Some(PromotionStatus::Active));
    assert_eq!(promotion.terms(), Some(&terms()));
    assert_eq!(promotion.created_at(), Some(at(9)));
    assert_eq!(promotion.remaining(), Some(3));
}

#[test]
fn a_fixed_amount_off_chosen_skus_or_free_shipping_can_be_created() {
    let amount_off_skus = Terms::new(
        Offer::AmountOff {
            amounts: CurrencyAmounts::new(vec![eur("5.00")]).unwrap(),
        },
        AppliesTo::Skus {
            skus: SkuSet::new([Sku::parse("TEE-S").unwrap()]).unwrap(),
        },
    );
    promotion_test()
        .given_no_previous_events()
        .when(create(amount_off_skus.clone()))
        .then_expect_events(vec![created(amount_off_skus)]);
    let free_shipping = Terms::new(Offer::FreeShipping, AppliesTo::Order);
    promotion_test()
        .given_no_previous_events()
        .when(create(free_shipping.clone()))
        .then_expect_events(vec![created(free_shipping)]);
}

#[test]
fn a_promotion_may_be_created_to_start_later() {
    let later = Terms {
        schedule: Schedule::new(Some(on(20, 0)), None).unwrap(),
        ..open_terms()
    };
    promotion_test()
        .given_no_previous_events()
        .when(create(later.clone()))
        .then_expect_events(vec![created(later)]);
}

#[test]
fn rejects_creating_a_promotion_that_would_already_have_ended() {
    let ended = Terms {
        schedule: Schedule::new(None, Some(at(9))).unwrap(),
        ..open_terms()
    };
    promotion_test()
        .given_no_previous_events()
        .when(create(ended))
        .then_expect_error(PromotionError::AlreadyEnded { ends_at: at(9) });
}

#[test]
fn rejects_creating_a_code_that_is_taken() {
    promotion_test()
        .given(vec![created(terms())])
        .when(create(open_terms()))
        .then_expect_error(PromotionError::CodeTaken {
            code: "WINTER10".into(),
        });
}

#[test]
fn a_deactivated_code_stays_taken() {
    promotion_test()
        .given(vec![created(terms()), deactivated()])
        .when(create(terms()))
        .then_expect_error(PromotionError::CodeTaken {
            code: "WINTER10".into(),
        });
}

// --- UpdatePromotion ---

#[test]
fn updating_records_the_new_terms() {
    let raised = Terms {
        usage_limit: limit(100),
        ..terms()
    };
    promotion_test()
        .given(vec![created(terms())])
        .when(update(raised.clone()))
        .then_expect_events(vec![updated(raised.clone())]);
    let promotion = replay(vec![created(terms()), updated(raised.clone())]);
    assert_eq!(promotion.terms(), Some(&raised));
    assert_eq!(promotion.remaining(), Some(100));
}

#[test]
fn updating_to_the_same_terms_is_a_no_op() {
    promotion_test()
        .given(vec![created(terms())])
        .when(update(terms()))
        .then_expect_events(vec![]);
}

#[test]
fn the_offer_and_what_it_applies_to_may_change_until_the_code_is_redeemed() {
    let twenty_off_tees = Terms {
        offer: Offer::PercentOff {
            percent: Percentage::from_basis_points(2000).unwrap(),
        },
        applies_to: AppliesTo::Skus {
            skus: SkuSet::new([Sku::parse("TEE-S").unwrap()]).unwrap(),
        },
        ..terms()
    };
    promotion_test()
        .given(vec![created(terms())])
        .when(update(twenty_off_tees.clone()))
        .then_expect_events(vec![updated(twenty_off_tees)]);
}

#[test]
fn rejects_changing_the_offer_once_the_code_was_redeemed() {
    let free_shipping = Terms {
        offer: Offer::FreeShipping,
        ..terms()
    };
    promotion_test()
        .given(vec![created(terms()), redeemed(1, Some(customer(1)))])
        .when(update(free_shipping))
        .then_expect_error(PromotionError::TermsLocked);
}

#[test]
fn rejects_changing_what_the_offer_applies_to_even_after_the_use_was_given_back() {
    let tees_only = Terms {
        applies_to: AppliesTo::Skus {
            skus: SkuSet::new([Sku::parse("TEE-S").unwrap()]).unwrap(),
        },
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            released(1),
        ])
        .when(update(tees_only))
        .then_expect_error(PromotionError::TermsLocked);
}

#[test]
fn the_minimum_schedule_and_limits_may_change_after_redemptions() {
    let changed = Terms {
        minimum_subtotal: None,
        schedule: Schedule::new(None, Some(on(24, 0))).unwrap(),
        usage_limit: limit(2),
        per_customer_limit: None,
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
        ])
        .when(update(changed.clone()))
        .then_expect_events(vec![updated(changed)]);
}

#[test]
fn rejects_a_usage_limit_below_the_uses_held_or_spent() {
    let one = Terms {
        usage_limit: limit(1),
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            confirmed(1),
        ])
        .when(update(one))
        .then_expect_error(PromotionError::UsageLimitBelowUses { limit: 1, uses: 2 });
}

#[test]
fn uses_given_back_do_not_count_when_the_limit_is_lowered() {
    let one = Terms {
        usage_limit: limit(1),
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            released(2),
        ])
        .when(update(one.clone()))
        .then_expect_events(vec![updated(one)]);
}

#[test]
fn rejects_a_per_customer_limit_below_what_a_customer_already_used() {
    let generous = Terms {
        per_customer_limit: limit(2),
        ..terms()
    };
    let strict = Terms {
        per_customer_limit: limit(1),
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(generous),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(1))),
        ])
        .when(update(strict))
        .then_expect_error(PromotionError::CustomerLimitBelowUses { limit: 1, uses: 2 });
}

#[test]
fn rejects_updating_a_promotion_that_does_not_exist() {
    promotion_test()
        .given_no_previous_events()
        .when(update(terms()))
        .then_expect_error(PromotionError::NotFound);
}

#[test]
fn rejects_updating_a_deactivated_promotion() {
    promotion_test()
        .given(vec![created(terms()), deactivated()])
        .when(update(open_terms()))
        .then_expect_error(PromotionError::NotAllowed {
            status: PromotionStatus::Deactivated,
            command: "UpdatePromotion",
        });
}

// --- DeactivatePromotion ---

#[test]
fn deactivating_records_when() {
    promotion_test()
        .given(vec![created(terms())])
        .when(PromotionCommand::DeactivatePromotion { at: at(18) })
        .then_expect_events(vec![deactivated()]);
    let promotion = replay(vec![created(terms()), deactivated()]);
    assert_eq!(promotion.status(), Some(PromotionStatus::Deactivated));
    assert_eq!(promotion.deactivated_at(), Some(at(18)));
}

#[test]
fn deactivating_twice_is_a_no_op() {
    promotion_test()
        .given(vec![created(terms()), deactivated()])
        .when(PromotionCommand::DeactivatePromotion { at: at(19) })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_deactivating_a_promotion_that_does_not_exist() {
    promotion_test()
        .given_no_previous_events()
        .when(PromotionCommand::DeactivatePromotion { at: at(18) })
        .then_expect_error(PromotionError::NotFound);
}

// --- RedeemPromotion, accepted ---

#[test]
fn redeeming_holds_one_use_for_the_checkout() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem(1, Some(customer(1))))
        .then_expect_events(vec![redeemed(1, Some(customer(1)))]);
    let promotion = replay(vec![created(terms()), redeemed(1, Some(customer(1)))]);
    let redemption = promotion.redemption(checkout(1)).unwrap();
    assert_eq!(redemption.state(), RedemptionState::Reserved);
    assert_eq!(redemption.customer_id(), Some(customer(1)));
    assert_eq!(promotion.active_redemptions(), 1);
    assert_eq!(promotion.uses_by(customer(1)), 1);
    assert_eq!(promotion.remaining(), Some(2));
}

#[test]
fn the_subtotal_is_recorded_in_minor_units() {
    promotion_test()
        .given(vec![created(open_terms())])
        .when(redeem_with(1, None, eur("50"), at(12)))
        .then_expect_events(vec![redeemed_with(1, None, eur("50.00"), at(12))]);
}

#[test]
fn a_guest_may_redeem_a_code_without_a_per_customer_limit() {
    let no_per_customer = Terms {
        per_customer_limit: None,
        ..terms()
    };
    promotion_test()
        .given(vec![created(no_per_customer)])
        .when(redeem(1, None))
        .then_expect_events(vec![redeemed(1, None)]);
}

#[test]
fn a_code_is_valid_from_its_start_until_just_before_its_end() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("50.00"), at(10)))
        .then_expect_events(vec![redeemed_with(
            1,
            Some(customer(1)),
            eur("50.00"),
            at(10),
        )]);
    let last_second = on(31, 0) - chrono::Duration::seconds(1);
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("50.00"), last_second))
        .then_expect_events(vec![redeemed_with(
            1,
            Some(customer(1)),
            eur("50.00"),
            last_second,
        )]);
}

#[test]
fn a_subtotal_equal_to_the_minimum_is_enough_in_each_currency() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("40.00"), at(12)))
        .then_expect_events(vec![redeemed_with(
            1,
            Some(customer(1)),
            eur("40.00"),
            at(12),
        )]);
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), usd("45.00"), at(12)))
        .then_expect_events(vec![redeemed_with(
            1,
            Some(customer(1)),
            usd("45.00"),
            at(12),
        )]);
}

#[test]
fn the_last_use_under_the_limit_is_granted() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
        ])
        .when(redeem(3, Some(customer(3))))
        .then_expect_events(vec![redeemed(3, Some(customer(3)))]);
}

#[test]
fn a_use_given_back_can_be_taken_by_another_checkout() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            redeemed(3, Some(customer(3))),
            released(2),
        ])
        .when(redeem(4, Some(customer(4))))
        .then_expect_events(vec![redeemed(4, Some(customer(4)))]);
}

#[test]
fn a_customer_who_gave_their_use_back_may_use_the_code_again() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            released(1),
        ])
        .when(redeem(2, Some(customer(1))))
        .then_expect_events(vec![redeemed(2, Some(customer(1)))]);
}

#[test]
fn another_customer_may_use_a_code_one_customer_used_up() {
    promotion_test()
        .given(vec![created(terms()), redeemed(1, Some(customer(1)))])
        .when(redeem(2, Some(customer(2))))
        .then_expect_events(vec![redeemed(2, Some(customer(2)))]);
}

#[test]
fn redeeming_again_for_the_same_checkout_is_a_no_op_even_when_used_up() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            redeemed(3, Some(customer(3))),
        ])
        .when(redeem(1, Some(customer(1))))
        .then_expect_events(vec![]);
}

#[test]
fn redeeming_again_after_the_release_is_a_no_op_that_holds_nothing() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            released(1),
        ])
        .when(redeem(1, Some(customer(1))))
        .then_expect_events(vec![]);
}

#[test]
fn redeeming_again_after_deactivation_is_a_no_op() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            deactivated(),
        ])
        .when(redeem(1, Some(customer(1))))
        .then_expect_events(vec![]);
}

// --- RedeemPromotion, refused ---

#[test]
fn refuses_a_code_that_does_not_exist() {
    promotion_test()
        .given_no_previous_events()
        .when(redeem(1, Some(customer(1))))
        .then_expect_error(refused(Refusal::UnknownCode));
}

#[test]
fn refuses_a_deactivated_code() {
    promotion_test()
        .given(vec![created(terms()), deactivated()])
        .when(redeem(1, Some(customer(1))))
        .then_expect_error(refused(Refusal::Inactive));
}

#[test]
fn refuses_a_code_before_it_starts() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("50.00"), at(9)))
        .then_expect_error(refused(Refusal::NotStarted { starts_at: at(10) }));
}

#[test]
fn refuses_a_code_once_it_ended() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("50.00"), on(31, 0)))
        .then_expect_error(refused(Refusal::Expired { ends_at: on(31, 0) }));
}

#[test]
fn refuses_a_currency_the_minimum_does_not_name() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(
            1,
            Some(customer(1)),
            Money::parse("9000", "JPY").unwrap(),
            at(12),
        ))
        .then_expect_error(refused(Refusal::CurrencyNotSupported {
            currency: shared_kernel::Currency::JPY,
        }));
}

#[test]
fn refuses_a_currency_the_fixed_amount_does_not_name() {
    let five_euros_off = Terms::new(
        Offer::AmountOff {
            amounts: CurrencyAmounts::new(vec![eur("5.00")]).unwrap(),
        },
        AppliesTo::Order,
    );
    promotion_test()
        .given(vec![created(five_euros_off)])
        .when(redeem_with(1, None, usd("50.00"), at(12)))
        .then_expect_error(refused(Refusal::CurrencyNotSupported {
            currency: shared_kernel::Currency::USD,
        }));
}

#[test]
fn refuses_a_subtotal_below_the_minimum() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem_with(1, Some(customer(1)), eur("39.99"), at(12)))
        .then_expect_error(refused(Refusal::BelowMinimum {
            minimum: eur("40.00"),
        }));
}

#[test]
fn refuses_a_guest_when_the_code_has_a_per_customer_limit() {
    promotion_test()
        .given(vec![created(terms())])
        .when(redeem(1, None))
        .then_expect_error(refused(Refusal::SignInRequired));
}

#[test]
fn refuses_a_code_that_is_used_up() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            redeemed(3, Some(customer(3))),
        ])
        .when(redeem(4, Some(customer(4))))
        .then_expect_error(refused(Refusal::UsedUp));
}

#[test]
fn confirmed_uses_count_against_the_limit() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            redeemed(3, Some(customer(3))),
            confirmed(1),
            confirmed(2),
            confirmed(3),
        ])
        .when(redeem(4, Some(customer(4))))
        .then_expect_error(refused(Refusal::UsedUp));
}

#[test]
fn refuses_a_customer_who_used_up_their_uses() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            confirmed(1),
        ])
        .when(redeem(2, Some(customer(1))))
        .then_expect_error(refused(Refusal::CustomerLimitReached));
}

#[test]
fn reports_the_first_reason_when_several_apply() {
    // Deactivated, expired and below the minimum: the shopper hears the first.
    promotion_test()
        .given(vec![created(terms()), deactivated()])
        .when(redeem_with(1, None, eur("1.00"), on(31, 12)))
        .then_expect_error(refused(Refusal::Inactive));
    // Used up and the customer's own limit reached: the code is used up.
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            redeemed(2, Some(customer(2))),
            redeemed(3, Some(customer(3))),
        ])
        .when(redeem(4, Some(customer(1))))
        .then_expect_error(refused(Refusal::UsedUp));
}

#[test]
fn rejects_a_subtotal_that_is_negative_or_finer_than_the_minor_unit() {
    promotion_test()
        .given(vec![created(open_terms())])
        .when(redeem_with(1, None, eur("-1.00"), at(12)))
        .then_expect_error(PromotionError::InvalidSubtotal {
            subtotal: eur("-1.00"),
            reason: "must not be negative",
        });
    promotion_test()
        .given(vec![created(open_terms())])
        .when(redeem_with(1, None, eur("50.001"), at(12)))
        .then_expect_error(PromotionError::InvalidSubtotal {
            subtotal: eur("50.001"),
            reason: "must be whole minor units of its currency",
        });
}

#[test]
fn the_cart_can_ask_before_redeeming_without_holding_a_use() {
    let promotion = replay(vec![created(terms())]);
    assert_eq!(
        promotion.check_redemption(Some(customer(1)), eur("50.00"), at(12)),
        Ok(())
    );
    assert_eq!(
        promotion.check_redemption(None, eur("50.00"), at(12)),
        Err(Refusal::SignInRequired)
    );
    assert_eq!(promotion.active_redemptions(), 0);
    assert_eq!(
        Promotion::default().check_redemption(None, eur("50.00"), at(12)),
        Err(Refusal::UnknownCode)
    );
}

// --- ReleaseRedemption ---

#[test]
fn releasing_gives_a_reserved_use_back() {
    promotion_test()
        .given(vec![created(terms()), redeemed(1, Some(customer(1)))])
        .when(release(1))
        .then_expect_events(vec![released(1)]);
    let promotion = replay(vec![
        created(terms()),
        redeemed(1, Some(customer(1))),
        released(1),
    ]);
    assert_eq!(
        promotion.redemption(checkout(1)).unwrap().state(),
        RedemptionState::Released
    );
    assert_eq!(promotion.active_redemptions(), 0);
    assert_eq!(promotion.uses_by(customer(1)), 0);
    assert_eq!(promotion.remaining(), Some(3));
}

#[test]
fn releasing_twice_is_a_no_op() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            released(1),
        ])
        .when(release(1))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_for_a_checkout_that_never_redeemed_is_a_no_op() {
    promotion_test()
        .given(vec![created(terms()), redeemed(1, Some(customer(1)))])
        .when(release(2))
        .then_expect_events(vec![]);
}

#[test]
fn releasing_on_a_code_that_does_not_exist_is_a_no_op() {
    promotion_test()
        .given_no_previous_events()
        .when(release(1))
        .then_expect_events(vec![]);
}

#[test]
fn a_deactivated_code_still_takes_a_use_back() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            deactivated(),
        ])
        .when(release(1))
        .then_expect_events(vec![released(1)]);
}

#[test]
fn rejects_releasing_a_use_spent_by_a_placed_order() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            confirmed(1),
        ])
        .when(release(1))
        .then_expect_error(PromotionError::RedemptionConfirmed {
            checkout_id: checkout(1),
        });
}

// --- ConfirmRedemption ---

#[test]
fn confirming_spends_a_reserved_use_for_good() {
    promotion_test()
        .given(vec![created(terms()), redeemed(1, Some(customer(1)))])
        .when(confirm(1))
        .then_expect_events(vec![confirmed(1)]);
    let promotion = replay(vec![
        created(terms()),
        redeemed(1, Some(customer(1))),
        confirmed(1),
    ]);
    assert_eq!(
        promotion.redemption(checkout(1)).unwrap().state(),
        RedemptionState::Confirmed
    );
    assert_eq!(promotion.active_redemptions(), 1);
    assert_eq!(promotion.uses_by(customer(1)), 1);
}

#[test]
fn confirming_twice_is_a_no_op() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            confirmed(1),
        ])
        .when(confirm(1))
        .then_expect_events(vec![]);
}

#[test]
fn a_reserved_use_is_confirmed_even_after_deactivation_or_the_end() {
    // After the pivot the saga only moves forward: nothing that happened to the code since
    // the checkout redeemed it may stop the confirmation.
    let ended = Terms {
        schedule: Schedule::new(Some(at(10)), Some(at(13))).unwrap(),
        ..terms()
    };
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            updated(ended),
            deactivated(),
        ])
        .when(confirm(1))
        .then_expect_events(vec![confirmed(1)]);
}

#[test]
fn rejects_confirming_a_use_given_back() {
    promotion_test()
        .given(vec![
            created(terms()),
            redeemed(1, Some(customer(1))),
            released(1),
        ])
        .when(confirm(1))
        .then_expect_error(PromotionError::RedemptionReleased {
            checkout_id: checkout(1),
        });
}

#[test]
fn rejects_confirming_for_a_checkout_that_never_redeemed() {
    promotion_test()
        .given(vec![created(terms())])
        .when(confirm(1))
        .then_expect_error(PromotionError::UnknownRedemption {
            checkout_id: checkout(1),
        });
}

// --- Snapshots ---

#[test]
fn the_state_survives_a_snapshot() {
    let promotion = replay(vec![
        created(terms()),
        redeemed(1, Some(customer(1))),
        redeemed(2, None),
        confirmed(1),
        released(2),
    ]);
    let json = serde_json::to_string(&promotion).unwrap();
    assert_eq!(serde_json::from_str::<Promotion>(&json).unwrap(), promotion);
}
