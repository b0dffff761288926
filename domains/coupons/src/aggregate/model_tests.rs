//! The usage limits against a model: any sequence of redemptions, releases and confirmations
//! for random checkouts and customers, run through the aggregate one command at a time as the
//! event store would (each decided on every event before it), must agree with a plain model
//! and never hold more uses than the limits allow.
//!
//! Competing checkouts are serialized by the stream's optimistic concurrency: a command
//! decided on a stale version fails to append and is decided again on the new one. So every
//! interleaving the store accepts is one of these sequences.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use proptest::prelude::*;
use shared_kernel::{CheckoutId, CustomerId, Money};
use uuid::Uuid;

use super::Promotion;
use crate::commands::PromotionCommand;
use crate::errors::{PromotionError, Refusal};
use crate::events::PromotionEvent;
use crate::terms::{AppliesTo, Offer, Terms};
use crate::values::{Limit, Percentage, RedemptionState};
use crate::views::apply_promotion_event;

#[derive(Debug, Clone, Copy)]
enum Op {
    /// Checkout, and its customer (`None`: a guest).
    Redeem(u8, Option<u8>),
    Release(u8),
    Confirm(u8),
}

fn checkout(n: u8) -> CheckoutId {
    CheckoutId::from_uuid(Uuid::from_u128(0xC0_0000 + u128::from(n)))
}

fn customer(n: u8) -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(0xCA_0000 + u128::from(n)))
}

fn command(op: Op) -> PromotionCommand {
    match op {
        Op::Redeem(n, customer_id) => PromotionCommand::RedeemPromotion {
            checkout_id: checkout(n),
            customer_id: customer_id.map(customer),
            subtotal: Money::parse("50.00", "EUR").unwrap(),
            at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
        },
        Op::Release(n) => PromotionCommand::ReleaseRedemption {
            checkout_id: checkout(n),
        },
        Op::Confirm(n) => PromotionCommand::ConfirmRedemption {
            checkout_id: checkout(n),
        },
    }
}

/// What the promotion should decide, kept as plainly as possible: every checkout seen, with
/// its customer and where its use stands.
#[derive(Debug, Default)]
struct Model {
    redemptions: BTreeMap<u8, (Option<u8>, RedemptionState)>,
}

impl Model {
    /// Checkouts redeemed and not released.
    fn active(&self) -> BTreeSet<u8> {
        self.redemptions
            .iter()
            .filter(|(_, (_, state))| *state != RedemptionState::Released)
            .map(|(n, _)| *n)
            .collect()
    }

    fn uses_by(&self, customer_id: u8) -> u32 {
        let uses = self
            .redemptions
            .values()
            .filter(|(c, state)| *c == Some(customer_id) && *state != RedemptionState::Released)
            .count();
        u32::try_from(uses).unwrap()
    }

    /// The outcome the promotion must give, as events of one kind or an error; and the model
    /// moved on.
    fn step(
        &mut self,
        op: Op,
        usage_limit: u32,
        per_customer_limit: Option<u32>,
    ) -> Result<Vec<PromotionEvent>, PromotionError> {
        use RedemptionState::{Confirmed, Released, Reserved};
        match op {
            Op::Redeem(n, customer_id) => {
                if self.redemptions.contains_key(&n) {
                    return Ok(vec![]);
                }
                let refusal = match (per_customer_limit, customer_id) {
                    (Some(_), None) => Some(Refusal::SignInRequired),
                    _ if self.active().len() >= usage_limit as usize => Some(Refusal::UsedUp),
                    (Some(limit), Some(c)) if self.uses_by(c) >= limit => {
                        Some(Refusal::CustomerLimitReached)
                    }
                    _ => None,
                };
                if let Some(refusal) = refusal {
                    return Err(PromotionError::Refused(refusal));
                }
                self.redemptions.insert(n, (customer_id, Reserved));
                Ok(vec![PromotionEvent::PromotionRedeemed {
                    checkout_id: checkout(n),
                    customer_id: customer_id.map(customer),
                    subtotal: Money::parse("50.00", "EUR").unwrap(),
                    redeemed_at: Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap(),
                }])
            }
            Op::Release(n) => match self.redemptions.get_mut(&n) {
                Some((_, state @ Reserved)) => {
                    *state = Released;
                    Ok(vec![PromotionEvent::RedemptionReleased {
                        checkout_id: checkout(n),
                    }])
                }
                Some((_, Confirmed)) => Err(PromotionError::RedemptionConfirmed {
                    checkout_id: checkout(n),
                }),
                None | Some((_, Released)) => Ok(vec![]),
            },
            Op::Confirm(n) => match self.redemptions.get_mut(&n) {
                Some((_, state @ Reserved)) => {
                    *state = Confirmed;
                    Ok(vec![PromotionEvent::RedemptionConfirmed {
                        checkout_id: checkout(n),
                    }])
                }
                Some((_, Confirmed)) => Ok(vec![]),
                Some((_, Released)) => Err(PromotionError::RedemptionReleased {
                    checkout_id: checkout(n),
                }),
                None => Err(PromotionError::UnknownRedemption {
                    checkout_id: checkout(n),
                }),
            },
        }
    }
}

/// Few checkouts and customers, so that repeats, releases of unknown checkouts and customers
/// reaching their limit all happen often.
fn op() -> impl Strategy<Value = Op> {
    let checkout = 0u8..10;
    prop_oneof![
        3 => (checkout.clone(), prop::option::weighted(0.9, 0u8..4)).prop_map(|(n, c)| Op::Redeem(n, c)),
        2 => checkout.clone().prop_map(Op::Release),
        1 => checkout.prop_map(Op::Confirm),
    ]
}

fn replay(events: &[PromotionEvent]) -> Promotion {
    let mut promotion = Promotion::default();
    for event in events.iter().cloned() {
        promotion.apply(event);
    }
    promotion
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn active_redemptions_never_exceed_the_limits_and_are_the_redeemed_not_released_checkouts(
        usage_limit in 1u32..6,
        per_customer_limit in prop::option::of(1u32..3),
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let terms = Terms {
            usage_limit: Some(Limit::new(usage_limit).unwrap()),
            per_customer_limit: per_customer_limit.map(|limit| Limit::new(limit).unwrap()),
            ..Terms::new(
                Offer::PercentOff { percent: Percentage::from_basis_points(1000).unwrap() },
                AppliesTo::Order,
            )
        };
        let mut history = vec![PromotionEvent::PromotionCreated {
            code: "RUSH100".into(),
            terms,
            created_at: Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
        }];
        let mut model = Model::default();
        for op in ops {
            let outcome = TestFramework::<Promotion>::with(())
                .given(history.clone())
                .when(command(op))
                .inspect_result();
            let expected = model.step(op, usage_limit, per_customer_limit);
            prop_assert_eq!(&outcome, &expected, "after {:?}", op);
            if let Ok(events) = outcome {
                history.extend(events);
            }

            let promotion = replay(&history);
            let active: BTreeSet<CheckoutId> = promotion.active_checkouts().collect();
            let modelled: BTreeSet<CheckoutId> = model.active().into_iter().map(checkout).collect();
            prop_assert_eq!(&active, &modelled);
            prop_assert_eq!(promotion.active_redemptions() as usize, active.len());
            prop_assert!(promotion.active_redemptions() <= usage_limit);
            for c in 0u8..4 {
                prop_assert_eq!(promotion.uses_by(customer(c)), model.uses_by(c));
                if let Some(limit) = per_customer_limit {
                    prop_assert!(promotion.uses_by(customer(c)) <= limit);
                }
            }
            let view = history.iter().fold(None, apply_promotion_event).unwrap();
            prop_assert_eq!(view.active_uses() as usize, active.len());
        }
    }
}
