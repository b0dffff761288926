//! Given/when/then specifications of the checkout.

use cqrs_es::test::TestFramework;
use cqrs_es::DomainEvent;
use shared_kernel::{Currency, Money, MoneyError, OrderId, Sku};
use uuid::Uuid;

use super::Checkout;
use crate::commands::CheckoutCommand as C;
use crate::errors::CheckoutError;
use crate::events::CheckoutEvent as E;
use crate::testing::*;
use crate::values::{
    AppliedPromotion, AppliedShipping, AppliedTax, CheckoutStatus, FailureReason, PaymentProgress,
    TaxPart,
};

type CheckoutTest = TestFramework<Checkout>;

fn checkout_test() -> CheckoutTest {
    CheckoutTest::with(())
}

fn not_allowed(status: CheckoutStatus, command: &'static str) -> CheckoutError {
    CheckoutError::NotAllowed { status, command }
}

fn out_of_stock_reason() -> FailureReason {
    FailureReason::OutOfStock {
        sku: mug().into(),
        title: "Mug".into(),
    }
}

fn record_reserved(sku: Sku) -> C {
    C::RecordStockReserved { sku }
}

fn record_unavailable(sku: Sku) -> C {
    C::RecordStockUnavailable { sku }
}

fn record_committed(sku: Sku) -> C {
    C::RecordReservationCommitted { sku }
}

fn record_released(sku: Sku) -> C {
    C::RecordStockReleased { sku }
}

fn record_declined() -> C {
    C::RecordPaymentDeclined {
        message: "Your card has insufficient funds.".into(),
    }
}

fn record_unknown() -> C {
    C::RecordPaymentOutcomeUnknown {
        deadline: deadline(),
    }
}

fn record_placed() -> C {
    C::RecordOrderPlaced {
        order_id: placed_order(),
    }
}

fn record_rejected() -> C {
    C::RecordOrderRejected {
        reason: "invalid postal code".into(),
    }
}

fn every_record_command() -> Vec<C> {
    vec![
        record_reserved(tee()),
        record_unavailable(tee()),
        C::RecordPaymentAuthorized,
        record_declined(),
        record_unknown(),
        C::RecordPaymentDeadlinePassed,
        record_placed(),
        record_rejected(),
        C::RecordPaymentCaptured,
        record_committed(tee()),
        C::RecordCartCheckedOut,
        record_released(tee()),
        C::RecordPaymentVoided,
        C::RecordCartReleased,
    ]
}

// --- StartCheckout ---

#[test]
fn starting_a_checkout_records_its_lines_and_total() {
    checkout_test()
        .given_no_previous_events()
        .when(start())
        .then_expect_events(vec![started()]);
}

#[test]
fn unit_prices_are_stored_in_minor_units() {
    let events = checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![line(tee(), "Tee", 1, "19.9")]))
        .inspect_result()
        .unwrap();
    let json = serde_json::to_value(&events[0]).unwrap();
    let started = &json["CheckoutStarted"];
    assert_eq!(started["lines"][0]["unit_price"]["amount"], "19.90");
    assert_eq!(started["total"]["amount"], "19.90");
}

#[test]
fn rejects_a_checkout_without_lines() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![]))
        .then_expect_error(CheckoutError::NoLines);
}

#[test]
fn rejects_more_than_a_hundred_lines() {
    let lines = (0..101)
        .map(|i| line(sku(&format!("SKU-{i}")), "Thing", 1, "1.00"))
        .collect();
    checkout_test()
        .given_no_previous_events()
        .when(start_with(lines))
        .then_expect_error(CheckoutError::TooManyLines {
            max: 100,
            requested: 101,
        });
}

#[test]
fn rejects_two_lines_of_the_same_sku() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![
            line(tee(), "Tee", 1, "19.90"),
            line(tee(), "Tee", 2, "19.90"),
        ]))
        .then_expect_error(CheckoutError::DuplicateLine { sku: tee() });
}

#[test]
fn rejects_a_line_priced_in_another_currency() {
    let mut usd = line(tee(), "Tee", 1, "19.90");
    usd.unit_price = Money::parse("19.90", "USD").unwrap();
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![usd]))
        .then_expect_error(CheckoutError::CurrencyMismatch {
            sku: tee(),
            checkout: Currency::EUR,
            price: Currency::USD,
        });
}

#[test]
fn rejects_a_negative_price() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![line(tee(), "Tee", 1, "-1.00")]))
        .then_expect_error(CheckoutError::InvalidPrice {
            sku: tee(),
            reason: MoneyError::NegativeAmount,
        });
}

#[test]
fn rejects_a_price_finer_than_the_currency_allows() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![line(tee(), "Tee", 1, "19.999")]))
        .then_expect_error(CheckoutError::InvalidPrice {
            sku: tee(),
            reason: MoneyError::TooPrecise {
                currency: Currency::EUR,
                minor_units: 2,
            },
        });
}

#[test]
fn rejects_a_checkout_with_nothing_to_pay() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with(vec![line(tee(), "Free tee", 2, "0.00")]))
        .then_expect_error(CheckoutError::NothingToPay);
}

#[test]
fn repeating_the_start_changes_nothing() {
    checkout_test()
        .given(reserving())
        .when(start())
        .then_expect_events(vec![]);
}

#[test]
fn repeating_the_start_at_a_later_time_changes_nothing() {
    let C::StartCheckout {
        checkout_id,
        cart_id,
        customer_id,
        email,
        shipping,
        currency,
        lines,
        ..
    } = start()
    else {
        unreachable!()
    };
    checkout_test()
        .given(authorizing())
        .when(C::StartCheckout {
            checkout_id,
            cart_id,
            customer_id,
            email,
            shipping,
            currency,
            lines,
            started_at: deadline(),
            promotion: None,
            shipping_method: None,
            tax: None,
        })
        .then_expect_events(vec![]);
}

#[test]
fn repeating_the_start_of_a_finished_checkout_changes_nothing() {
    for history in [completed(), failed()] {
        checkout_test()
            .given(history)
            .when(start())
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_another_checkout_under_the_same_id() {
    checkout_test()
        .given(reserving())
        .when(start_with(vec![line(tee(), "Tee (S)", 3, "19.90")]))
        .then_expect_error(CheckoutError::AlreadyExists);
}

#[test]
fn rejects_an_invalid_start_under_an_existing_id_as_a_conflict() {
    checkout_test()
        .given(reserving())
        .when(start_with(vec![]))
        .then_expect_error(CheckoutError::AlreadyExists);
}

#[test]
fn rejects_every_outcome_before_the_checkout_starts() {
    for command in every_record_command() {
        checkout_test()
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CheckoutError::NotFound);
    }
}

#[test]
fn rejects_outcomes_for_a_sku_the_checkout_does_not_have() {
    let stranger = sku("SOCKS");
    let commands = [
        record_reserved(stranger.clone()),
        record_unavailable(stranger.clone()),
        record_committed(stranger.clone()),
        record_released(stranger.clone()),
    ];
    for command in commands {
        checkout_test()
            .given(reserving())
            .when(command)
            .then_expect_error(CheckoutError::UnknownLine {
                sku: stranger.clone(),
            });
    }
}

// --- RecordStockReserved ---

#[test]
fn a_reserved_line_is_recorded() {
    checkout_test()
        .given(reserving())
        .when(record_reserved(tee()))
        .then_expect_events(vec![reserved(tee())]);
}

#[test]
fn reserving_the_last_line_moves_on_to_the_payment() {
    checkout_test()
        .given(and(reserving(), vec![reserved(tee()), reserved(cap())]))
        .when(record_reserved(mug()))
        .then_expect_events(vec![reserved(mug()), E::ReservationsCompleted {}]);
}

#[test]
fn a_single_line_checkout_moves_on_with_its_only_reservation() {
    let single = vec![line(tee(), "Tee", 1, "19.90")];
    let events = checkout_test()
        .given_no_previous_events()
        .when(start_with(single))
        .inspect_result()
        .unwrap();
    checkout_test()
        .given(events)
        .when(record_reserved(tee()))
        .then_expect_events(vec![reserved(tee()), E::ReservationsCompleted {}]);
}

#[test]
fn a_repeated_reservation_changes_nothing() {
    for history in [
        and(reserving(), vec![reserved(tee())]),
        authorizing(),
        finalizing(),
        completed(),
        payment_declined(),
    ] {
        checkout_test()
            .given(history)
            .when(record_reserved(tee()))
            .then_expect_events(vec![]);
    }
}

#[test]
fn a_reservation_answered_during_compensation_is_recorded_so_it_is_released() {
    checkout_test()
        .given(out_of_stock())
        .when(record_reserved(cap()))
        .then_expect_events(vec![reserved(cap())]);
}

#[test]
fn a_reservation_answered_after_the_checkout_failed_changes_nothing() {
    checkout_test()
        .given(failed())
        .when(record_reserved(cap()))
        .then_expect_events(vec![]);
}

// --- RecordStockUnavailable ---

#[test]
fn an_unavailable_line_starts_compensation() {
    checkout_test()
        .given(and(reserving(), vec![reserved(tee())]))
        .when(record_unavailable(mug()))
        .then_expect_events(vec![unavailable(mug())]);
}

#[test]
fn an_unavailable_line_fails_the_checkout_with_its_title() {
    let checkout = replay(out_of_stock());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Compensating));
    assert_eq!(checkout.failure(), Some(&out_of_stock_reason()));
}

#[test]
fn rejects_unavailability_of_a_line_already_reserved() {
    checkout_test()
        .given(and(reserving(), vec![reserved(tee())]))
        .when(record_unavailable(tee()))
        .then_expect_error(not_allowed(
            CheckoutStatus::Reserving,
            "RecordStockUnavailable",
        ));
}

#[test]
fn rejects_unavailability_once_every_line_is_reserved() {
    let cases = [
        (authorizing(), CheckoutStatus::Authorizing),
        (placing_order(), CheckoutStatus::PlacingOrder),
        (finalizing(), CheckoutStatus::Finalizing),
        (completed(), CheckoutStatus::Completed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_unavailable(cap()))
            .then_expect_error(not_allowed(status, "RecordStockUnavailable"));
    }
}

#[test]
fn more_unavailability_while_failing_changes_nothing() {
    for history in [out_of_stock(), payment_declined(), failed()] {
        checkout_test()
            .given(history)
            .when(record_unavailable(cap()))
            .then_expect_events(vec![]);
    }
}

// --- RecordPaymentAuthorized ---

#[test]
fn an_authorized_payment_moves_on_to_the_order() {
    checkout_test()
        .given(authorizing())
        .when(C::RecordPaymentAuthorized)
        .then_expect_events(vec![E::PaymentAuthorized {}]);
}

#[test]
fn an_authorization_found_after_a_lost_answer_moves_on_to_the_order() {
    checkout_test()
        .given(payment_unknown())
        .when(C::RecordPaymentAuthorized)
        .then_expect_events(vec![E::PaymentAuthorized {}]);
}

#[test]
fn a_repeated_authorization_changes_nothing() {
    for history in [placing_order(), finalizing(), completed(), order_rejected()] {
        checkout_test()
            .given(history)
            .when(C::RecordPaymentAuthorized)
            .then_expect_events(vec![]);
    }
}

#[test]
fn an_authorization_after_the_deadline_is_recorded_so_it_is_voided() {
    checkout_test()
        .given(payment_timed_out())
        .when(C::RecordPaymentAuthorized)
        .then_expect_events(vec![E::PaymentAuthorized {}]);
}

#[test]
fn a_late_authorization_keeps_the_checkout_compensating() {
    let checkout = replay(and(payment_timed_out(), vec![E::PaymentAuthorized {}]));
    assert_eq!(checkout.status(), Some(CheckoutStatus::Compensating));
    assert_eq!(checkout.payment(), PaymentProgress::Authorized);
    assert_eq!(checkout.failure(), Some(&FailureReason::PaymentTimedOut));
}

#[test]
fn an_authorization_after_the_void_changes_nothing() {
    for history in [
        and(payment_timed_out(), vec![E::PaymentVoided {}]),
        failed_after_timeout(),
    ] {
        checkout_test()
            .given(history)
            .when(C::RecordPaymentAuthorized)
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_an_authorization_that_was_never_asked_for() {
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (out_of_stock(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(C::RecordPaymentAuthorized)
            .then_expect_error(not_allowed(status, "RecordPaymentAuthorized"));
    }
}

#[test]
fn rejects_an_authorization_after_a_decline() {
    checkout_test()
        .given(payment_declined())
        .when(C::RecordPaymentAuthorized)
        .then_expect_error(not_allowed(
            CheckoutStatus::Compensating,
            "RecordPaymentAuthorized",
        ));
}

// --- RecordPaymentDeclined ---

#[test]
fn a_declined_payment_starts_compensation() {
    checkout_test()
        .given(authorizing())
        .when(record_declined())
        .then_expect_events(vec![declined()]);
}

#[test]
fn a_decline_found_after_a_lost_answer_starts_compensation() {
    checkout_test()
        .given(payment_unknown())
        .when(record_declined())
        .then_expect_events(vec![declined()]);
}

#[test]
fn a_decline_fails_the_checkout_with_the_providers_message() {
    let checkout = replay(payment_declined());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Compensating));
    assert_eq!(
        checkout.failure(),
        Some(&FailureReason::PaymentDeclined {
            message: "Your card has insufficient funds.".into()
        })
    );
}

#[test]
fn a_repeated_or_late_decline_changes_nothing() {
    for history in [
        payment_declined(),
        payment_timed_out(),
        failed_after_timeout(),
    ] {
        checkout_test()
            .given(history)
            .when(record_declined())
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_a_decline_of_an_authorized_payment() {
    let cases = [
        (placing_order(), CheckoutStatus::PlacingOrder),
        (finalizing(), CheckoutStatus::Finalizing),
        (completed(), CheckoutStatus::Completed),
        (order_rejected(), CheckoutStatus::Compensating),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_declined())
            .then_expect_error(not_allowed(status, "RecordPaymentDeclined"));
    }
}

#[test]
fn rejects_a_decline_that_was_never_asked_for() {
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (out_of_stock(), CheckoutStatus::Compensating),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_declined())
            .then_expect_error(not_allowed(status, "RecordPaymentDeclined"));
    }
}

// --- RecordPaymentOutcomeUnknown ---

#[test]
fn a_lost_answer_records_the_deadline_and_keeps_authorizing() {
    checkout_test()
        .given(authorizing())
        .when(record_unknown())
        .then_expect_events(vec![unknown()]);
    let checkout = replay(payment_unknown());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Authorizing));
    assert_eq!(checkout.payment(), PaymentProgress::Unknown);
    assert_eq!(checkout.payment_deadline(), Some(deadline()));
}

#[test]
fn a_second_lost_answer_keeps_the_first_deadline() {
    checkout_test()
        .given(payment_unknown())
        .when(C::RecordPaymentOutcomeUnknown {
            deadline: deadline() + chrono::Duration::minutes(5),
        })
        .then_expect_events(vec![]);
}

#[test]
fn a_lost_answer_reported_after_the_outcome_is_known_changes_nothing() {
    for history in [
        placing_order(),
        finalizing(),
        completed(),
        payment_declined(),
        payment_timed_out(),
        failed_after_timeout(),
    ] {
        checkout_test()
            .given(history)
            .when(record_unknown())
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_a_lost_answer_when_no_payment_was_asked_for() {
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (out_of_stock(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_unknown())
            .then_expect_error(not_allowed(status, "RecordPaymentOutcomeUnknown"));
    }
}

// --- RecordPaymentDeadlinePassed ---

#[test]
fn a_deadline_passing_with_the_outcome_unknown_times_the_payment_out() {
    checkout_test()
        .given(payment_unknown())
        .when(C::RecordPaymentDeadlinePassed)
        .then_expect_events(vec![E::PaymentTimedOut {}]);
}

#[test]
fn a_timed_out_payment_fails_the_checkout() {
    let checkout = replay(payment_timed_out());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Compensating));
    assert_eq!(checkout.payment(), PaymentProgress::TimedOut);
    assert_eq!(checkout.failure(), Some(&FailureReason::PaymentTimedOut));
}

#[test]
fn a_deadline_passing_when_the_outcome_is_not_unknown_changes_nothing() {
    for history in [
        reserving(),
        authorizing(),
        placing_order(),
        finalizing(),
        completed(),
        payment_declined(),
        payment_timed_out(),
        failed(),
    ] {
        checkout_test()
            .given(history)
            .when(C::RecordPaymentDeadlinePassed)
            .then_expect_events(vec![]);
    }
}

// --- RecordOrderPlaced ---

#[test]
fn placing_the_order_passes_the_pivot() {
    checkout_test()
        .given(placing_order())
        .when(record_placed())
        .then_expect_events(vec![E::OrderPlaced {
            order_id: placed_order(),
        }]);
}

#[test]
fn a_repeated_placement_changes_nothing() {
    for history in [finalizing(), completed()] {
        checkout_test()
            .given(history)
            .when(record_placed())
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_a_placement_under_another_order_id() {
    checkout_test()
        .given(finalizing())
        .when(C::RecordOrderPlaced {
            order_id: OrderId::from_uuid(Uuid::from_u128(99)),
        })
        .then_expect_error(not_allowed(CheckoutStatus::Finalizing, "RecordOrderPlaced"));
}

#[test]
fn rejects_a_placement_before_the_payment_is_authorized() {
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (authorizing(), CheckoutStatus::Authorizing),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_placed())
            .then_expect_error(not_allowed(status, "RecordOrderPlaced"));
    }
}

#[test]
fn rejects_a_placement_once_the_checkout_is_failing() {
    let cases = [
        (order_rejected(), CheckoutStatus::Compensating),
        (payment_declined(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_placed())
            .then_expect_error(not_allowed(status, "RecordOrderPlaced"));
    }
}

// --- RecordOrderRejected ---

#[test]
fn a_rejected_order_starts_compensation() {
    checkout_test()
        .given(placing_order())
        .when(record_rejected())
        .then_expect_events(vec![rejected()]);
}

#[test]
fn a_repeated_rejection_changes_nothing() {
    let failed_after_rejection = and(
        order_rejected(),
        vec![
            E::PaymentVoided {},
            released(tee()),
            released(mug()),
            released(cap()),
            E::CartReleased {},
            E::CheckoutFailed {
                reason: FailureReason::OrderRejected {
                    reason: "invalid postal code".into(),
                },
            },
        ],
    );
    for history in [order_rejected(), failed_after_rejection] {
        checkout_test()
            .given(history)
            .when(record_rejected())
            .then_expect_events(vec![]);
    }
}

#[test]
fn rejects_a_rejection_after_the_pivot() {
    let cases = [
        (finalizing(), CheckoutStatus::Finalizing),
        (completed(), CheckoutStatus::Completed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_rejected())
            .then_expect_error(not_allowed(status, "RecordOrderRejected"));
    }
}

#[test]
fn rejects_a_rejection_of_an_order_that_was_never_asked_for() {
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (authorizing(), CheckoutStatus::Authorizing),
        (payment_declined(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(record_rejected())
            .then_expect_error(not_allowed(status, "RecordOrderRejected"));
    }
}

// --- Finalizing: capture, commit, cart ---

#[test]
fn a_capture_is_recorded() {
    checkout_test()
        .given(finalizing())
        .when(C::RecordPaymentCaptured)
        .then_expect_events(vec![E::PaymentCaptured {}]);
}

#[test]
fn a_committed_reservation_is_recorded() {
    checkout_test()
        .given(finalizing())
        .when(record_committed(mug()))
        .then_expect_events(vec![committed(mug())]);
}

#[test]
fn a_checked_out_cart_is_recorded() {
    checkout_test()
        .given(finalizing())
        .when(C::RecordCartCheckedOut)
        .then_expect_events(vec![E::CartCheckedOut {}]);
}

#[test]
fn the_last_finalizing_step_completes_the_checkout() {
    let done = E::CheckoutCompleted {
        order_id: placed_order(),
    };
    let all_committed = || vec![committed(tee()), committed(mug()), committed(cap())];
    checkout_test()
        .given(and(
            finalizing(),
            [
                all_committed(),
                vec![E::CartCheckedOut {}, E::PaymentCaptured {}],
            ]
            .concat(),
        ))
        .when(C::RecordOrderPaid)
        .then_expect_events(vec![E::OrderMarkedPaid {}, done.clone()]);
    checkout_test()
        .given(and(
            finalizing(),
            vec![
                E::PaymentCaptured {},
                E::OrderMarkedPaid {},
                committed(tee()),
                committed(cap()),
                E::CartCheckedOut {},
            ],
        ))
        .when(record_committed(mug()))
        .then_expect_events(vec![committed(mug()), done.clone()]);
    checkout_test()
        .given(and(
            finalizing(),
            [
                vec![E::PaymentCaptured {}, E::OrderMarkedPaid {}],
                all_committed(),
            ]
            .concat(),
        ))
        .when(C::RecordCartCheckedOut)
        .then_expect_events(vec![E::CartCheckedOut {}, done]);
}

#[test]
fn a_capture_alone_does_not_complete_the_checkout_before_the_order_knows() {
    checkout_test()
        .given(and(
            finalizing(),
            vec![
                committed(tee()),
                committed(mug()),
                committed(cap()),
                E::CartCheckedOut {},
            ],
        ))
        .when(C::RecordPaymentCaptured)
        .then_expect_events(vec![E::PaymentCaptured {}]);
}

#[test]
fn steps_that_still_went_through_are_recorded_after_a_refusal_without_completing() {
    let stuck = and(
        finalizing(),
        vec![E::CheckoutNeedsAttention {
            step: "capture_payment".into(),
            reason: "refused".into(),
        }],
    );
    checkout_test()
        .given(stuck.clone())
        .when(record_committed(tee()))
        .then_expect_events(vec![committed(tee())]);
    checkout_test()
        .given(stuck.clone())
        .when(C::RecordCartCheckedOut)
        .then_expect_events(vec![E::CartCheckedOut {}]);
    checkout_test()
        .given(stuck.clone())
        .when(C::RecordOrderPaid)
        .then_expect_error(CheckoutError::NotAllowed {
            status: CheckoutStatus::NeedsAttention,
            command: "RecordOrderPaid",
        });
    let mut all_but_capture = stuck;
    all_but_capture.extend([
        committed(tee()),
        committed(mug()),
        committed(cap()),
        E::CartCheckedOut {},
    ]);
    let checkout = replay(all_but_capture.clone());
    assert_eq!(checkout.status(), Some(CheckoutStatus::NeedsAttention));
    checkout_test()
        .given(all_but_capture)
        .when(record_committed(tee()))
        .then_expect_events(vec![]);
}

#[test]
fn the_order_is_recorded_paid_only_after_the_capture_and_once() {
    checkout_test()
        .given(finalizing())
        .when(C::RecordOrderPaid)
        .then_expect_error(CheckoutError::NotAllowed {
            status: CheckoutStatus::Finalizing,
            command: "RecordOrderPaid",
        });
    checkout_test()
        .given(and(
            finalizing(),
            vec![E::PaymentCaptured {}, E::OrderMarkedPaid {}],
        ))
        .when(C::RecordOrderPaid)
        .then_expect_events(vec![]);
}

#[test]
fn a_step_refused_after_the_pivot_leaves_the_checkout_needing_attention() {
    let refused = || C::RecordStepRefused {
        step: "commit_stock:TEE-S".into(),
        reason: "reservation expired".into(),
    };
    let attention = E::CheckoutNeedsAttention {
        step: "commit_stock:TEE-S".into(),
        reason: "reservation expired".into(),
    };
    checkout_test()
        .given(and(finalizing(), vec![E::PaymentCaptured {}]))
        .when(refused())
        .then_expect_events(vec![attention.clone()]);
    let stuck = replay(and(finalizing(), vec![attention.clone()]));
    assert_eq!(stuck.status(), Some(CheckoutStatus::NeedsAttention));
    assert_eq!(
        stuck.attention(),
        Some(("commit_stock:TEE-S", "reservation expired"))
    );
    assert_eq!(
        CheckoutStatus::NeedsAttention.public(),
        crate::values::PublicStatus::Pending
    );
    checkout_test()
        .given(and(finalizing(), vec![attention]))
        .when(refused())
        .then_expect_events(vec![]);
    for history in [reserving(), completed()] {
        let status = replay(history.clone()).status().unwrap();
        checkout_test()
            .given(history)
            .when(refused())
            .then_expect_error(CheckoutError::NotAllowed {
                status,
                command: "RecordStepRefused",
            });
    }
}

#[test]
fn the_checkout_waits_for_every_commit_before_completing() {
    checkout_test()
        .given(and(
            finalizing(),
            vec![
                E::PaymentCaptured {},
                committed(tee()),
                E::CartCheckedOut {},
            ],
        ))
        .when(record_committed(mug()))
        .then_expect_events(vec![committed(mug())]);
}

#[test]
fn repeated_finalizing_steps_change_nothing() {
    let commands = [
        C::RecordPaymentCaptured,
        record_committed(tee()),
        C::RecordCartCheckedOut,
    ];
    let finalized_but_one = and(
        finalizing(),
        vec![
            E::PaymentCaptured {},
            committed(tee()),
            E::CartCheckedOut {},
        ],
    );
    for history in [finalized_but_one, completed()] {
        for command in commands.clone() {
            checkout_test()
                .given(history.clone())
                .when(command)
                .then_expect_events(vec![]);
        }
    }
}

#[test]
fn rejects_finalizing_steps_before_the_pivot() {
    let commands = [
        C::RecordPaymentCaptured,
        record_committed(tee()),
        C::RecordCartCheckedOut,
    ];
    let cases = [
        (reserving(), CheckoutStatus::Reserving),
        (authorizing(), CheckoutStatus::Authorizing),
        (placing_order(), CheckoutStatus::PlacingOrder),
        (order_rejected(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        for command in commands.clone() {
            let name = command.name();
            checkout_test()
                .given(history.clone())
                .when(command)
                .then_expect_error(not_allowed(status, name));
        }
    }
}

// --- Compensating: release stock, void payment, release cart ---

#[test]
fn a_released_reservation_is_recorded() {
    checkout_test()
        .given(payment_declined())
        .when(record_released(mug()))
        .then_expect_events(vec![released(mug())]);
}

#[test]
fn a_voided_payment_is_recorded() {
    checkout_test()
        .given(order_rejected())
        .when(C::RecordPaymentVoided)
        .then_expect_events(vec![E::PaymentVoided {}]);
}

#[test]
fn a_released_cart_is_recorded() {
    checkout_test()
        .given(order_rejected())
        .when(C::RecordCartReleased)
        .then_expect_events(vec![E::CartReleased {}]);
}

#[test]
fn an_out_of_stock_checkout_fails_once_every_line_and_the_cart_are_released() {
    checkout_test()
        .given(and(
            out_of_stock(),
            vec![released(tee()), released(mug()), released(cap())],
        ))
        .when(C::RecordCartReleased)
        .then_expect_events(vec![
            E::CartReleased {},
            E::CheckoutFailed {
                reason: out_of_stock_reason(),
            },
        ]);
}

#[test]
fn a_late_reservation_delays_the_failure_until_it_is_released() {
    let history = and(
        out_of_stock(),
        vec![reserved(cap()), released(tee()), released(mug())],
    );
    checkout_test()
        .given(history.clone())
        .when(C::RecordCartReleased)
        .then_expect_events(vec![E::CartReleased {}]);
    checkout_test()
        .given(and(history, vec![E::CartReleased {}]))
        .when(record_released(cap()))
        .then_expect_events(vec![
            released(cap()),
            E::CheckoutFailed {
                reason: out_of_stock_reason(),
            },
        ]);
}

#[test]
fn a_declined_checkout_fails_without_a_void() {
    checkout_test()
        .given(and(
            payment_declined(),
            vec![released(tee()), released(mug()), E::CartReleased {}],
        ))
        .when(record_released(cap()))
        .then_expect_events(vec![
            released(cap()),
            E::CheckoutFailed {
                reason: FailureReason::PaymentDeclined {
                    message: "Your card has insufficient funds.".into(),
                },
            },
        ]);
}

#[test]
fn a_timed_out_checkout_fails_only_after_the_void() {
    let released_everything = and(
        payment_timed_out(),
        vec![
            released(tee()),
            released(mug()),
            released(cap()),
            E::CartReleased {},
        ],
    );
    checkout_test()
        .given(released_everything)
        .when(C::RecordPaymentVoided)
        .then_expect_events(vec![
            E::PaymentVoided {},
            E::CheckoutFailed {
                reason: FailureReason::PaymentTimedOut,
            },
        ]);
}

#[test]
fn a_rejected_order_fails_only_after_the_void() {
    let released_everything = and(
        order_rejected(),
        vec![
            released(tee()),
            released(mug()),
            released(cap()),
            E::CartReleased {},
        ],
    );
    checkout_test()
        .given(released_everything.clone())
        .when(C::RecordPaymentVoided)
        .then_expect_events(vec![
            E::PaymentVoided {},
            E::CheckoutFailed {
                reason: FailureReason::OrderRejected {
                    reason: "invalid postal code".into(),
                },
            },
        ]);
}

#[test]
fn repeated_compensations_change_nothing() {
    let compensating = and(
        payment_timed_out(),
        vec![E::PaymentVoided {}, released(tee()), E::CartReleased {}],
    );
    let commands = [
        record_released(tee()),
        C::RecordPaymentVoided,
        C::RecordCartReleased,
    ];
    for history in [compensating, failed_after_timeout()] {
        for command in commands.clone() {
            checkout_test()
                .given(history.clone())
                .when(command)
                .then_expect_events(vec![]);
        }
    }
}

#[test]
fn records_the_release_of_a_line_never_recorded_as_reserved() {
    checkout_test()
        .given(out_of_stock())
        .when(record_released(mug()))
        .then_expect_events(vec![released(mug())]);
}

#[test]
fn rejects_a_void_when_no_payment_may_be_held() {
    let cases = [
        (out_of_stock(), CheckoutStatus::Compensating),
        (payment_declined(), CheckoutStatus::Compensating),
        (failed(), CheckoutStatus::Failed),
    ];
    for (history, status) in cases {
        checkout_test()
            .given(history)
            .when(C::RecordPaymentVoided)
            .then_expect_error(not_allowed(status, "RecordPaymentVoided"));
    }
}

#[test]
fn rejects_compensation_while_nothing_has_failed() {
    let commands = [
        record_released(tee()),
        C::RecordPaymentVoided,
        C::RecordCartReleased,
    ];
    let cases = [
        (
            and(reserving(), vec![reserved(tee())]),
            CheckoutStatus::Reserving,
        ),
        (payment_unknown(), CheckoutStatus::Authorizing),
        (placing_order(), CheckoutStatus::PlacingOrder),
    ];
    for (history, status) in cases {
        for command in commands.clone() {
            let name = command.name();
            checkout_test()
                .given(history.clone())
                .when(command)
                .then_expect_error(not_allowed(status, name));
        }
    }
}

#[test]
fn rejects_compensation_after_the_pivot() {
    let commands = [
        record_released(tee()),
        C::RecordPaymentVoided,
        C::RecordCartReleased,
    ];
    let cases = [
        (finalizing(), CheckoutStatus::Finalizing),
        (completed(), CheckoutStatus::Completed),
    ];
    for (history, status) in cases {
        for command in commands.clone() {
            let name = command.name();
            checkout_test()
                .given(history.clone())
                .when(command)
                .then_expect_error(not_allowed(status, name));
        }
    }
}

// --- State and accessors ---

#[test]
fn a_checkout_that_has_not_started_knows_nothing() {
    let checkout = Checkout::default();
    assert_eq!(checkout.id(), None);
    assert_eq!(checkout.status(), None);
    assert_eq!(checkout.total(), None);
    assert!(checkout.lines().is_empty());
    assert_eq!(checkout.payment(), PaymentProgress::NotRequested);
}

#[test]
fn a_started_checkout_exposes_its_terms() {
    let checkout = replay(reserving());
    assert_eq!(checkout.id(), Some(checkout_id()));
    assert_eq!(checkout.status(), Some(CheckoutStatus::Reserving));
    assert_eq!(checkout.cart_id(), Some(cart_id()));
    assert_eq!(checkout.customer_id(), Some(customer()));
    assert_eq!(checkout.email(), Some(&email()));
    assert_eq!(checkout.shipping(), Some(&shipping()));
    assert_eq!(checkout.currency(), Some(Currency::EUR));
    assert_eq!(checkout.lines(), lines().as_slice());
    assert_eq!(checkout.line(&mug()).map(|l| l.title.as_str()), Some("Mug"));
    assert_eq!(checkout.total(), Some(total()));
    assert_eq!(checkout.started_at(), Some(started_at()));
    assert_eq!(checkout.payment(), PaymentProgress::NotRequested);
}

#[test]
fn a_completed_checkout_records_every_forward_step() {
    let checkout = replay(completed());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Completed));
    assert_eq!(checkout.order_id(), Some(placed_order()));
    assert_eq!(checkout.payment(), PaymentProgress::Authorized);
    assert!(checkout.payment_captured());
    assert!(checkout.cart_checked_out());
    assert!(checkout.all_reserved());
    for line in lines() {
        assert!(checkout.is_committed(&line.sku));
        assert!(!checkout.is_released(&line.sku));
    }
    assert_eq!(checkout.failure(), None);
}

#[test]
fn a_failed_checkout_records_every_compensation() {
    let checkout = replay(failed_after_timeout());
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    assert_eq!(checkout.failure(), Some(&FailureReason::PaymentTimedOut));
    assert!(checkout.payment_voided());
    assert!(checkout.cart_released());
    for line in lines() {
        assert!(checkout.is_released(&line.sku));
    }
    assert_eq!(checkout.order_id(), None);
}

#[test]
fn the_aggregate_survives_a_snapshot_round_trip() {
    for history in [completed(), failed_after_timeout(), payment_unknown()] {
        let checkout = replay(history);
        let json = serde_json::to_string(&checkout).unwrap();
        assert_eq!(serde_json::from_str::<Checkout>(&json).unwrap(), checkout);
    }
}

#[test]
fn events_have_stable_type_names_and_version_two() {
    let cases = [
        (started(), "CheckoutStarted"),
        (reserved(tee()), "StockReserved"),
        (E::ReservationsCompleted {}, "ReservationsCompleted"),
        (unavailable(tee()), "StockUnavailable"),
        (E::PaymentAuthorized {}, "PaymentAuthorized"),
        (declined(), "PaymentDeclined"),
        (unknown(), "PaymentOutcomeUnknown"),
        (E::PaymentTimedOut {}, "PaymentTimedOut"),
        (
            E::OrderPlaced {
                order_id: placed_order(),
            },
            "OrderPlaced",
        ),
        (rejected(), "OrderRejected"),
        (E::PaymentCaptured {}, "PaymentCaptured"),
        (committed(tee()), "ReservationCommitted"),
        (E::CartCheckedOut {}, "CartCheckedOut"),
        (
            E::CheckoutCompleted {
                order_id: placed_order(),
            },
            "CheckoutCompleted",
        ),
        (released(tee()), "StockReleased"),
        (E::PaymentVoided {}, "PaymentVoided"),
        (E::CartReleased {}, "CartReleased"),
        (
            E::CheckoutFailed {
                reason: FailureReason::PaymentTimedOut,
            },
            "CheckoutFailed",
        ),
    ];
    for (event, name) in cases {
        assert_eq!(event.event_type(), name);
        assert_eq!(event.event_version(), "2");
    }
}

// --- A promotion code ---

fn with_code() -> Vec<E> {
    vec![started_with_promotion()]
}

#[test]
fn a_checkout_with_a_code_charges_the_lines_less_the_discount() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with_promotion(promotion()))
        .then_expect_events(vec![started_with_promotion()]);
}

#[test]
fn a_discount_that_does_not_fit_the_lines_is_refused() {
    let misfits = [
        AppliedPromotion {
            line_discounts: vec![eur("3.98"), eur("3.60")],
            ..promotion()
        },
        AppliedPromotion {
            discount: eur("7.59"),
            ..promotion()
        },
        AppliedPromotion {
            discount: eur("39.81"),
            line_discounts: vec![eur("39.81"), eur("0.00"), eur("0.00")],
            ..promotion()
        },
        AppliedPromotion {
            discount: eur("-1.00"),
            line_discounts: vec![eur("-1.00"), eur("0.00"), eur("0.00")],
            ..promotion()
        },
        AppliedPromotion {
            discount: eur("0.005"),
            line_discounts: vec![eur("0.005"), eur("0.00"), eur("0.00")],
            ..promotion()
        },
        AppliedPromotion {
            code: " ".into(),
            ..promotion()
        },
    ];
    for promotion in misfits {
        let result = checkout_test()
            .given_no_previous_events()
            .when(start_with_promotion(promotion.clone()))
            .inspect_result();
        assert!(
            matches!(result, Err(CheckoutError::InvalidPromotion { .. })),
            "{promotion:?}: {result:?}"
        );
    }
}

#[test]
fn a_discount_of_everything_leaves_nothing_to_pay() {
    let everything = AppliedPromotion {
        code: "ALL".into(),
        discount: total(),
        line_discounts: vec![eur("39.80"), eur("8.50"), eur("36.00")],
        shipping_discount: None,
    };
    checkout_test()
        .given_no_previous_events()
        .when(start_with_promotion(everything))
        .then_expect_error(CheckoutError::NothingToPay);
}

#[test]
fn a_restart_with_another_code_is_a_different_checkout() {
    checkout_test()
        .given(with_code())
        .when(start())
        .then_expect_error(CheckoutError::AlreadyExists);
    checkout_test()
        .given(with_code())
        .when(start_with_promotion(promotion()))
        .then_expect_events(vec![]);
}

#[test]
fn a_redeemed_code_lets_the_stock_be_reserved_and_a_repeat_changes_nothing() {
    checkout_test()
        .given(with_code())
        .when(C::RecordPromotionRedeemed)
        .then_expect_events(vec![E::PromotionRedeemed {}]);
    checkout_test()
        .given(and(with_code(), vec![E::PromotionRedeemed {}]))
        .when(C::RecordPromotionRedeemed)
        .then_expect_events(vec![]);
}

#[test]
fn the_reservations_complete_only_once_the_code_is_redeemed() {
    let all_reserved = and(
        with_code(),
        vec![E::PromotionRedeemed {}, reserved(tee()), reserved(mug())],
    );
    checkout_test()
        .given(all_reserved)
        .when(C::RecordStockReserved { sku: cap() })
        .then_expect_events(vec![reserved(cap()), E::ReservationsCompleted {}]);
}

#[test]
fn a_refused_code_fails_the_checkout_with_the_shoppers_reason() {
    let refusal = || C::RecordPromotionRefused {
        refusal: "promotion_used_up".into(),
        message: "this code has been used as many times as it can be".into(),
    };
    checkout_test()
        .given(with_code())
        .when(refusal())
        .then_expect_events(vec![E::PromotionRefused {
            refusal: "promotion_used_up".into(),
            message: "this code has been used as many times as it can be".into(),
        }]);
    let refused = and(
        with_code(),
        vec![E::PromotionRefused {
            refusal: "promotion_used_up".into(),
            message: "used up".into(),
        }],
    );
    assert_eq!(
        replay(refused.clone()).failure(),
        Some(&FailureReason::PromotionRefused {
            promotion_code: "SPRING".into(),
            refusal: "promotion_used_up".into(),
            message: "used up".into(),
        })
    );
    checkout_test()
        .given(refused.clone())
        .when(refusal())
        .then_expect_events(vec![]);
    // Nothing is held: releasing the cart ends the compensation.
    checkout_test()
        .given(refused)
        .when(C::RecordCartReleased)
        .then_expect_events(vec![
            E::CartReleased {},
            E::CheckoutFailed {
                reason: FailureReason::PromotionRefused {
                    promotion_code: "SPRING".into(),
                    refusal: "promotion_used_up".into(),
                    message: "used up".into(),
                },
            },
        ]);
}

#[test]
fn a_refusal_after_the_redemption_is_refused_as_a_contradiction() {
    checkout_test()
        .given(and(with_code(), vec![E::PromotionRedeemed {}]))
        .when(C::RecordPromotionRefused {
            refusal: "promotion_used_up".into(),
            message: String::new(),
        })
        .then_expect_error(CheckoutError::NotAllowed {
            status: CheckoutStatus::Reserving,
            command: "RecordPromotionRefused",
        });
}

#[test]
fn promotion_outcomes_of_a_checkout_without_a_code_are_refused() {
    for command in [
        C::RecordPromotionRedeemed,
        C::RecordRedemptionConfirmed,
        C::RecordRedemptionReleased,
    ] {
        let name = command.name();
        checkout_test()
            .given(reserving())
            .when(command)
            .then_expect_error(CheckoutError::NotAllowed {
                status: CheckoutStatus::Reserving,
                command: name,
            });
    }
}

#[test]
fn a_failing_checkout_with_a_held_use_fails_only_once_it_is_given_back() {
    let compensating = and(
        with_code(),
        vec![
            E::PromotionRedeemed {},
            reserved(tee()),
            unavailable(mug()),
            E::CartReleased {},
            released(tee()),
            released(mug()),
            released(cap()),
        ],
    );
    checkout_test()
        .given(compensating.clone())
        .when(C::RecordRedemptionReleased)
        .then_expect_events(vec![
            E::RedemptionReleased {},
            E::CheckoutFailed {
                reason: FailureReason::OutOfStock {
                    sku: mug().into(),
                    title: "Mug".into(),
                },
            },
        ]);
    let failed = and(
        compensating,
        vec![
            E::RedemptionReleased {},
            E::CheckoutFailed {
                reason: FailureReason::OutOfStock {
                    sku: mug().into(),
                    title: "Mug".into(),
                },
            },
        ],
    );
    checkout_test()
        .given(failed)
        .when(C::RecordRedemptionReleased)
        .then_expect_events(vec![]);
}

#[test]
fn a_spent_use_is_never_given_back() {
    let finalizing = and(
        with_code(),
        vec![
            E::PromotionRedeemed {},
            reserved(tee()),
            reserved(mug()),
            reserved(cap()),
            E::ReservationsCompleted {},
            E::PaymentAuthorized {},
            E::OrderPlaced {
                order_id: placed_order(),
            },
        ],
    );
    checkout_test()
        .given(finalizing.clone())
        .when(C::RecordRedemptionConfirmed)
        .then_expect_events(vec![E::RedemptionConfirmed {}]);
    checkout_test()
        .given(and(finalizing.clone(), vec![E::RedemptionConfirmed {}]))
        .when(C::RecordRedemptionConfirmed)
        .then_expect_events(vec![]);
    checkout_test()
        .given(finalizing)
        .when(C::RecordRedemptionReleased)
        .then_expect_error(CheckoutError::NotAllowed {
            status: CheckoutStatus::Finalizing,
            command: "RecordRedemptionReleased",
        });
}

// --- Shipping ---

#[test]
fn a_checkout_with_a_shipping_method_charges_the_lines_plus_its_price() {
    checkout_test()
        .given_no_previous_events()
        .when(start_with_shipping(express()))
        .then_expect_events(vec![started_with_shipping()]);
    let checkout = replay(vec![started_with_shipping()]);
    assert_eq!(checkout.total(), Some(eur("94.20")));
    assert_eq!(checkout.shipping_method(), Some(&express()));
}

#[test]
fn a_checkout_with_a_code_and_shipping_charges_subtotal_less_discount_plus_shipping() {
    let mut command = start_with_promotion(promotion());
    if let C::StartCheckout {
        shipping_method, ..
    } = &mut command
    {
        *shipping_method = Some(express());
    }
    let events = checkout_test()
        .given_no_previous_events()
        .when(command)
        .inspect_result()
        .unwrap();
    let [E::CheckoutStarted { total, .. }] = &events[..] else {
        panic!("expected CheckoutStarted, got {events:?}");
    };
    // 84.30 - 7.58 + 9.90
    assert_eq!(*total, eur("86.62"));
}

#[test]
fn free_shipping_is_recorded_and_adds_nothing() {
    let free = AppliedShipping {
        price: eur("0.00"),
        ..express()
    };
    let events = checkout_test()
        .given_no_previous_events()
        .when(start_with_shipping(free.clone()))
        .inspect_result()
        .unwrap();
    let [E::CheckoutStarted {
        total: charged,
        shipping_method,
        ..
    }] = &events[..]
    else {
        panic!("expected CheckoutStarted, got {events:?}");
    };
    assert_eq!(*charged, total());
    assert_eq!(shipping_method.as_ref(), Some(&free));
}

#[test]
fn a_shipping_charge_that_does_not_fit_the_checkout_is_refused() {
    let misfits = [
        AppliedShipping {
            price: eur("-1.00"),
            ..express()
        },
        AppliedShipping {
            price: eur("0.005"),
            ..express()
        },
        AppliedShipping {
            price: Money::parse("9.90", "USD").unwrap(),
            ..express()
        },
        AppliedShipping {
            name: "  ".into(),
            ..express()
        },
    ];
    for method in misfits {
        let result = checkout_test()
            .given_no_previous_events()
            .when(start_with_shipping(method.clone()))
            .inspect_result();
        assert!(
            matches!(result, Err(CheckoutError::InvalidShipping { .. })),
            "{method:?}: {result:?}"
        );
    }
}

#[test]
fn repeating_a_start_with_other_shipping_is_refused_and_the_same_is_a_no_op() {
    checkout_test()
        .given(vec![started_with_shipping()])
        .when(start_with_shipping(express()))
        .then_expect_events(vec![]);
    let result = checkout_test()
        .given(vec![started_with_shipping()])
        .when(start())
        .inspect_result();
    assert!(result.is_err(), "{result:?}");
}

#[test]
fn a_checkout_started_without_shipping_is_stored_without_the_field() {
    let stored = serde_json::to_value(started()).unwrap();
    assert!(stored["CheckoutStarted"].get("shipping_method").is_none());
    let stored = serde_json::to_value(started_with_shipping()).unwrap();
    assert_eq!(
        stored["CheckoutStarted"]["shipping_method"]["price"]["amount"],
        "9.90"
    );
}

fn start_with_code_and_express(promotion: AppliedPromotion) -> C {
    let mut command = start_with_promotion(promotion);
    if let C::StartCheckout {
        shipping_method, ..
    } = &mut command
    {
        *shipping_method = Some(express());
    }
    command
}

#[test]
fn a_free_shipping_code_takes_the_shipping_price_off_the_total() {
    let free_shipping = AppliedPromotion {
        code: "SHIPFREE".into(),
        discount: eur("0.00"),
        line_discounts: vec![eur("0.00"), eur("0.00"), eur("0.00")],
        shipping_discount: Some(eur("9.90")),
    };
    let events = checkout_test()
        .given_no_previous_events()
        .when(start_with_code_and_express(free_shipping))
        .inspect_result()
        .unwrap();
    let [E::CheckoutStarted { total, .. }] = &events[..] else {
        panic!("expected CheckoutStarted, got {events:?}");
    };
    // 84.30 + 9.90 shipping - 9.90 off shipping.
    assert_eq!(*total, eur("84.30"));
}

#[test]
fn a_shipping_discount_above_the_shipping_price_or_without_shipping_is_refused() {
    let too_much = AppliedPromotion {
        code: "SHIPFREE".into(),
        discount: eur("0.00"),
        line_discounts: vec![eur("0.00"), eur("0.00"), eur("0.00")],
        shipping_discount: Some(eur("9.91")),
    };
    for command in [
        start_with_code_and_express(too_much.clone()),
        start_with_promotion(AppliedPromotion {
            shipping_discount: Some(eur("0.01")),
            ..too_much
        }),
    ] {
        let result = checkout_test()
            .given_no_previous_events()
            .when(command)
            .inspect_result();
        assert!(
            matches!(result, Err(CheckoutError::InvalidPromotion { .. })),
            "{result:?}"
        );
    }
}

// --- Tax ---

fn part(rate: &str, amount: &str) -> TaxPart {
    TaxPart {
        rate: rust_decimal::Decimal::from_str_exact(rate).unwrap(),
        amount: eur(amount),
    }
}

/// 20 % on the lines (39.80, 8.50, 36.00) and on Express (9.90), as `basis` says.
fn twenty_percent(prices_include_tax: bool) -> AppliedTax {
    if prices_include_tax {
        AppliedTax {
            prices_include_tax,
            lines: vec![part("20", "6.63"), part("20", "1.42"), part("20", "6.00")],
            shipping: part("20", "1.65"),
            total: eur("15.70"),
        }
    } else {
        AppliedTax {
            prices_include_tax,
            lines: vec![part("20", "7.96"), part("20", "1.70"), part("20", "7.20")],
            shipping: part("20", "1.98"),
            total: eur("18.84"),
        }
    }
}

fn start_taxed(tax: AppliedTax) -> C {
    let mut command = start_with_shipping(express());
    if let C::StartCheckout { tax: taxed, .. } = &mut command {
        *taxed = Some(tax);
    }
    command
}

fn started_total(command: C) -> Result<(Money, Option<AppliedTax>), CheckoutError> {
    let events = checkout_test()
        .given_no_previous_events()
        .when(command)
        .inspect_result()?;
    let [E::CheckoutStarted { total, tax, .. }] = &events[..] else {
        panic!("expected CheckoutStarted, got {events:?}");
    };
    Ok((*total, tax.clone()))
}

#[test]
fn tax_on_top_of_prices_is_charged_with_the_total() {
    let (total, tax) = started_total(start_taxed(twenty_percent(false))).unwrap();
    // 84.30 + 9.90 + 18.84
    assert_eq!(total, eur("113.04"));
    assert_eq!(tax, Some(twenty_percent(false)));
    let mut checkout = Checkout::default();
    for event in checkout_test()
        .given_no_previous_events()
        .when(start_taxed(twenty_percent(false)))
        .inspect_result()
        .unwrap()
    {
        cqrs_es::Aggregate::apply(&mut checkout, event);
    }
    assert_eq!(checkout.tax(), Some(&twenty_percent(false)));
    assert_eq!(checkout.total(), Some(eur("113.04")));
}

#[test]
fn tax_included_in_prices_is_recorded_and_the_total_stays_what_the_shopper_saw() {
    let (total, tax) = started_total(start_taxed(twenty_percent(true))).unwrap();
    assert_eq!(total, eur("94.20"));
    assert_eq!(tax, Some(twenty_percent(true)));
}

#[test]
fn a_tax_that_does_not_fit_the_checkout_is_refused() {
    let wrong_sum = AppliedTax {
        total: eur("18.85"),
        ..twenty_percent(false)
    };
    let missing_line = AppliedTax {
        lines: twenty_percent(false).lines[..2].to_vec(),
        total: eur("11.64"),
        ..twenty_percent(false)
    };
    let mut negative = twenty_percent(false);
    negative.lines[1] = part("20", "-1.70");
    negative.total = eur("15.44");
    let mut other_currency = twenty_percent(false);
    other_currency.shipping.amount = Money::parse("1.98", "USD").unwrap();
    let mut finer = twenty_percent(false);
    finer.lines[0] = part("20", "7.955");
    finer.total = eur("18.835");
    // Tax inside a price cannot be more than the price (the mug's line is 8.50).
    let mut above_the_price = twenty_percent(true);
    above_the_price.lines[1] = part("20", "8.51");
    above_the_price.total = eur("22.79");
    for tax in [
        wrong_sum,
        missing_line,
        negative,
        other_currency,
        finer,
        above_the_price,
    ] {
        let result = started_total(start_taxed(tax.clone()));
        assert!(
            matches!(result, Err(CheckoutError::InvalidTax { .. })),
            "{tax:?}: {result:?}"
        );
    }
}

#[test]
fn inclusive_tax_is_checked_against_what_the_line_is_charged_after_its_discount() {
    // SPRING takes 3.60 off the cap's 36.00: its tax-inclusive line is 32.40.
    let mut command = start_with_promotion(promotion());
    let mut tax = twenty_percent(true);
    tax.shipping = part("20", "0.00");
    tax.lines = vec![part("20", "6.30"), part("20", "1.42"), part("20", "32.41")];
    tax.total = eur("40.13");
    if let C::StartCheckout { tax: taxed, .. } = &mut command {
        *taxed = Some(tax);
    }
    let result = started_total(command);
    assert!(
        matches!(result, Err(CheckoutError::InvalidTax { .. })),
        "{result:?}"
    );
}

#[test]
fn a_checkout_without_tax_is_stored_without_the_field() {
    let stored = serde_json::to_value(started()).unwrap();
    assert!(stored["CheckoutStarted"].get("tax").is_none());
    let (_, tax) = started_total(start_taxed(twenty_percent(false))).unwrap();
    let stored = serde_json::to_value(tax).unwrap();
    assert_eq!(stored["shipping"]["rate"], "20");
    assert_eq!(stored["total"]["amount"], "18.84");
}
