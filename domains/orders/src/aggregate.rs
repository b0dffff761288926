//! The `Order` aggregate.
//!
//! State machine (`-` = not placed). "Same" means the checkout or payment the order already
//! records; a different one is refused (`AlreadyExists` / `NotAllowed`).
//!
//! | status    | PlaceOrder         | MarkPaid            | FulfillOrder | CompleteOrder | CancelOrder         |
//! |-----------|--------------------|---------------------|--------------|---------------|---------------------|
//! | -         | Placed             | NotFound            | NotFound     | NotFound      | NotFound            |
//! | Placed    | same: no-op        | Paid (amount=total) | NotAllowed   | NotAllowed    | Cancelled           |
//! | Paid      | same: no-op        | same: no-op         | Fulfilled    | NotAllowed    | Cancelled, was paid, and refunds all it has left |
//! | Fulfilled | same: no-op        | same: no-op         | NotAllowed   | Completed     | NotAllowed          |
//! | Completed | same: no-op        | same: no-op         | NotAllowed   | NotAllowed    | NotAllowed          |
//! | Cancelled | same: no-op        | same: no-op         | NotAllowed   | NotAllowed    | no-op               |
//!
//! The no-ops are for redelivery: the checkout saga sends `PlaceOrder` and `MarkPaid` at least
//! once and must see success the second time, even if the order has moved on in between (staff
//! may fulfil a paid order before a slow saga retries `MarkPaid`). A different checkout or
//! payment is a real conflict and is refused.
//!
//! Refunds (`RequestRefund`, `RecordRefund`, `ReleaseRefund`) do not change the status; they
//! are decided against the refundable balance (the `refunds` module, ADR 0018).

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{
    CheckoutId, Currency, CustomerId, EmailAddress, Money, OrderId, PaymentId, PostalAddress,
    RefundId,
};

use crate::commands::{NewOrderLine, OrderCommand, OrderTax};
use crate::errors::OrderError;
use crate::events::{OrderEvent, TaxData};
use crate::refunds::{
    cancellation_refund_id, decide_refund, decide_remainder, shipping_left, total_in,
    FinancialStatus, OrderRefund, OrderRefundState, RefundItems, RefundOrigin, RefundReason,
    ShippingRefund, MAX_REFUNDS,
};
use crate::values::{
    check_tax_part, CancellationReason, Fulfillment, OrderLine, OrderNumber, OrderStatus, MAX_LINES,
};

/// An order. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    id: Option<OrderId>,
    /// `None` until `OrderPlaced`.
    status: Option<OrderStatus>,
    checkout_id: Option<CheckoutId>,
    customer_id: Option<CustomerId>,
    email: Option<EmailAddress>,
    shipping_address: Option<PostalAddress>,
    currency: Option<Currency>,
    lines: Vec<OrderLine>,
    subtotal: Option<Money>,
    shipping_total: Option<Money>,
    total: Option<Money>,
    placed_at: Option<DateTime<Utc>>,
    payment_id: Option<PaymentId>,
    fulfillment: Option<Fulfillment>,
    cancellation_reason: Option<CancellationReason>,
    /// What the payment settled, once paid: the most refunds may give back.
    #[serde(default)]
    paid: Option<Money>,
    /// Every refund requested, in the order they were requested.
    #[serde(default)]
    refunds: Vec<OrderRefund>,
    /// Whether the shopper's personal data was erased.
    #[serde(default)]
    personal_data_erased: bool,
    /// The promotion code the order was placed with.
    #[serde(default)]
    promotion_code: Option<String>,
    /// What the code took off the lines; `None` without a code.
    #[serde(default)]
    discount_total: Option<Money>,
    /// The order's short number, once placed with one.
    #[serde(default)]
    number: Option<OrderNumber>,
    /// The tax on the shipping charge; `None` when the order charged no tax.
    #[serde(default)]
    shipping_tax: Option<TaxData>,
    /// The lines' tax plus the shipping's; `None` when the order charged no tax.
    #[serde(default)]
    tax_total: Option<Money>,
}

impl Order {
    pub fn id(&self) -> Option<OrderId> {
        self.id
    }

    /// `None` if the order has not been placed.
    pub fn status(&self) -> Option<OrderStatus> {
        self.status
    }

    /// The checkout that placed the order, if a checkout did.
    pub fn checkout_id(&self) -> Option<CheckoutId> {
        self.checkout_id
    }

    /// `None` for guest orders (and before placement).
    pub fn customer_id(&self) -> Option<CustomerId> {
        self.customer_id
    }

    pub fn email(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }

    pub fn shipping_address(&self) -> Option<&PostalAddress> {
        self.shipping_address.as_ref()
    }

    /// Whether the shopper's email and address were erased at their request.
    pub fn personal_data_erased(&self) -> bool {
        self.personal_data_erased
    }

    pub fn currency(&self) -> Option<Currency> {
        self.currency
    }

    /// Lines in the order they were submitted.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// Sum of the line totals.
    pub fn subtotal(&self) -> Option<Money> {
        self.subtotal
    }

    /// The order's short number (`#1042`); `None` for orders placed before numbers existed.
    pub fn number(&self) -> Option<OrderNumber> {
        self.number
    }

    /// The promotion code the order was placed with, if any.
    pub fn promotion_code(&self) -> Option<&str> {
        self.promotion_code.as_deref()
    }

    /// What the promotion took off the lines (zero without one; `None` before placing).
    pub fn discount_total(&self) -> Option<Money> {
        let currency = self.currency?;
        Some(
            self.discount_total
                .unwrap_or_else(|| Money::zero(currency).round_to_minor_units()),
        )
    }

    /// Shipping charged on top of the subtotal; zero until shipping is priced.
    pub fn shipping_total(&self) -> Option<Money> {
        self.shipping_total
    }

    /// The tax on the shipping charge, if the order charged tax.
    pub fn shipping_tax(&self) -> Option<&TaxData> {
        self.shipping_tax.as_ref()
    }

    /// The lines' tax plus the shipping's, if the order charged tax.
    pub fn tax_total(&self) -> Option<Money> {
        self.tax_total
    }

    /// What the shopper paid for shipping: its charge, plus its tax when that came on top.
    /// What refunds may give back of it.
    fn shipping_paid(&self) -> Option<Money> {
        let charge = self.shipping_total?;
        Some(match &self.shipping_tax {
            Some(tax) if !tax.included => {
                Money::new(charge.amount() + tax.amount.amount(), charge.currency())
            }
            _ => charge,
        })
    }

    /// What the shopper pays, and what `MarkPaid` must match.
    pub fn total(&self) -> Option<Money> {
        self.total
    }

    pub fn placed_at(&self) -> Option<DateTime<Utc>> {
        self.placed_at
    }

    /// The payment that settled the order, once paid (kept after fulfilment or cancellation).
    pub fn payment_id(&self) -> Option<PaymentId> {
        self.payment_id
    }

    /// Carrier and tracking number, once fulfilled.
    pub fn fulfillment(&self) -> Option<&Fulfillment> {
        self.fulfillment.as_ref()
    }

    /// Why the order was cancelled, once cancelled.
    pub fn cancellation_reason(&self) -> Option<&CancellationReason> {
        self.cancellation_reason.as_ref()
    }

    /// What the payment settled, once paid.
    pub fn paid(&self) -> Option<Money> {
        self.paid
    }

    /// Every refund requested, released ones included, in the order they were requested.
    pub fn refunds(&self) -> &[OrderRefund] {
        &self.refunds
    }

    pub fn refund(&self, refund_id: RefundId) -> Option<&OrderRefund> {
        self.refunds.iter().find(|r| r.refund_id() == refund_id)
    }

    /// The money given back so far; `None` before the order is paid.
    pub fn refunded_total(&self) -> Option<Money> {
        let paid = self.paid?;
        Some(total_in(
            &self.refunds,
            OrderRefundState::Refunded,
            paid.currency(),
        ))
    }

    /// How much of what was paid went back; `None` before the order is paid.
    pub fn financial_status(&self) -> Option<FinancialStatus> {
        let paid = self.paid?;
        let refunded = self.refunded_total()?;
        Some(if refunded.is_zero() {
            FinancialStatus::Paid
        } else if refunded == paid {
            FinancialStatus::Refunded
        } else {
            FinancialStatus::PartiallyRefunded
        })
    }

    /// Decides which events `command` produces, without changing anything.
    fn decide(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        use OrderCommand as C;
        use OrderStatus::{Cancelled, Fulfilled, Paid, Placed};
        match (self.status, command) {
            (
                None,
                C::PlaceOrder {
                    order_id,
                    checkout_id,
                    customer_id,
                    email,
                    shipping_address,
                    currency,
                    lines,
                    placed_at,
                    promotion_code,
                    number,
                    shipping_total,
                    tax,
                },
            ) => {
                let lines = order_lines(lines, currency)?;
                let subtotal = subtotal(&lines, currency)?;
                let discount_total = Money::new(
                    lines.iter().map(|line| line.discount().amount()).sum(),
                    currency,
                )
                .round_to_minor_units();
                let shipping_total = shipping_charge(shipping_total, currency)?;
                let (lines, shipping_tax) = match tax {
                    Some(tax) => {
                        let (lines, shipping_tax) = taxed(lines, tax, shipping_total)?;
                        (lines, Some(shipping_tax))
                    }
                    None => (lines, None),
                };
                let tax_total = shipping_tax.as_ref().map(|shipping| {
                    let lines_tax: rust_decimal::Decimal = lines
                        .iter()
                        .filter_map(|line| line.tax().map(|tax| tax.amount.amount()))
                        .sum();
                    Money::new(lines_tax + shipping.amount.amount(), currency)
                        .round_to_minor_units()
                });
                let tax_on_top = lines
                    .iter()
                    .map(|line| line.tax_on_top().amount())
                    .sum::<rust_decimal::Decimal>()
                    + shipping_tax
                        .as_ref()
                        .filter(|tax| !tax.included)
                        .map_or(rust_decimal::Decimal::ZERO, |tax| tax.amount.amount());
                let total = Money::new(
                    subtotal.amount() - discount_total.amount()
                        + shipping_total.amount()
                        + tax_on_top,
                    currency,
                )
                .round_to_minor_units();
                let discounted = promotion_code.is_some() || !discount_total.is_zero();
                Ok(vec![OrderEvent::OrderPlaced {
                    order_id,
                    checkout_id,
                    customer_id,
                    email: email.into(),
                    shipping_address: shipping_address.into(),
                    currency,
                    lines: lines.iter().map(OrderLine::data).collect(),
                    subtotal,
                    shipping_total,
                    total,
                    placed_at,
                    promotion_code,
                    discount_total: discounted.then_some(discount_total),
                    number: number.map(OrderNumber::get),
                    shipping_tax,
                    tax_total,
                }])
            }
            (Some(_), C::PlaceOrder { checkout_id, .. })
                if checkout_id.is_some() && checkout_id == self.checkout_id =>
            {
                Ok(vec![])
            }
            (Some(_), C::PlaceOrder { .. }) => Err(OrderError::AlreadyExists),
            (None, _) => Err(OrderError::NotFound),
            (Some(Placed), C::MarkPaid { payment_id, amount }) => {
                self.mark_paid(payment_id, amount)
            }
            (Some(_), C::MarkPaid { payment_id, .. }) if self.payment_id == Some(payment_id) => {
                Ok(vec![])
            }
            (
                Some(Paid),
                C::FulfillOrder {
                    carrier,
                    tracking_number,
                },
            ) => {
                let fulfillment = Fulfillment::new(&carrier, &tracking_number)?;
                Ok(vec![OrderEvent::OrderFulfilled {
                    carrier: fulfillment.carrier().to_owned(),
                    tracking_number: fulfillment.tracking_number().to_owned(),
                }])
            }
            (Some(Fulfilled), C::CompleteOrder) => Ok(vec![OrderEvent::OrderCompleted {}]),
            (Some(status @ (Placed | Paid)), C::CancelOrder { reason }) => {
                let reason = CancellationReason::parse(&reason)?;
                let mut events = vec![OrderEvent::OrderCancelled {
                    reason: reason.as_str().to_owned(),
                    was_paid: status == Paid,
                }];
                // A paid order gives back everything it has left, and its units go back into
                // stock: they were never shipped. In the same decision, so no refund can be
                // requested in between.
                events.extend(self.cancellation_refund(&reason)?);
                Ok(events)
            }
            (Some(Cancelled), C::CancelOrder { .. }) => Ok(vec![]),
            (
                Some(_),
                C::RequestRefund {
                    refund_id,
                    items,
                    shipping,
                    restock,
                    reason,
                    origin,
                },
            ) => self.request_refund(refund_id, items, shipping, restock, &reason, origin),
            (Some(_), C::RecordRefund { refund_id }) => {
                let refund = self.settling(refund_id, "recorded")?;
                if refund.state() == OrderRefundState::Refunded {
                    return Ok(vec![]);
                }
                let total_refunded = self
                    .refunded_total()
                    .and_then(|sum| sum.checked_add(&refund.amount()).ok())
                    .ok_or(OrderError::RefundTooLarge)?;
                Ok(vec![OrderEvent::OrderRefunded {
                    refund_id,
                    amount: refund.amount(),
                    total_refunded,
                }])
            }
            (Some(_), C::ReleaseRefund { refund_id, reason }) => {
                let refund = self.settling(refund_id, "released")?;
                if refund.state() == OrderRefundState::Released {
                    return Ok(vec![]);
                }
                let reason = RefundReason::parse(&reason)?;
                Ok(vec![OrderEvent::OrderRefundReleased {
                    refund_id,
                    reason: reason.as_str().to_owned(),
                }])
            }
            (Some(_), C::ErasePersonalData) if self.personal_data_erased => Ok(vec![]),
            (Some(_), C::ErasePersonalData) => Ok(vec![OrderEvent::PersonalDataErased {}]),
            (Some(status), command) => Err(OrderError::NotAllowed {
                status,
                command: command.name(),
            }),
        }
    }

    fn request_refund(
        &self,
        refund_id: RefundId,
        items: RefundItems,
        shipping: ShippingRefund,
        restock: bool,
        reason: &str,
        origin: RefundOrigin,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let reason = RefundReason::parse(reason)?;
        if let Some(existing) = self.refund(refund_id) {
            let left = match self.shipping_paid() {
                Some(total) => shipping_left(total, &self.refunds, Some(refund_id))?,
                None => existing.shipping(),
            };
            return if existing.repeats(&items, shipping, left, restock, &reason, origin) {
                Ok(vec![])
            } else {
                Err(OrderError::RefundIdReused { refund_id })
            };
        }
        match self.status {
            Some(OrderStatus::Placed) => return Err(OrderError::NotPaid),
            Some(status @ OrderStatus::Cancelled) => {
                return Err(OrderError::NotAllowed {
                    status,
                    command: "RequestRefund",
                })
            }
            _ => {}
        }
        let (Some(paid), Some(shipping_total)) = (self.paid, self.shipping_paid()) else {
            return Err(OrderError::NotPaid);
        };
        if self.refunds.len() >= MAX_REFUNDS {
            return Err(OrderError::TooManyRefunds { max: MAX_REFUNDS });
        }
        let decided = decide_refund(
            &self.lines,
            shipping_total,
            paid,
            &self.refunds,
            &items,
            shipping,
            restock,
        )?;
        Ok(vec![OrderEvent::OrderRefundRequested {
            refund_id,
            amount: decided.amount,
            lines: decided.lines,
            shipping: decided.shipping,
            restock,
            reason: reason.as_str().to_owned(),
            origin,
        }])
    }

    /// What cancelling a paid order refunds: every unit and every cent it has left, under a
    /// refund id derived from the order. Nothing for an unpaid order or one refunded in full.
    fn cancellation_refund(
        &self,
        reason: &CancellationReason,
    ) -> Result<Option<OrderEvent>, OrderError> {
        let (Some(order_id), Some(paid), Some(shipping_total)) =
            (self.id, self.paid, self.shipping_paid())
        else {
            return Ok(None);
        };
        let Some(decided) = decide_remainder(&self.lines, shipping_total, paid, &self.refunds)?
        else {
            return Ok(None);
        };
        Ok(Some(OrderEvent::OrderRefundRequested {
            refund_id: cancellation_refund_id(order_id),
            amount: decided.amount,
            lines: decided.lines,
            shipping: decided.shipping,
            restock: true,
            reason: reason.as_str().to_owned(),
            origin: RefundOrigin::Cancellation,
        }))
    }

    /// The refund a `RecordRefund` or `ReleaseRefund` settles: it must exist, and not be
    /// settled the other way already.
    fn settling(
        &self,
        refund_id: RefundId,
        action: &'static str,
    ) -> Result<&OrderRefund, OrderError> {
        let refund = self
            .refund(refund_id)
            .ok_or(OrderError::RefundNotFound { refund_id })?;
        let settled_otherwise = match (refund.state(), action) {
            (OrderRefundState::Released, "recorded") => Some("released"),
            (OrderRefundState::Refunded, "released") => Some("refunded"),
            _ => None,
        };
        match settled_otherwise {
            Some(state) => Err(OrderError::RefundSettled {
                refund_id,
                state,
                action,
            }),
            None => Ok(refund),
        }
    }

    fn mark_paid(
        &self,
        payment_id: PaymentId,
        amount: Money,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        let Some(total) = self.total else {
            return Err(OrderError::NotFound);
        };
        // Money equality is numeric and includes the currency, so 19.9 EUR pays 19.90 EUR and
        // 19.90 USD does not.
        if amount != total {
            return Err(OrderError::PaymentAmountMismatch {
                expected: total,
                received: amount,
            });
        }
        Ok(vec![OrderEvent::OrderPaid {
            payment_id,
            amount: total,
        }])
    }
}

/// The submitted lines as order lines in `currency`, or the first reason they cannot be.
fn order_lines(lines: Vec<NewOrderLine>, currency: Currency) -> Result<Vec<OrderLine>, OrderError> {
    if lines.is_empty() {
        return Err(OrderError::NoLines);
    }
    if lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines {
            max: MAX_LINES,
            requested: lines.len(),
        });
    }
    lines
        .into_iter()
        .map(|line| {
            OrderLine::new(
                line.sku,
                line.product_id,
                line.title,
                line.quantity,
                line.unit_price,
                currency,
            )?
            .with_discount(line.discount)
        })
        .collect()
}

/// The shipping charge in whole minor units of the order's currency (zero without one), or
/// why it cannot be charged.
fn shipping_charge(shipping: Option<Money>, currency: Currency) -> Result<Money, OrderError> {
    let Some(shipping) = shipping else {
        return Ok(Money::zero(currency).round_to_minor_units());
    };
    if shipping.currency() != currency
        || shipping.is_negative()
        || !shipping.has_at_most_minor_unit_precision()
    {
        return Err(OrderError::InvalidShipping { shipping, currency });
    }
    Ok(shipping.round_to_minor_units())
}

/// The lines with their tax, and the shipping's tax: one part per line, in order, each
/// fitting what it taxes (see [`OrderLine::with_tax`]).
fn taxed(
    lines: Vec<OrderLine>,
    tax: OrderTax,
    shipping_total: Money,
) -> Result<(Vec<OrderLine>, TaxData), OrderError> {
    if tax.lines.len() != lines.len() {
        return Err(OrderError::InvalidTax {
            reason: format!("{} taxed lines for {} lines", tax.lines.len(), lines.len()),
        });
    }
    let included = tax.prices_include_tax;
    let lines = lines
        .into_iter()
        .zip(tax.lines)
        .map(|(line, part)| line.with_tax(part, included))
        .collect::<Result<Vec<_>, _>>()?;
    check_tax_part(
        &tax.shipping,
        shipping_total.currency(),
        included,
        shipping_total.amount(),
    )
    .map_err(|reason| OrderError::InvalidTax {
        reason: format!("shipping: {reason}"),
    })?;
    let shipping = TaxData {
        rate: tax.shipping.rate,
        amount: tax.shipping.amount.round_to_minor_units(),
        included,
    };
    Ok((lines, shipping))
}

fn subtotal(lines: &[OrderLine], currency: Currency) -> Result<Money, OrderError> {
    lines.iter().try_fold(Money::zero(currency), |sum, line| {
        sum.checked_add(&line.line_total())
            .map_err(|reason| OrderError::InvalidPrice {
                sku: line.sku().clone(),
                reason,
            })
    })
}

impl Aggregate for Order {
    const TYPE: &'static str = "order";
    type Command = OrderCommand;
    type Event = OrderEvent;
    type Error = OrderError;
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
            OrderEvent::OrderPlaced {
                order_id,
                checkout_id,
                customer_id,
                email,
                shipping_address,
                currency,
                lines,
                subtotal,
                shipping_total,
                total,
                placed_at,
                promotion_code,
                discount_total,
                number,
                shipping_tax,
                tax_total,
            } => {
                self.number = number.map(OrderNumber::new);
                self.shipping_tax = shipping_tax;
                self.tax_total = tax_total;
                self.promotion_code = promotion_code;
                self.discount_total = discount_total;
                self.id = Some(order_id);
                self.status = Some(OrderStatus::Placed);
                self.checkout_id = checkout_id;
                self.customer_id = customer_id;
                self.email = Some(EmailAddress::recorded(email));
                self.shipping_address = Some(PostalAddress::recorded(shipping_address));
                self.currency = Some(currency);
                self.lines = lines.into_iter().map(OrderLine::recorded).collect();
                self.subtotal = Some(subtotal);
                self.shipping_total = Some(shipping_total);
                self.total = Some(total);
                self.placed_at = Some(placed_at);
            }
            OrderEvent::OrderPaid { payment_id, amount } => {
                self.status = Some(OrderStatus::Paid);
                self.payment_id = Some(payment_id);
                self.paid = Some(amount);
            }
            OrderEvent::OrderFulfilled {
                carrier,
                tracking_number,
            } => {
                self.status = Some(OrderStatus::Fulfilled);
                self.fulfillment = Some(Fulfillment::recorded(carrier, tracking_number));
            }
            OrderEvent::OrderCompleted {} => self.status = Some(OrderStatus::Completed),
            OrderEvent::OrderCancelled { reason, .. } => {
                self.status = Some(OrderStatus::Cancelled);
                self.cancellation_reason = Some(CancellationReason::recorded(reason));
            }
            OrderEvent::OrderRefundRequested {
                refund_id,
                amount,
                lines,
                shipping,
                restock,
                reason,
                origin,
            } => self.refunds.push(OrderRefund::recorded(
                refund_id, amount, lines, shipping, restock, reason, origin,
            )),
            OrderEvent::OrderRefunded { refund_id, .. } => {
                if let Some(refund) = self.refunds.iter_mut().find(|r| r.refund_id() == refund_id) {
                    refund.mark_refunded();
                }
            }
            OrderEvent::OrderRefundReleased { refund_id, reason } => {
                if let Some(refund) = self.refunds.iter_mut().find(|r| r.refund_id() == refund_id) {
                    refund.mark_released(reason);
                }
            }
            OrderEvent::PersonalDataErased {} => {
                self.personal_data_erased = true;
                self.email = Some(EmailAddress::recorded(shared_kernel::ERASED.to_owned()));
                self.shipping_address =
                    Some(PostalAddress::recorded(shared_kernel::AddressData::erased()));
            }
        }
    }
}

#[cfg(test)]
mod tests;
