//! Read model of promotions, for staff listing and editing codes, and for carts pricing a
//! code with [`discount`](crate::discount) from [`PromotionView::terms`].
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::PromotionEvent;
use crate::terms::Terms;
use crate::values::PromotionStatus;

/// One promotion as staff see it in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionView {
    /// Normalized (upper case) code; the aggregate id.
    pub code: String,
    pub terms: Terms,
    pub status: PromotionStatus,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// Uses held by checkouts still under way.
    pub reserved: u32,
    /// Uses spent by placed orders.
    pub confirmed: u32,
    /// Uses given back by checkouts that failed.
    pub released: u32,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// Whether a code can be used at a given moment, as a listing shows it; the first that holds
/// of: deactivated, expired, scheduled (not started), used up, live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Deactivated,
    Expired,
    Scheduled,
    UsedUp,
    Live,
}

impl PromotionView {
    /// Uses that count against the usage limit: reserved and confirmed.
    pub fn active_uses(&self) -> u32 {
        self.reserved.saturating_add(self.confirmed)
    }

    /// Uses left under the usage limit; `None` without a limit.
    pub fn remaining(&self) -> Option<u32> {
        self.terms
            .usage_limit
            .map(|limit| limit.get().saturating_sub(self.active_uses()))
    }

    pub fn availability(&self, at: DateTime<Utc>) -> Availability {
        let schedule = self.terms.schedule;
        if self.status == PromotionStatus::Deactivated {
            Availability::Deactivated
        } else if schedule.ends_at().is_some_and(|ends_at| at >= ends_at) {
            Availability::Expired
        } else if schedule.starts_at().is_some_and(|starts_at| at < starts_at) {
            Availability::Scheduled
        } else if self.remaining() == Some(0) {
            Availability::UsedUp
        } else {
            Availability::Live
        }
    }
}

/// The view after `event`, one version later. `PromotionCreated` starts it; any other event
/// without a view leaves none (the aggregate never records one before the creation).
///
/// Counts saturate instead of panicking: a projection must never stop on an event, and the
/// aggregate already guarantees that every release or confirmation follows a redemption that
/// was still reserved.
pub fn apply_promotion_event(
    view: Option<PromotionView>,
    event: &PromotionEvent,
) -> Option<PromotionView> {
    if let PromotionEvent::PromotionCreated {
        code,
        terms,
        created_at,
    } = event
    {
        return Some(PromotionView {
            code: code.clone(),
            terms: terms.clone(),
            status: PromotionStatus::Active,
            created_at: *created_at,
            deactivated_at: None,
            reserved: 0,
            confirmed: 0,
            released: 0,
            version: 1,
        });
    }
    let mut view = view?;
    match event {
        PromotionEvent::PromotionCreated { .. } => {}
        PromotionEvent::PromotionUpdated { terms } => view.terms = terms.clone(),
        PromotionEvent::PromotionDeactivated { deactivated_at } => {
            view.status = PromotionStatus::Deactivated;
            view.deactivated_at = Some(*deactivated_at);
        }
        PromotionEvent::PromotionRedeemed { .. } => view.reserved = view.reserved.saturating_add(1),
        PromotionEvent::RedemptionReleased { .. } => {
            view.reserved = view.reserved.saturating_sub(1);
            view.released = view.released.saturating_add(1);
        }
        PromotionEvent::RedemptionConfirmed { .. } => {
            view.reserved = view.reserved.saturating_sub(1);
            view.confirmed = view.confirmed.saturating_add(1);
        }
    }
    view.version += 1;
    Some(view)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use shared_kernel::{CheckoutId, Money};
    use uuid::Uuid;

    use super::*;
    use crate::terms::{AppliesTo, Offer};
    use crate::values::{Limit, Percentage, Schedule};

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, day, 0, 0, 0).unwrap()
    }

    fn terms(limit: Option<u32>) -> Terms {
        Terms {
            usage_limit: limit.map(|limit| Limit::new(limit).unwrap()),
            schedule: Schedule::new(Some(at(5)), Some(at(20))).unwrap(),
            ..Terms::new(
                Offer::PercentOff {
                    percent: Percentage::from_basis_points(1000).unwrap(),
                },
                AppliesTo::Order,
            )
        }
    }

    fn checkout(n: u128) -> CheckoutId {
        CheckoutId::from_uuid(Uuid::from_u128(n))
    }

    fn created(limit: Option<u32>) -> PromotionEvent {
        PromotionEvent::PromotionCreated {
            code: "WINTER10".into(),
            terms: terms(limit),
            created_at: at(1),
        }
    }

    fn redeemed(n: u128) -> PromotionEvent {
        PromotionEvent::PromotionRedeemed {
            checkout_id: checkout(n),
            customer_id: None,
            subtotal: Money::parse("40.00", "EUR").unwrap(),
            redeemed_at: at(6),
        }
    }

    fn replay(events: &[PromotionEvent]) -> PromotionView {
        events
            .iter()
            .fold(None, apply_promotion_event)
            .expect("the history starts with the creation")
    }

    #[test]
    fn the_creation_starts_the_view_at_version_one() {
        let view = replay(&[created(Some(3))]);
        assert_eq!(view.code, "WINTER10");
        assert_eq!(view.status, PromotionStatus::Active);
        assert_eq!((view.reserved, view.confirmed, view.released), (0, 0, 0));
        assert_eq!(view.remaining(), Some(3));
        assert_eq!(view.version, 1);
    }

    #[test]
    fn no_event_but_the_creation_starts_a_view() {
        assert_eq!(apply_promotion_event(None, &redeemed(1)), None);
    }

    #[test]
    fn redemptions_count_as_reserved_then_confirmed_or_released() {
        let view = replay(&[
            created(Some(3)),
            redeemed(1),
            redeemed(2),
            redeemed(3),
            PromotionEvent::RedemptionConfirmed {
                checkout_id: checkout(1),
            },
            PromotionEvent::RedemptionReleased {
                checkout_id: checkout(2),
            },
        ]);
        assert_eq!((view.reserved, view.confirmed, view.released), (1, 1, 1));
        assert_eq!(view.active_uses(), 2);
        assert_eq!(view.remaining(), Some(1));
        assert_eq!(view.version, 6);
    }

    #[test]
    fn availability_names_the_first_reason_a_code_cannot_be_used() {
        let live = replay(&[created(Some(1))]);
        assert_eq!(live.availability(at(4)), Availability::Scheduled);
        assert_eq!(live.availability(at(5)), Availability::Live);
        assert_eq!(live.availability(at(20)), Availability::Expired);
        let used_up = replay(&[created(Some(1)), redeemed(1)]);
        assert_eq!(used_up.availability(at(6)), Availability::UsedUp);
        assert_eq!(used_up.availability(at(21)), Availability::Expired);
        let unlimited = replay(&[created(None), redeemed(1)]);
        assert_eq!(unlimited.remaining(), None);
        assert_eq!(unlimited.availability(at(6)), Availability::Live);
        let deactivated = replay(&[
            created(None),
            PromotionEvent::PromotionDeactivated {
                deactivated_at: at(7),
            },
        ]);
        assert_eq!(deactivated.availability(at(6)), Availability::Deactivated);
        assert_eq!(deactivated.deactivated_at, Some(at(7)));
    }

    #[test]
    fn an_update_replaces_the_terms() {
        let view = replay(&[
            created(Some(1)),
            PromotionEvent::PromotionUpdated {
                terms: terms(Some(10)),
            },
        ]);
        assert_eq!(view.remaining(), Some(10));
        assert_eq!(view.version, 2);
    }

    #[test]
    fn the_view_serializes_and_reads_back() {
        let view = replay(&[created(Some(3)), redeemed(1)]);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["terms"]["offer"]["type"], "percent_off");
        assert_eq!(json["status"], "active");
        assert_eq!(serde_json::from_value::<PromotionView>(json).unwrap(), view);
    }
}
