//! Value types and limits of the orders context. Each constructor validates, so holding one
//! means it is valid. Events hold plain data ([`OrderLineData`], strings) and the aggregate
//! rebuilds these types from them with `recorded`, which never validates: history must load
//! even after a rule is tightened. Email and postal addresses are the shared kernel's.

use std::fmt;

use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money, ProductId, Quantity, Sku};

use crate::commands::TaxPart;
use crate::errors::OrderError;
use crate::events::{OrderLineData, TaxData};

/// Most lines one order may have (the same bound as a cart).
pub const MAX_LINES: usize = 100;
/// Longest carrier name or tracking number, in characters.
pub const MAX_FULFILLMENT_CHARS: usize = 100;
/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// An order's short number for people (`#1042`): shown to shoppers, on documents, and
/// accepted by staff lookups. Allocated by the [`OrderNumbers`](crate::ports::OrderNumbers)
/// port, unique across instances, increasing, with gaps allowed (ADR 0036).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderNumber(u64);

impl OrderNumber {
    /// The first number a store gives: numbers are at least four digits, as shoppers expect.
    pub const FIRST: u64 = 1001;

    /// A number as a store allocated it or an event recorded it.
    pub fn new(number: u64) -> OrderNumber {
        OrderNumber(number)
    }

    /// What a person types: `1042` or `#1042`, spaces around allowed.
    pub fn parse(text: &str) -> Option<OrderNumber> {
        let digits = text.trim();
        let digits = digits.strip_prefix('#').unwrap_or(digits);
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(OrderNumber)
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for OrderNumber {
    /// `#1042`, as shown to people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Lifecycle of a placed order. An order that does not exist yet has no status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed by checkout, waiting for its payment to be recorded.
    Placed,
    /// Paid in full; ready to ship.
    Paid,
    /// Handed to a carrier; can no longer be cancelled.
    Fulfilled,
    /// Delivered and closed.
    Completed,
    /// Cancelled before fulfilment.
    Cancelled,
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        })
    }
}

/// One line of an order: what was bought, how many, at which unit price.
///
/// Unlike a cart line it never changes; `line_total` is computed once, when the order is
/// placed, and stored so readers need not redo the arithmetic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "OrderLineData", into = "OrderLineData")]
pub struct OrderLine {
    sku: Sku,
    product_id: ProductId,
    title: String,
    quantity: Quantity,
    unit_price: Money,
    line_total: Money,
    /// The line's share of the promotion discount (zero without one).
    discount: Money,
    /// The line's tax; `None` when the order charged no tax.
    tax: Option<TaxData>,
}

impl OrderLine {
    /// A line of an order in `currency`. The unit price must be in that currency
    /// ([`OrderError::CurrencyMismatch`]) and a valid price: not negative, not above
    /// [`Money::MAX_PRICE`], no finer than the currency's minor unit ([`OrderError::InvalidPrice`]).
    pub fn new(
        sku: Sku,
        product_id: ProductId,
        title: String,
        quantity: Quantity,
        unit_price: Money,
        currency: Currency,
    ) -> Result<OrderLine, OrderError> {
        if unit_price.currency() != currency {
            return Err(OrderError::CurrencyMismatch {
                sku,
                order: currency,
                price: unit_price.currency(),
            });
        }
        let unit_price = match Money::price(unit_price.amount(), currency) {
            Ok(price) => price,
            Err(reason) => return Err(OrderError::InvalidPrice { sku, reason }),
        };
        let line_total = match unit_price.checked_times(quantity) {
            Ok(total) => total,
            Err(reason) => return Err(OrderError::InvalidPrice { sku, reason }),
        };
        Ok(OrderLine {
            sku,
            product_id,
            title,
            quantity,
            unit_price,
            line_total,
            discount: Money::zero(currency).round_to_minor_units(),
            tax: None,
        })
    }

    /// The line with `discount` off: in the order's currency, in whole minor units, not
    /// negative and no more than the line's total ([`OrderError::InvalidDiscount`]).
    pub fn with_discount(mut self, discount: Money) -> Result<OrderLine, OrderError> {
        let fits = discount.currency() == self.line_total.currency()
            && !discount.is_negative()
            && discount.has_at_most_minor_unit_precision()
            && discount.amount() <= self.line_total.amount();
        if !fits {
            return Err(OrderError::InvalidDiscount {
                sku: self.sku,
                discount,
            });
        }
        self.discount = discount.round_to_minor_units();
        Ok(self)
    }

    /// The line's share of the promotion discount: zero without one.
    pub fn discount(&self) -> Money {
        self.discount
    }

    /// The line taxed as `part` says, `included` in its price or on top: in the order's
    /// currency, in whole minor units, not negative, and (included) no more than what the
    /// line is charged after its discount ([`OrderError::InvalidTax`]).
    pub fn with_tax(mut self, part: TaxPart, included: bool) -> Result<OrderLine, OrderError> {
        let charged = self.line_total.amount() - self.discount.amount();
        check_tax_part(&part, self.line_total.currency(), included, charged).map_err(|reason| {
            OrderError::InvalidTax {
                reason: format!("line {}: {reason}", self.sku),
            }
        })?;
        self.tax = Some(TaxData {
            rate: part.rate,
            amount: part.amount.round_to_minor_units(),
            included,
        });
        Ok(self)
    }

    /// The line's tax, if the order charged tax.
    pub fn tax(&self) -> Option<&TaxData> {
        self.tax.as_ref()
    }

    /// The tax that came on top of the line's price: zero when none, or when it was included.
    pub fn tax_on_top(&self) -> Money {
        match &self.tax {
            Some(tax) if !tax.included => tax.amount,
            _ => Money::zero(self.line_total.currency()).round_to_minor_units(),
        }
    }

    /// What the shopper paid for the line: its total less its share of the discount, plus
    /// its tax when the tax came on top. What refunding the whole line gives back.
    pub fn paid(&self) -> Money {
        Money::new(
            self.line_total.amount() - self.discount.amount() + self.tax_on_top().amount(),
            self.line_total.currency(),
        )
    }

    pub fn sku(&self) -> &Sku {
        &self.sku
    }

    pub fn product_id(&self) -> ProductId {
        self.product_id
    }

    /// The title shown when the order was placed.
    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn quantity(&self) -> Quantity {
        self.quantity
    }

    pub fn unit_price(&self) -> Money {
        self.unit_price
    }

    /// `unit_price × quantity`, exact.
    pub fn line_total(&self) -> Money {
        self.line_total
    }

    /// A line as an `OrderPlaced` event recorded it, taken as it is.
    pub fn recorded(line: OrderLineData) -> OrderLine {
        OrderLine {
            sku: Sku::recorded(line.sku),
            product_id: line.product_id,
            title: line.title,
            quantity: line.quantity,
            unit_price: line.unit_price,
            line_total: line.line_total,
            discount: line
                .discount
                .unwrap_or_else(|| Money::zero(line.line_total.currency()).round_to_minor_units()),
            tax: line.tax,
        }
    }

    /// The line as plain data, as an event records it.
    pub fn data(&self) -> OrderLineData {
        OrderLineData {
            sku: self.sku.as_str().to_owned(),
            product_id: self.product_id,
            title: self.title.clone(),
            quantity: self.quantity,
            unit_price: self.unit_price,
            line_total: self.line_total,
            discount: (!self.discount.is_zero()).then_some(self.discount),
            tax: self.tax.clone(),
        }
    }
}

impl From<OrderLineData> for OrderLine {
    fn from(line: OrderLineData) -> Self {
        OrderLine::recorded(line)
    }
}

impl From<OrderLine> for OrderLineData {
    fn from(line: OrderLine) -> Self {
        line.data()
    }
}

/// How a paid order was shipped: a carrier's name and its tracking number, each trimmed, not
/// empty, at most [`MAX_FULFILLMENT_CHARS`] and free of control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FulfillmentFields")]
pub struct Fulfillment {
    carrier: String,
    tracking_number: String,
}

impl Fulfillment {
    pub fn new(carrier: &str, tracking_number: &str) -> Result<Fulfillment, OrderError> {
        Ok(Fulfillment {
            carrier: fulfillment_text("carrier", carrier)?,
            tracking_number: fulfillment_text("tracking_number", tracking_number)?,
        })
    }

    /// Rebuilds a fulfilment from an `OrderFulfilled` event, which was validated when it was
    /// decided; replaying history must not fail.
    pub(crate) fn recorded(carrier: String, tracking_number: String) -> Fulfillment {
        Fulfillment {
            carrier,
            tracking_number,
        }
    }

    pub fn carrier(&self) -> &str {
        &self.carrier
    }

    pub fn tracking_number(&self) -> &str {
        &self.tracking_number
    }
}

fn fulfillment_text(field: &'static str, raw: &str) -> Result<String, OrderError> {
    let invalid = |reason: String| OrderError::InvalidFulfillment { field, reason };
    let text = raw.trim();
    if text.is_empty() {
        return Err(invalid("must not be empty".to_owned()));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".to_owned()));
    }
    if text.chars().count() > MAX_FULFILLMENT_CHARS {
        return Err(invalid(format!(
            "must be at most {MAX_FULFILLMENT_CHARS} characters"
        )));
    }
    Ok(text.to_owned())
}

#[derive(Deserialize)]
struct FulfillmentFields {
    carrier: String,
    tracking_number: String,
}

impl TryFrom<FulfillmentFields> for Fulfillment {
    type Error = OrderError;

    fn try_from(fields: FulfillmentFields) -> Result<Self, Self::Error> {
        Fulfillment::new(&fields.carrier, &fields.tracking_number)
    }
}

/// Why an order was cancelled, for staff and the shopper: trimmed, not empty, at most
/// [`MAX_REASON_CHARS`]. Line breaks are allowed; it is prose.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CancellationReason(String);

impl CancellationReason {
    pub fn parse(raw: &str) -> Result<CancellationReason, OrderError> {
        let reason = raw.trim();
        if reason.is_empty() {
            return Err(OrderError::InvalidReason {
                reason: "must not be empty".to_owned(),
            });
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(OrderError::InvalidReason {
                reason: format!("must be at most {MAX_REASON_CHARS} characters"),
            });
        }
        Ok(CancellationReason(reason.to_owned()))
    }

    /// Rebuilds a reason from an `OrderCancelled` event, which was validated when it was
    /// decided; replaying history must not fail.
    pub(crate) fn recorded(reason: String) -> CancellationReason {
        CancellationReason(reason)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CancellationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CancellationReason {
    type Error = OrderError;

    fn try_from(raw: String) -> Result<Self, Self::Error> {
        CancellationReason::parse(&raw)
    }
}

impl From<CancellationReason> for String {
    fn from(reason: CancellationReason) -> Self {
        reason.0
    }
}

#[cfg(test)]
mod tests;

/// Why `part` cannot be the tax on an amount of `charged` in `currency`, if it cannot: it
/// must be in that currency, in whole minor units, not negative, at a rate from 0 to 100 %,
/// and (when `included`) no more than the amount.
pub(crate) fn check_tax_part(
    part: &TaxPart,
    currency: Currency,
    included: bool,
    charged: rust_decimal::Decimal,
) -> Result<(), String> {
    let amount = part.amount;
    if amount.currency() != currency {
        return Err(format!("{amount} is not in {currency}"));
    }
    if amount.is_negative() || !amount.has_at_most_minor_unit_precision() {
        return Err(format!("{amount} is not a tax in whole minor units"));
    }
    if part.rate.is_sign_negative() || part.rate > rust_decimal::Decimal::ONE_HUNDRED {
        return Err(format!("{} % is not a rate", part.rate));
    }
    if included && amount.amount() > charged {
        return Err(format!(
            "{amount} is more than the {charged} it is included in"
        ));
    }
    Ok(())
}
