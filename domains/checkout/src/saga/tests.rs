//! Specifications of `next_steps`, state by state and failure branch by failure branch, and
//! whole runs driven through the aggregate the way the runner drives them.

use cqrs_es::test::TestFramework;
use shared_kernel::{Quantity, Sku};

use super::{next_steps, SagaStep};
use crate::aggregate::Checkout;
use crate::commands::CheckoutCommand;
use crate::events::CheckoutEvent as E;
use crate::testing::*;
use crate::values::{payment_id, reservation_id, CheckoutStatus, FailureReason, PaymentProgress};

fn steps(history: Vec<E>) -> Vec<SagaStep> {
    next_steps(&replay(history))
}

fn reserve(sku: Sku, quantity: u32) -> SagaStep {
    SagaStep::ReserveStock {
        reservation_id: reservation_id(checkout_id(), &sku),
        sku,
        quantity: Quantity::new(quantity).unwrap(),
    }
}

fn commit(sku: Sku) -> SagaStep {
    SagaStep::CommitReservation {
        reservation_id: reservation_id(checkout_id(), &sku),
        sku,
    }
}

fn release(sku: Sku) -> SagaStep {
    SagaStep::ReleaseReservation {
        reservation_id: reservation_id(checkout_id(), &sku),
        sku,
    }
}

fn authorize() -> SagaStep {
    SagaStep::AuthorizePayment {
        payment_id: payment_id(checkout_id()),
        amount: total(),
    }
}

fn capture() -> SagaStep {
    SagaStep::CapturePayment {
        payment_id: payment_id(checkout_id()),
    }
}

fn mark_paid() -> SagaStep {
    SagaStep::MarkOrderPaid {
        order_id: placed_order(),
        payment_id: payment_id(checkout_id()),
        amount: total(),
    }
}

fn void() -> SagaStep {
    SagaStep::VoidPayment {
        payment_id: payment_id(checkout_id()),
    }
}

fn mark_cart() -> SagaStep {
    SagaStep::MarkCartCheckedOut {
        cart_id: cart_id(),
        checkout_id: checkout_id(),
    }
}

fn release_cart() -> SagaStep {
    SagaStep::ReleaseCart {
        cart_id: cart_id(),
        checkout_id: checkout_id(),
    }
}

fn is_compensation(step: &SagaStep) -> bool {
    matches!(
        step,
        SagaStep::ReleaseReservation { .. }
            | SagaStep::VoidPayment { .. }
            | SagaStep::ReleaseRedemption { .. }
            | SagaStep::ReleaseCart { .. }
    )
}

// --- Before the start and at the end ---

#[test]
fn a_checkout_that_has_not_started_has_nothing_to_do() {
    assert_eq!(next_steps(&Checkout::default()), vec![]);
}

#[test]
fn a_completed_checkout_has_nothing_to_do() {
    assert_eq!(steps(completed()), vec![]);
}

#[test]
fn a_failed_checkout_has_nothing_to_do() {
    assert_eq!(steps(failed()), vec![]);
    assert_eq!(steps(failed_after_timeout()), vec![]);
}

#[test]
fn a_failed_checkout_leaves_a_reservation_answered_too_late_to_expire() {
    // The aggregate ignores it (see its module doc); inventory's expiry returns the units.
    assert_eq!(steps(and(failed(), vec![reserved(cap())])), vec![]);
}

// --- Reserving ---

#[test]
fn a_new_checkout_reserves_every_line_under_derived_ids() {
    assert_eq!(
        steps(reserving()),
        vec![reserve(tee(), 2), reserve(mug(), 1), reserve(cap(), 3)]
    );
}

#[test]
fn reserving_asks_only_for_lines_not_yet_reserved() {
    assert_eq!(
        steps(and(reserving(), vec![reserved(mug())])),
        vec![reserve(tee(), 2), reserve(cap(), 3)]
    );
}

// --- Authorizing ---

#[test]
fn once_every_line_is_reserved_the_total_is_authorized_under_the_derived_payment_id() {
    assert_eq!(steps(authorizing()), vec![authorize()]);
}

#[test]
fn a_lost_authorization_answer_is_reconciled_until_its_deadline() {
    assert_eq!(
        steps(payment_unknown()),
        vec![SagaStep::ReconcilePayment {
            payment_id: payment_id(checkout_id()),
            deadline: deadline()
        }]
    );
}

// --- PlacingOrder ---

#[test]
fn an_authorized_payment_places_the_order_with_everything_it_needs() {
    assert_eq!(
        steps(placing_order()),
        vec![SagaStep::PlaceOrder {
            order_id: placed_order(),
            checkout_id: checkout_id(),
            cart_id: cart_id(),
            customer_id: Some(customer()),
            email: email(),
            shipping: shipping(),
            currency: shared_kernel::Currency::EUR,
            lines: lines(),
            promotion: None,
            shipping_method: None,
            tax: None,
        }]
    );
}

#[test]
fn an_authorization_found_after_a_lost_answer_places_the_order() {
    let history = and(payment_unknown(), vec![E::PaymentAuthorized {}]);
    assert!(matches!(
        steps(history).as_slice(),
        [SagaStep::PlaceOrder { .. }]
    ));
}

// --- Finalizing (after the pivot) ---

#[test]
fn a_placed_order_captures_commits_every_line_and_checks_the_cart_out() {
    assert_eq!(
        steps(finalizing()),
        vec![
            capture(),
            commit(tee()),
            commit(mug()),
            commit(cap()),
            mark_cart()
        ]
    );
}

#[test]
fn finalizing_asks_only_for_what_is_not_done() {
    assert_eq!(
        steps(and(
            finalizing(),
            vec![E::PaymentCaptured {}, committed(mug())]
        )),
        vec![mark_paid(), commit(tee()), commit(cap()), mark_cart()],
        "the order is marked paid once the money is captured"
    );
    assert_eq!(
        steps(and(
            finalizing(),
            vec![
                E::PaymentCaptured {},
                E::OrderMarkedPaid {},
                committed(mug())
            ]
        )),
        vec![commit(tee()), commit(cap()), mark_cart()]
    );
    assert_eq!(
        steps(and(
            finalizing(),
            vec![
                committed(tee()),
                committed(mug()),
                committed(cap()),
                E::CartCheckedOut {}
            ]
        )),
        vec![capture()]
    );
}

#[test]
fn a_checkout_that_needs_attention_runs_nothing_more() {
    let history = and(
        finalizing(),
        vec![E::CheckoutNeedsAttention {
            step: "capture_payment".into(),
            reason: "payment provider rejected the request".into(),
        }],
    );
    assert!(steps(history).is_empty());
}

#[test]
fn the_list_is_well_formed_and_names_every_outcome_command() {
    assert_eq!(
        shared_kernel::saga::shape_problems(&super::STEPS),
        Vec::<String>::new()
    );
    let listed: Vec<&str> = super::STEPS
        .iter()
        .flat_map(|s| s.outcomes.iter().copied())
        .collect();
    let recording = [
        CheckoutCommand::RecordPromotionRedeemed,
        CheckoutCommand::RecordPromotionRefused {
            refusal: String::new(),
            message: String::new(),
        },
        CheckoutCommand::RecordStockReserved { sku: tee() },
        CheckoutCommand::RecordStockUnavailable { sku: tee() },
        CheckoutCommand::RecordPaymentAuthorized,
        CheckoutCommand::RecordPaymentDeclined {
            message: String::new(),
        },
        CheckoutCommand::RecordPaymentOutcomeUnknown {
            deadline: deadline(),
        },
        CheckoutCommand::RecordPaymentDeadlinePassed,
        CheckoutCommand::RecordOrderPlaced {
            order_id: placed_order(),
        },
        CheckoutCommand::RecordOrderRejected {
            reason: String::new(),
        },
        CheckoutCommand::RecordPaymentCaptured,
        CheckoutCommand::RecordOrderPaid,
        CheckoutCommand::RecordReservationCommitted { sku: tee() },
        CheckoutCommand::RecordCartCheckedOut,
        CheckoutCommand::RecordRedemptionConfirmed,
        CheckoutCommand::RecordStepRefused {
            step: String::new(),
            reason: String::new(),
        },
        CheckoutCommand::RecordStockReleased { sku: tee() },
        CheckoutCommand::RecordPaymentVoided,
        CheckoutCommand::RecordRedemptionReleased,
        CheckoutCommand::RecordCartReleased,
    ];
    let names: Vec<&str> = recording.iter().map(CheckoutCommand::name).collect();
    assert_eq!(listed, names, "every outcome command, in list order");
}

#[test]
fn after_the_pivot_nothing_is_ever_compensated() {
    let partials = [
        vec![],
        vec![E::PaymentCaptured {}],
        vec![committed(tee()), E::CartCheckedOut {}],
        vec![E::PaymentCaptured {}, committed(tee()), committed(mug())],
    ];
    for done in partials {
        let steps = steps(and(finalizing(), done));
        assert!(!steps.is_empty());
        assert!(!steps.iter().any(is_compensation), "{steps:?}");
    }
}

// --- Compensating ---

#[test]
fn an_unavailable_line_releases_every_line_and_the_cart_without_a_void() {
    // Lines not recorded as reserved are released too: their reservation may exist without
    // having been recorded (made just before a crash, or its answer lost).
    assert_eq!(
        steps(out_of_stock()),
        vec![
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn an_unavailable_first_line_still_releases_every_line_and_the_cart() {
    assert_eq!(
        steps(and(reserving(), vec![unavailable(tee())])),
        vec![
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn a_reservation_answered_during_compensation_is_released_too() {
    assert_eq!(
        steps(and(out_of_stock(), vec![reserved(cap())])),
        vec![
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn compensation_stops_releasing_lines_once_they_are_released() {
    assert_eq!(
        steps(and(out_of_stock(), vec![released(tee()), released(mug())])),
        vec![release(cap()), release_cart()]
    );
}

#[test]
fn a_declined_payment_releases_every_line_and_the_cart_without_a_void() {
    assert_eq!(
        steps(payment_declined()),
        vec![
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn a_lost_answer_then_a_deadline_voids_the_payment_and_releases_everything() {
    assert_eq!(
        steps(payment_timed_out()),
        vec![
            void(),
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn an_authorization_arriving_after_the_deadline_is_still_voided() {
    assert_eq!(
        steps(and(payment_timed_out(), vec![E::PaymentAuthorized {}])),
        vec![
            void(),
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn an_authorized_payment_whose_order_is_rejected_is_voided_and_everything_released() {
    assert_eq!(
        steps(order_rejected()),
        vec![
            void(),
            release(tee()),
            release(mug()),
            release(cap()),
            release_cart()
        ]
    );
}

#[test]
fn compensation_asks_only_for_what_is_not_undone() {
    assert_eq!(
        steps(and(
            order_rejected(),
            vec![E::PaymentVoided {}, released(mug()), E::CartReleased {}]
        )),
        vec![release(tee()), release(cap())]
    );
    assert_eq!(
        steps(and(
            payment_declined(),
            vec![released(tee()), released(mug()), released(cap())]
        )),
        vec![release_cart()]
    );
}

#[test]
fn compensation_never_moves_forward() {
    for history in [
        out_of_stock(),
        payment_declined(),
        payment_timed_out(),
        order_rejected(),
    ] {
        let steps = steps(history);
        assert!(steps.iter().all(is_compensation), "{steps:?}");
    }
}

// --- Whole runs: next_steps, a scripted world, and the aggregate ---

/// How the other contexts answer in one run.
#[derive(Clone, Default)]
struct World {
    promotion_refused: bool,
    out_of_stock: Option<Sku>,
    payment: Option<CheckoutCommand>,
    order_rejected: bool,
}

/// The command recording what `world` answers to `step`.
fn outcome(world: &World, step: &SagaStep) -> CheckoutCommand {
    match step {
        SagaStep::RedeemPromotion { .. } if world.promotion_refused => {
            CheckoutCommand::RecordPromotionRefused {
                refusal: "promotion_used_up".into(),
                message: "this code has been used as many times as it can be".into(),
            }
        }
        SagaStep::RedeemPromotion { .. } => CheckoutCommand::RecordPromotionRedeemed,
        SagaStep::ConfirmRedemption { .. } => CheckoutCommand::RecordRedemptionConfirmed,
        SagaStep::ReleaseRedemption { .. } => CheckoutCommand::RecordRedemptionReleased,
        SagaStep::ReserveStock { sku, .. } if world.out_of_stock.as_ref() == Some(sku) => {
            CheckoutCommand::RecordStockUnavailable { sku: sku.clone() }
        }
        SagaStep::ReserveStock { sku, .. } => {
            CheckoutCommand::RecordStockReserved { sku: sku.clone() }
        }
        SagaStep::AuthorizePayment { .. } => world
            .payment
            .clone()
            .unwrap_or(CheckoutCommand::RecordPaymentAuthorized),
        SagaStep::ReconcilePayment { .. } => CheckoutCommand::RecordPaymentDeadlinePassed,
        SagaStep::PlaceOrder { .. } if world.order_rejected => {
            CheckoutCommand::RecordOrderRejected {
                reason: "invalid postal code".into(),
            }
        }
        SagaStep::PlaceOrder { order_id, .. } => CheckoutCommand::RecordOrderPlaced {
            order_id: *order_id,
        },
        SagaStep::CapturePayment { .. } => CheckoutCommand::RecordPaymentCaptured,
        SagaStep::MarkOrderPaid { .. } => CheckoutCommand::RecordOrderPaid,
        SagaStep::CommitReservation { sku, .. } => {
            CheckoutCommand::RecordReservationCommitted { sku: sku.clone() }
        }
        SagaStep::MarkCartCheckedOut { .. } => CheckoutCommand::RecordCartCheckedOut,
        SagaStep::ReleaseReservation { sku, .. } => {
            CheckoutCommand::RecordStockReleased { sku: sku.clone() }
        }
        SagaStep::VoidPayment { .. } => CheckoutCommand::RecordPaymentVoided,
        SagaStep::ReleaseCart { .. } => CheckoutCommand::RecordCartReleased,
    }
}

/// Runs the saga like a runner that, after each recorded outcome, asks again what to do, and
/// delivers every outcome twice. Returns the history and every step it ran.
fn run(world: World) -> (Vec<E>, Vec<SagaStep>) {
    run_from(reserving(), world)
}

/// [`run`] from `history`.
fn run_from(mut history: Vec<E>, world: World) -> (Vec<E>, Vec<SagaStep>) {
    let mut ran = vec![];
    for _ in 0..50 {
        let Some(step) = next_steps(&replay(history.clone())).into_iter().next() else {
            return (history, ran);
        };
        let command = outcome(&world, &step);
        ran.push(step);
        for _ in 0..2 {
            let events = TestFramework::<Checkout>::with(())
                .given(history.clone())
                .when(command.clone())
                .inspect_result()
                .unwrap();
            history.extend(events);
        }
    }
    panic!("the saga did not finish: {history:?}");
}

#[test]
fn a_run_where_everything_succeeds_completes_with_the_order() {
    let (history, ran) = run(World::default());
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Completed));
    assert_eq!(checkout.order_id(), Some(placed_order()));
    assert!(!ran.iter().any(is_compensation));
}

#[test]
fn a_run_with_a_line_out_of_stock_fails_and_releases_what_it_held() {
    let (history, ran) = run(World {
        out_of_stock: Some(cap()),
        ..World::default()
    });
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    assert_eq!(
        checkout.failure(),
        Some(&FailureReason::OutOfStock {
            sku: cap().into(),
            title: "Cap".into()
        })
    );
    assert!(checkout.is_released(&tee()) && checkout.is_released(&mug()));
    assert!(checkout.cart_released());
    assert!(!ran.iter().any(|s| matches!(
        s,
        SagaStep::AuthorizePayment { .. } | SagaStep::VoidPayment { .. }
    )));
}

#[test]
fn a_run_with_a_declined_payment_fails_without_a_void() {
    let (history, ran) = run(World {
        payment: Some(CheckoutCommand::RecordPaymentDeclined {
            message: "Declined.".into(),
        }),
        ..World::default()
    });
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    assert_eq!(checkout.payment(), PaymentProgress::Declined);
    assert!(!ran
        .iter()
        .any(|s| matches!(s, SagaStep::VoidPayment { .. })));
    assert!(lines().iter().all(|l| checkout.is_released(&l.sku)));
}

#[test]
fn a_run_whose_payment_never_answers_times_out_and_voids() {
    let (history, ran) = run(World {
        payment: Some(CheckoutCommand::RecordPaymentOutcomeUnknown {
            deadline: deadline(),
        }),
        ..World::default()
    });
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    assert_eq!(checkout.failure(), Some(&FailureReason::PaymentTimedOut));
    assert!(checkout.payment_voided());
    assert!(ran.contains(&SagaStep::ReconcilePayment {
        payment_id: payment_id(checkout_id()),
        deadline: deadline()
    }));
}

#[test]
fn a_run_whose_order_is_rejected_voids_the_payment_and_releases_everything() {
    let (history, ran) = run(World {
        order_rejected: true,
        ..World::default()
    });
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    assert!(checkout.payment_voided());
    assert!(checkout.cart_released());
    assert!(lines().iter().all(|l| checkout.is_released(&l.sku)));
    assert!(!ran
        .iter()
        .any(|s| matches!(s, SagaStep::CapturePayment { .. })));
}

// --- A checkout with a promotion code ---

fn redeem() -> SagaStep {
    SagaStep::RedeemPromotion {
        code: "SPRING".into(),
        checkout_id: checkout_id(),
        customer_id: Some(customer()),
        subtotal: total(),
        at: started_at(),
    }
}

fn release_redemption() -> SagaStep {
    SagaStep::ReleaseRedemption {
        code: "SPRING".into(),
        checkout_id: checkout_id(),
    }
}

fn confirm_redemption() -> SagaStep {
    SagaStep::ConfirmRedemption {
        code: "SPRING".into(),
        checkout_id: checkout_id(),
    }
}

#[test]
fn the_code_is_redeemed_on_the_merchandise_subtotal_before_any_stock_is_held() {
    assert_eq!(steps(vec![started_with_promotion()]), vec![redeem()]);
    assert_eq!(
        steps(vec![started_with_promotion(), E::PromotionRedeemed {}]),
        vec![reserve(tee(), 2), reserve(mug(), 1), reserve(cap(), 3)]
    );
}

#[test]
fn a_run_with_a_code_authorizes_the_discounted_total_and_spends_the_use() {
    let (history, ran) = run_from(vec![started_with_promotion()], World::default());
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Completed));
    assert_eq!(ran.first(), Some(&redeem()));
    assert!(ran.contains(&SagaStep::AuthorizePayment {
        payment_id: payment_id(checkout_id()),
        amount: discounted_total(),
    }));
    assert!(ran.contains(&confirm_redemption()));
    assert!(!ran.iter().any(is_compensation));
    assert_eq!(
        checkout.redemption(),
        crate::aggregate::RedemptionProgress::Confirmed
    );
}

#[test]
fn a_run_whose_code_is_used_up_fails_with_the_reason_and_holds_nothing() {
    let (history, ran) = run_from(
        vec![started_with_promotion()],
        World {
            promotion_refused: true,
            ..World::default()
        },
    );
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
    let failure = checkout.failure().cloned().unwrap();
    assert_eq!(failure.code(), "promotion_refused");
    assert!(
        failure.shopper_message().contains("SPRING")
            && failure.shopper_message().contains("used as many times"),
        "{}",
        failure.shopper_message()
    );
    // No stock was asked for, so none is released: unlocking the cart is all there is to undo.
    assert!(!ran.iter().any(|s| matches!(
        s,
        SagaStep::ReserveStock { .. }
            | SagaStep::ReleaseReservation { .. }
            | SagaStep::AuthorizePayment { .. }
            | SagaStep::ReleaseRedemption { .. }
    )));
    assert!(checkout.cart_released());
}

#[test]
fn a_run_with_a_code_that_fails_later_gives_the_use_back() {
    for world in [
        World {
            out_of_stock: Some(cap()),
            ..World::default()
        },
        World {
            payment: Some(CheckoutCommand::RecordPaymentDeclined {
                message: "Declined.".into(),
            }),
            ..World::default()
        },
        World {
            order_rejected: true,
            ..World::default()
        },
    ] {
        let (history, ran) = run_from(vec![started_with_promotion()], world);
        let checkout = replay(history);
        assert_eq!(checkout.status(), Some(CheckoutStatus::Failed));
        assert!(ran.contains(&release_redemption()), "{ran:?}");
        assert!(!ran.contains(&confirm_redemption()));
        assert_eq!(
            checkout.redemption(),
            crate::aggregate::RedemptionProgress::Released
        );
    }
}

#[test]
fn a_checkout_with_a_code_completes_only_once_the_use_is_spent() {
    let history = vec![
        started_with_promotion(),
        E::PromotionRedeemed {},
        reserved(tee()),
        reserved(mug()),
        reserved(cap()),
        E::ReservationsCompleted {},
        E::PaymentAuthorized {},
        E::OrderPlaced {
            order_id: placed_order(),
        },
        E::PaymentCaptured {},
        E::OrderMarkedPaid {},
        committed(tee()),
        committed(mug()),
        committed(cap()),
        E::CartCheckedOut {},
    ];
    assert_eq!(steps(history.clone()), vec![confirm_redemption()]);
    let events = TestFramework::<Checkout>::with(())
        .given(history)
        .when(CheckoutCommand::RecordRedemptionConfirmed)
        .inspect_result()
        .unwrap();
    assert_eq!(
        events,
        vec![
            E::RedemptionConfirmed {},
            E::CheckoutCompleted {
                order_id: placed_order()
            }
        ]
    );
}

#[test]
fn a_run_with_shipping_authorizes_the_total_with_shipping_and_places_the_order_with_it() {
    let (history, ran) = run_from(vec![started_with_shipping()], World::default());
    let checkout = replay(history);
    assert_eq!(checkout.status(), Some(CheckoutStatus::Completed));
    assert!(ran.contains(&SagaStep::AuthorizePayment {
        payment_id: payment_id(checkout_id()),
        amount: eur("94.20"),
    }));
    assert!(ran.iter().any(|step| matches!(
        step,
        SagaStep::PlaceOrder {
            shipping_method: Some(method),
            ..
        } if *method == express()
    )));
}
