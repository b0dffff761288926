//! The `Payment` aggregate.
//!
//! State machine (`-` = not created; "gateway" = the outcome is whatever the provider answers):
//!
//! | status               | AuthorizePayment | ReconcileAuthorization | CapturePayment          | VoidPayment              | RefundPayment |
//! |----------------------|------------------|------------------------|-------------------------|--------------------------|---------------|
//! | -                    | gateway: Authorized, Declined or AuthorizationUnknown | NotFound | NotFound | NotFound   | NotFound      |
//! | Authorized           | same amount: no-op, else AmountMismatch | no-op | Captured           | Voided                   | NotAllowed    |
//! | Declined             | as above         | no-op                  | NotAllowed              | NotAllowed               | NotAllowed    |
//! | AuthorizationUnknown | as above         | gateway: Authorized, Declined or unchanged | NotAllowed | reconcile, then Voided (or Declined) | NotAllowed |
//! | Captured             | as above         | no-op                  | while some remains: Captured; `None` once all is captured: no-op | NotAllowed | Refunded (status stays Captured) |
//! | Voided               | as above         | no-op                  | NotAllowed              | no-op                    | NotAllowed    |
//!
//! Failures of the provider record nothing: `Transient` becomes `GatewayUnavailable`,
//! `Unknown` on capture, void or refund becomes `GatewayOutcomeUnknown`, `Rejected` becomes
//! `GatewayRejected`. Only the authorization records an unknown outcome, because a saga must be
//! able to see that a hold may exist and void it.
//!
//! Voiding an `AuthorizationUnknown` payment first asks the provider for the authorization
//! under its original key: the port voids by authorization id, which a timeout never told us.
//! If the provider says it declined, the decline is recorded and nothing is left to void.

use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{Money, MoneyError, PaymentId, RefundId};

use crate::commands::PaymentCommand;
use crate::errors::PaymentError;
use crate::events::PaymentEvent;
use crate::ports::{
    AuthorizeRequest, CaptureRequest, GatewayError, PaymentGateway, PaymentMethodTokens,
    RefundRequest, VoidRequest,
};
use crate::values::{
    authorization_key, capture_key, refund_key, void_key, Capture, Decline, PaymentStatus, Refund,
};

/// What the payment needs from outside to decide.
#[derive(Clone)]
pub struct PaymentServices {
    pub gateway: Arc<dyn PaymentGateway>,
    /// Where the token of an authorization with an unknown outcome waits for reconciliation.
    pub tokens: Arc<dyn PaymentMethodTokens>,
}

impl PaymentServices {
    pub fn new(gateway: Arc<dyn PaymentGateway>, tokens: Arc<dyn PaymentMethodTokens>) -> Self {
        Self { gateway, tokens }
    }
}

/// A payment of one amount with one provider. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    id: Option<PaymentId>,
    /// `None` until the first authorization outcome is recorded.
    status: Option<PaymentStatus>,
    amount: Option<Money>,
    authorization_id: Option<String>,
    decline: Option<Decline>,
    captures: Vec<Capture>,
    captured: Option<Money>,
    refunds: Vec<Refund>,
    refunded: Option<Money>,
}

impl Payment {
    pub fn id(&self) -> Option<PaymentId> {
        self.id
    }

    /// `None` if the payment does not exist.
    pub fn status(&self) -> Option<PaymentStatus> {
        self.status
    }

    /// The amount asked for: held by the provider once `Authorized`, never taken if `Declined`.
    pub fn amount(&self) -> Option<Money> {
        self.amount
    }

    /// Sum of all captures (zero before the first one).
    pub fn captured(&self) -> Option<Money> {
        self.captured
    }

    /// Sum of all refunds (zero before the first one).
    pub fn refunded(&self) -> Option<Money> {
        self.refunded
    }

    /// What may still be captured: the authorized amount less what was captured. Zero unless
    /// the payment is `Authorized` or `Captured`.
    pub fn capturable(&self) -> Option<Money> {
        let amount = self.amount?;
        match self.status {
            Some(PaymentStatus::Authorized | PaymentStatus::Captured) => {
                let captured = self.captured.unwrap_or(Money::zero(amount.currency()));
                amount.checked_sub(&captured).ok()
            }
            _ => Some(Money::zero(amount.currency())),
        }
    }

    /// What may still be refunded: captured less refunded.
    pub fn refundable(&self) -> Option<Money> {
        self.captured?.checked_sub(&self.refunded?).ok()
    }

    /// The provider's id of the hold, once authorized.
    pub fn authorization_id(&self) -> Option<&str> {
        self.authorization_id.as_deref()
    }

    /// Why the provider declined, if it did.
    pub fn decline(&self) -> Option<&Decline> {
        self.decline.as_ref()
    }

    /// Captures in the order they happened.
    pub fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// Refunds in the order they happened.
    pub fn refunds(&self) -> &[Refund] {
        &self.refunds
    }

    pub fn refund(&self, refund_id: RefundId) -> Option<&Refund> {
        self.refunds.iter().find(|r| r.refund_id == refund_id)
    }

    async fn decide(
        &self,
        command: PaymentCommand,
        services: &PaymentServices,
    ) -> Result<Vec<PaymentEvent>, PaymentError> {
        use PaymentCommand as C;
        use PaymentStatus::{AuthorizationUnknown, Authorized, Captured, Voided};
        let gateway = services.gateway.as_ref();
        match (self.status, command) {
            (
                None,
                C::AuthorizePayment {
                    payment_id,
                    amount,
                    payment_method_token,
                },
            ) => authorize(payment_id, amount, payment_method_token, services).await,
            (Some(_), C::AuthorizePayment { amount, .. }) => self.repeat_authorization(amount),
            (None, _) => Err(PaymentError::NotFound),
            (Some(AuthorizationUnknown), C::ReconcileAuthorization) => {
                Ok(self.reconcile(services).await?.into_iter().collect())
            }
            // The outcome is known already; a late reconciliation (a deadline firing after the
            // provider answered) must not fail.
            (Some(_), C::ReconcileAuthorization) => Ok(vec![]),
            (Some(Authorized | Captured), C::CapturePayment { amount }) => {
                self.capture(amount, gateway).await
            }
            (Some(Authorized), C::VoidPayment) => {
                self.void(self.held_authorization(), gateway).await?;
                Ok(vec![PaymentEvent::PaymentVoided {}])
            }
            (Some(AuthorizationUnknown), C::VoidPayment) => {
                self.reconcile_then_void(services).await
            }
            (Some(Voided), C::VoidPayment) => Ok(vec![]),
            (Some(Captured), C::RefundPayment { refund_id, amount }) => {
                self.refund_captured(refund_id, amount, gateway).await
            }
            (Some(status), command) => Err(PaymentError::NotAllowed {
                status,
                command: command.name(),
            }),
        }
    }

    fn repeat_authorization(&self, requested: Money) -> Result<Vec<PaymentEvent>, PaymentError> {
        match self.amount {
            Some(recorded) if recorded == requested => Ok(vec![]),
            Some(recorded) => Err(PaymentError::AmountMismatch {
                recorded,
                requested,
            }),
            None => Err(PaymentError::NotFound),
        }
    }

    /// Asks again under the original key, with the token kept when the outcome was lost.
    /// `None`: still unknown.
    async fn reconcile(
        &self,
        services: &PaymentServices,
    ) -> Result<Option<PaymentEvent>, PaymentError> {
        let (Some(payment_id), Some(amount)) = (self.id, self.amount) else {
            return Err(PaymentError::NotFound);
        };
        let Some(token) = services.tokens.token(payment_id).await? else {
            // Nothing to repeat the request with; only the provider's records can tell now.
            return Err(PaymentError::GatewayOutcomeUnknown(
                "the payment method token is no longer kept; reconcile with the provider's \
                 records"
                    .into(),
            ));
        };
        match authorization_outcome(payment_id, amount, token, services).await? {
            PaymentEvent::PaymentAuthorizationUnknown { .. } => Ok(None),
            known => Ok(Some(known)),
        }
    }

    async fn reconcile_then_void(
        &self,
        services: &PaymentServices,
    ) -> Result<Vec<PaymentEvent>, PaymentError> {
        let gateway = services.gateway.as_ref();
        match self.reconcile(services).await? {
            None => Err(PaymentError::GatewayOutcomeUnknown(
                "the provider has not told whether it holds an authorization; \
                 void again later"
                    .into(),
            )),
            Some(PaymentEvent::PaymentAuthorized {
                payment_id,
                amount,
                authorization_id,
            }) => {
                self.void(authorization_id.clone(), gateway).await?;
                Ok(vec![
                    PaymentEvent::PaymentAuthorized {
                        payment_id,
                        amount,
                        authorization_id,
                    },
                    PaymentEvent::PaymentVoided {},
                ])
            }
            // Declined: the provider holds nothing, which is all a void wants.
            Some(other) => Ok(vec![other]),
        }
    }

    async fn void(
        &self,
        authorization_id: String,
        gateway: &dyn PaymentGateway,
    ) -> Result<(), PaymentError> {
        let payment_id = self.id.ok_or(PaymentError::NotFound)?;
        gateway
            .void(VoidRequest {
                idempotency_key: void_key(payment_id),
                authorization_id,
            })
            .await?;
        Ok(())
    }

    async fn capture(
        &self,
        requested: Option<Money>,
        gateway: &dyn PaymentGateway,
    ) -> Result<Vec<PaymentEvent>, PaymentError> {
        let (Some(payment_id), Some(authorized), Some(captured)) =
            (self.id, self.amount, self.captured)
        else {
            return Err(PaymentError::NotFound);
        };
        let remaining = subtract(&authorized, &captured)?;
        let amount = match requested {
            None if remaining.is_zero() => return Ok(vec![]),
            None => remaining,
            Some(amount) => self.payable(amount)?,
        };
        let total_captured = add(&captured, &amount)?;
        if total_captured.amount() > authorized.amount() {
            return Err(PaymentError::OverCapture {
                authorized,
                captured,
                requested: amount,
            });
        }
        let receipt = gateway
            .capture(CaptureRequest {
                idempotency_key: capture_key(payment_id, self.captures.len() + 1),
                authorization_id: self.held_authorization(),
                amount,
            })
            .await?;
        Ok(vec![PaymentEvent::PaymentCaptured {
            amount,
            capture_id: receipt.capture_id,
            total_captured,
        }])
    }

    async fn refund_captured(
        &self,
        refund_id: RefundId,
        requested: Money,
        gateway: &dyn PaymentGateway,
    ) -> Result<Vec<PaymentEvent>, PaymentError> {
        if let Some(existing) = self.refund(refund_id) {
            if existing.amount == requested {
                return Ok(vec![]);
            }
            return Err(PaymentError::RefundMismatch {
                refund_id,
                recorded: existing.amount,
                requested,
            });
        }
        let (Some(captured), Some(refunded)) = (self.captured, self.refunded) else {
            return Err(PaymentError::NotFound);
        };
        let amount = self.payable(requested)?;
        let total_refunded = add(&refunded, &amount)?;
        if total_refunded.amount() > captured.amount() {
            return Err(PaymentError::OverRefund {
                captured,
                refunded,
                requested: amount,
            });
        }
        gateway
            .refund(RefundRequest {
                idempotency_key: refund_key(self.id.ok_or(PaymentError::NotFound)?, refund_id),
                authorization_id: self.held_authorization(),
                amount,
            })
            .await?;
        Ok(vec![PaymentEvent::PaymentRefunded {
            refund_id,
            amount,
            total_refunded,
        }])
    }

    /// The provider's id of the hold. Always known once `Authorized` or `Captured`; were it ever
    /// missing, the provider would refuse the empty id, which is reported, not assumed.
    fn held_authorization(&self) -> String {
        self.authorization_id.clone().unwrap_or_default()
    }

    /// `amount` if it is in the payment's currency and payable.
    fn payable(&self, amount: Money) -> Result<Money, PaymentError> {
        if let Some(recorded) = self.amount {
            if recorded.currency() != amount.currency() {
                return Err(PaymentError::CurrencyMismatch {
                    payment: recorded.currency(),
                    requested: amount.currency(),
                });
            }
        }
        payable(amount)
    }
}

/// A positive amount in whole minor units, no larger than `Money::MAX_PRICE` (which keeps
/// every sum of captures or refunds far from overflowing).
fn payable(amount: Money) -> Result<Money, PaymentError> {
    match Money::price(amount.amount(), amount.currency()) {
        Ok(valid) if !valid.is_zero() => Ok(valid),
        _ => Err(PaymentError::InvalidAmount { amount }),
    }
}

fn add(left: &Money, right: &Money) -> Result<Money, PaymentError> {
    left.checked_add(right).map_err(|e| money_error(e, right))
}

fn subtract(left: &Money, right: &Money) -> Result<Money, PaymentError> {
    left.checked_sub(right).map_err(|e| money_error(e, right))
}

fn money_error(error: MoneyError, operand: &Money) -> PaymentError {
    match error {
        MoneyError::CurrencyMismatch { left, right } => PaymentError::CurrencyMismatch {
            payment: left,
            requested: right,
        },
        _ => PaymentError::InvalidAmount { amount: *operand },
    }
}

async fn authorize(
    payment_id: PaymentId,
    amount: Money,
    payment_method_token: String,
    services: &PaymentServices,
) -> Result<Vec<PaymentEvent>, PaymentError> {
    let amount = payable(amount)?;
    let outcome = authorization_outcome(payment_id, amount, payment_method_token, services).await?;
    Ok(vec![outcome])
}

/// Sends the authorization of `payment_id` and turns every answer that is a fact into the
/// event recording it. Answers that record nothing are errors. When the answer is lost, the
/// token is kept (never in the event) so that reconciliation can repeat the request.
async fn authorization_outcome(
    payment_id: PaymentId,
    amount: Money,
    payment_method_token: String,
    services: &PaymentServices,
) -> Result<PaymentEvent, PaymentError> {
    let request = AuthorizeRequest {
        idempotency_key: authorization_key(payment_id),
        amount,
        payment_method_token: payment_method_token.clone(),
    };
    match services.gateway.authorize(request).await {
        Ok(authorization) => Ok(PaymentEvent::PaymentAuthorized {
            payment_id,
            amount,
            authorization_id: authorization.authorization_id,
        }),
        Err(GatewayError::Declined { code, message }) => Ok(PaymentEvent::PaymentDeclined {
            payment_id,
            amount,
            code,
            message,
        }),
        Err(GatewayError::Unknown(reason)) => {
            services
                .tokens
                .keep(payment_id, &payment_method_token)
                .await?;
            Ok(PaymentEvent::PaymentAuthorizationUnknown {
                payment_id,
                amount,
                reason,
            })
        }
        Err(GatewayError::Transient(reason)) => Err(PaymentError::GatewayUnavailable(reason)),
        Err(GatewayError::Rejected(reason)) => Err(PaymentError::GatewayRejected(reason)),
    }
}

impl Aggregate for Payment {
    const TYPE: &'static str = "payment";
    type Command = PaymentCommand;
    type Event = PaymentEvent;
    type Error = PaymentError;
    type Services = PaymentServices;

    async fn handle(
        &mut self,
        command: Self::Command,
        services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command, services).await? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            PaymentEvent::PaymentAuthorized {
                payment_id,
                amount,
                authorization_id,
            } => {
                self.open(payment_id, amount, PaymentStatus::Authorized);
                self.authorization_id = Some(authorization_id);
            }
            PaymentEvent::PaymentDeclined {
                payment_id,
                amount,
                code,
                message,
            } => {
                self.open(payment_id, amount, PaymentStatus::Declined);
                self.decline = Some(Decline { code, message });
            }
            PaymentEvent::PaymentAuthorizationUnknown {
                payment_id, amount, ..
            } => {
                self.open(payment_id, amount, PaymentStatus::AuthorizationUnknown);
            }
            PaymentEvent::PaymentCaptured {
                amount,
                capture_id,
                total_captured,
            } => {
                self.status = Some(PaymentStatus::Captured);
                self.captures.push(Capture { capture_id, amount });
                self.captured = Some(total_captured);
            }
            PaymentEvent::PaymentVoided {} => self.status = Some(PaymentStatus::Voided),
            PaymentEvent::PaymentRefunded {
                refund_id,
                amount,
                total_refunded,
            } => {
                self.refunds.push(Refund { refund_id, amount });
                self.refunded = Some(total_refunded);
            }
        }
    }
}

impl Payment {
    /// Records an authorization outcome: the first one, or the one reconciliation learned.
    fn open(&mut self, payment_id: PaymentId, amount: Money, status: PaymentStatus) {
        self.id = Some(payment_id);
        self.status = Some(status);
        self.amount = Some(amount);
        self.captured = Some(Money::zero(amount.currency()));
        self.refunded = Some(Money::zero(amount.currency()));
    }
}

#[cfg(test)]
mod tests;
