//! The `Promotion` aggregate: one code, its terms, and every checkout's use of it.
//!
//! Per promotion (`-` = never created):
//!
//! | status      | CreatePromotion | UpdatePromotion                                                  | DeactivatePromotion | RedeemPromotion, new checkout        |
//! |-------------|-----------------|------------------------------------------------------------------|---------------------|--------------------------------------|
//! | -           | Created, or AlreadyEnded | NotFound                                                | NotFound            | Refused(UnknownCode)                 |
//! | Active      | CodeTaken       | Updated; same terms: no-op; TermsLocked, UsageLimitBelowUses, CustomerLimitBelowUses | Deactivated | Redeemed, or Refused(reason) |
//! | Deactivated | CodeTaken       | NotAllowed                                                       | no-op               | Refused(Inactive)                    |
//!
//! Per checkout id, whatever the promotion's status (`-` = never redeemed for it):
//!
//! | redemption | RedeemPromotion | ReleaseRedemption   | ConfirmRedemption  |
//! |------------|-----------------|---------------------|--------------------|
//! | -          | see above       | no-op               | UnknownRedemption  |
//! | Reserved   | no-op           | Released            | Confirmed          |
//! | Confirmed  | no-op           | RedemptionConfirmed | no-op              |
//! | Released   | no-op           | no-op               | RedemptionReleased |
//!
//! A new redemption is refused, first reason first: the code is unknown or deactivated, not
//! started or expired at the checkout's moment, not offered in the checkout's currency, the
//! subtotal is below the minimum, a guest tries a code with a per-customer limit, the code is
//! used up, the customer used it up.
//!
//! Why the repeats are no-ops: the saga delivers each step at least once. A repeated redeem is
//! recognised before any rule (the code may have been used up since, by others) and never
//! holds a second use, even after its release; every redemption is therefore kept for good. A
//! release is the compensation, which must always succeed, so it is a no-op where there is
//! nothing to give back, even on a code that does not exist. What contradicts the record (a
//! release after the order was placed, a confirmation of a use given back) is a bug upstream
//! and refused.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{CheckoutId, CustomerId, Money};

use crate::commands::PromotionCommand;
use crate::errors::{PromotionError, Refusal};
use crate::events::PromotionEvent;
use crate::terms::Terms;
use crate::values::{PromotionCode, PromotionStatus, RedemptionState};

/// One checkout's use of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redemption {
    customer_id: Option<CustomerId>,
    state: RedemptionState,
}

impl Redemption {
    /// The signed-in customer who redeemed; `None` for a guest.
    pub fn customer_id(&self) -> Option<CustomerId> {
        self.customer_id
    }

    pub fn state(&self) -> RedemptionState {
        self.state
    }
}

/// One promotion code. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    code: Option<PromotionCode>,
    status: Option<PromotionStatus>,
    terms: Option<Terms>,
    created_at: Option<DateTime<Utc>>,
    deactivated_at: Option<DateTime<Utc>>,
    /// Every checkout that ever redeemed the code, so that a repeat is recognised.
    redemptions: BTreeMap<CheckoutId, Redemption>,
    /// Reserved and confirmed redemptions: what counts against the usage limit.
    active: u32,
    /// The same, per signed-in customer (customers with none are not listed).
    active_by_customer: BTreeMap<CustomerId, u32>,
}

impl Promotion {
    /// The aggregate id to load and command for `code`: its normalized form.
    pub fn aggregate_id(code: &PromotionCode) -> String {
        code.as_str().to_owned()
    }

    /// `None` before the promotion was created.
    pub fn code(&self) -> Option<&PromotionCode> {
        self.code.as_ref()
    }

    /// `None` before the promotion was created.
    pub fn status(&self) -> Option<PromotionStatus> {
        self.status
    }

    /// `None` before the promotion was created.
    pub fn terms(&self) -> Option<&Terms> {
        self.terms.as_ref()
    }

    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        self.created_at
    }

    pub fn deactivated_at(&self) -> Option<DateTime<Utc>> {
        self.deactivated_at
    }

    /// The checkout's use of the code, whatever became of it.
    pub fn redemption(&self, checkout_id: CheckoutId) -> Option<&Redemption> {
        self.redemptions.get(&checkout_id)
    }

    /// Uses reserved or confirmed: what counts against the usage limit.
    pub fn active_redemptions(&self) -> u32 {
        self.active
    }

    /// The checkouts holding or having spent a use, in checkout id order.
    pub fn active_checkouts(&self) -> impl Iterator<Item = CheckoutId> + '_ {
        self.redemptions
            .iter()
            .filter(|(_, redemption)| redemption.state.is_active())
            .map(|(checkout_id, _)| *checkout_id)
    }

    /// Uses the customer holds or has spent.
    pub fn uses_by(&self, customer_id: CustomerId) -> u32 {
        self.active_by_customer
            .get(&customer_id)
            .copied()
            .unwrap_or(0)
    }

    /// Uses left under the usage limit; `None` without a limit.
    pub fn remaining(&self) -> Option<u32> {
        let limit = self.terms.as_ref()?.usage_limit?;
        Some(limit.get().saturating_sub(self.active))
    }

    /// Whether a new checkout could redeem the code now, and if not, the first reason why (in
    /// the order the [module docs](self) list). A cart may ask this to refuse a code early;
    /// only [`PromotionCommand::RedeemPromotion`] holds a use.
    pub fn check_redemption(
        &self,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let (Some(status), Some(terms)) = (self.status, &self.terms) else {
            return Err(Refusal::UnknownCode);
        };
        if status == PromotionStatus::Deactivated {
            return Err(Refusal::Inactive);
        }
        terms.schedule.check(at)?;
        terms.check_currency(subtotal.currency())?;
        terms.check_minimum(subtotal)?;
        if terms.per_customer_limit.is_some() && customer_id.is_none() {
            return Err(Refusal::SignInRequired);
        }
        if let Some(limit) = terms.usage_limit {
            if self.active >= limit.get() {
                return Err(Refusal::UsedUp);
            }
        }
        if let (Some(limit), Some(customer_id)) = (terms.per_customer_limit, customer_id) {
            if self.uses_by(customer_id) >= limit.get() {
                return Err(Refusal::CustomerLimitReached);
            }
        }
        Ok(())
    }

    fn decide(&self, command: PromotionCommand) -> Result<Vec<PromotionEvent>, PromotionError> {
        use PromotionCommand as C;
        match command {
            C::CreatePromotion { code, terms, at } => self.create(code, terms, at),
            C::UpdatePromotion { terms } => self.update(terms),
            C::DeactivatePromotion { at } => match self.status {
                None => Err(PromotionError::NotFound),
                Some(PromotionStatus::Active) => Ok(vec![PromotionEvent::PromotionDeactivated {
                    deactivated_at: at,
                }]),
                Some(PromotionStatus::Deactivated) => Ok(vec![]),
            },
            C::RedeemPromotion {
                checkout_id,
                customer_id,
                subtotal,
                at,
            } => self.redeem(checkout_id, customer_id, subtotal, at),
            C::ReleaseRedemption { checkout_id } => {
                use RedemptionState::{Confirmed, Released, Reserved};
                match self.redemption(checkout_id).map(Redemption::state) {
                    Some(Reserved) => Ok(vec![PromotionEvent::RedemptionReleased { checkout_id }]),
                    None | Some(Released) => Ok(vec![]),
                    Some(Confirmed) => Err(PromotionError::RedemptionConfirmed { checkout_id }),
                }
            }
            C::ConfirmRedemption { checkout_id } => {
                use RedemptionState::{Confirmed, Released, Reserved};
                match self.redemption(checkout_id).map(Redemption::state) {
                    Some(Reserved) => Ok(vec![PromotionEvent::RedemptionConfirmed { checkout_id }]),
                    Some(Confirmed) => Ok(vec![]),
                    Some(Released) => Err(PromotionError::RedemptionReleased { checkout_id }),
                    None => Err(PromotionError::UnknownRedemption { checkout_id }),
                }
            }
        }
    }

    fn create(
        &self,
        code: PromotionCode,
        terms: Terms,
        at: DateTime<Utc>,
    ) -> Result<Vec<PromotionEvent>, PromotionError> {
        if let Some(existing) = &self.code {
            return Err(PromotionError::CodeTaken {
                code: existing.as_str().to_owned(),
            });
        }
        if let Some(ends_at) = terms.schedule.ends_at() {
            if ends_at <= at {
                return Err(PromotionError::AlreadyEnded { ends_at });
            }
        }
        Ok(vec![PromotionEvent::PromotionCreated {
            code: code.as_str().to_owned(),
            terms,
            created_at: at,
        }])
    }

    fn update(&self, terms: Terms) -> Result<Vec<PromotionEvent>, PromotionError> {
        let (Some(status), Some(current)) = (self.status, &self.terms) else {
            return Err(PromotionError::NotFound);
        };
        if status == PromotionStatus::Deactivated {
            return Err(PromotionError::NotAllowed {
                status,
                command: "UpdatePromotion",
            });
        }
        if terms == *current {
            return Ok(vec![]);
        }
        // Everyone who used the code must have had the same discount on the same lines.
        let redeemed = !self.redemptions.is_empty();
        if redeemed && (terms.offer != current.offer || terms.applies_to != current.applies_to) {
            return Err(PromotionError::TermsLocked);
        }
        if let Some(limit) = terms.usage_limit {
            if limit.get() < self.active {
                return Err(PromotionError::UsageLimitBelowUses {
                    limit: limit.get(),
                    uses: self.active,
                });
            }
        }
        if let Some(limit) = terms.per_customer_limit {
            let most = self.active_by_customer.values().copied().max().unwrap_or(0);
            if limit.get() < most {
                return Err(PromotionError::CustomerLimitBelowUses {
                    limit: limit.get(),
                    uses: most,
                });
            }
        }
        Ok(vec![PromotionEvent::PromotionUpdated { terms }])
    }

    fn redeem(
        &self,
        checkout_id: CheckoutId,
        customer_id: Option<CustomerId>,
        subtotal: Money,
        at: DateTime<Utc>,
    ) -> Result<Vec<PromotionEvent>, PromotionError> {
        // A redelivery is recognised before any rule: the code may be used up by now.
        if self.redemptions.contains_key(&checkout_id) {
            return Ok(vec![]);
        }
        if subtotal.is_negative() {
            return Err(PromotionError::InvalidSubtotal {
                subtotal,
                reason: "must not be negative",
            });
        }
        if !subtotal.has_at_most_minor_unit_precision() {
            return Err(PromotionError::InvalidSubtotal {
                subtotal,
                reason: "must be whole minor units of its currency",
            });
        }
        self.check_redemption(customer_id, subtotal, at)?;
        Ok(vec![PromotionEvent::PromotionRedeemed {
            checkout_id,
            customer_id,
            subtotal: subtotal.round_to_minor_units(),
            redeemed_at: at,
        }])
    }

    /// Moves a reserved redemption to `state`, out of the counts when it is released.
    fn settle(&mut self, checkout_id: CheckoutId, state: RedemptionState) {
        let Some(redemption) = self.redemptions.get_mut(&checkout_id) else {
            return;
        };
        if redemption.state != RedemptionState::Reserved {
            return;
        }
        redemption.state = state;
        if state.is_active() {
            return;
        }
        self.active = self.active.saturating_sub(1);
        if let Some(customer_id) = redemption.customer_id {
            if let Some(uses) = self.active_by_customer.get_mut(&customer_id) {
                *uses = uses.saturating_sub(1);
                if *uses == 0 {
                    self.active_by_customer.remove(&customer_id);
                }
            }
        }
    }
}

impl Aggregate for Promotion {
    const TYPE: &'static str = "promotion";
    type Command = PromotionCommand;
    type Event = PromotionEvent;
    type Error = PromotionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PromotionEvent::PromotionCreated {
                code,
                terms,
                created_at,
            } => {
                self.code = Some(PromotionCode::recorded(code));
                self.status = Some(PromotionStatus::Active);
                self.terms = Some(terms);
                self.created_at = Some(created_at);
            }
            PromotionEvent::PromotionUpdated { terms } => self.terms = Some(terms),
            PromotionEvent::PromotionDeactivated { deactivated_at } => {
                self.status = Some(PromotionStatus::Deactivated);
                self.deactivated_at = Some(deactivated_at);
            }
            PromotionEvent::PromotionRedeemed {
                checkout_id,
                customer_id,
                ..
            } => {
                if self.redemptions.contains_key(&checkout_id) {
                    // Never recorded twice; if it were, counting it again would be wrong.
                    return;
                }
                self.redemptions.insert(
                    checkout_id,
                    Redemption {
                        customer_id,
                        state: RedemptionState::Reserved,
                    },
                );
                self.active = self.active.saturating_add(1);
                if let Some(customer_id) = customer_id {
                    let uses = self.active_by_customer.entry(customer_id).or_insert(0);
                    *uses = uses.saturating_add(1);
                }
            }
            PromotionEvent::RedemptionReleased { checkout_id } => {
                self.settle(checkout_id, RedemptionState::Released);
            }
            PromotionEvent::RedemptionConfirmed { checkout_id } => {
                self.settle(checkout_id, RedemptionState::Confirmed);
            }
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model_tests;
