//! Business outcomes the orders context refuses. The context does no I/O, so there is no
//! infrastructure variant; store failures are reported by cqrs-es around these.

use shared_kernel::{Currency, Money, MoneyError, RefundId, Sku};

use crate::values::OrderStatus;

/// Why an order command (or an order value) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("order not found")]
    NotFound,
    #[error("order already exists")]
    AlreadyExists,
    #[error("{command} is not allowed while the order is {status}")]
    NotAllowed {
        status: OrderStatus,
        command: &'static str,
    },
    #[error("invalid email address: {reason}")]
    InvalidEmail { reason: String },
    #[error("invalid {field}: {reason}")]
    InvalidAddress { field: &'static str, reason: String },
    #[error("an order needs at least one line")]
    NoLines,
    #[error("an order has at most {max} lines, {requested} were given")]
    TooManyLines { max: usize, requested: usize },
    #[error("the order is in {order}, the price of {sku} is in {price}")]
    CurrencyMismatch {
        sku: Sku,
        order: Currency,
        price: Currency,
    },
    #[error("invalid price for {sku}: {reason}")]
    InvalidPrice { sku: Sku, reason: MoneyError },
    /// A line's discount is negative, finer than the currency, in another currency, or more
    /// than the line's total.
    #[error("a discount of {discount} does not fit the line of {sku}")]
    InvalidDiscount { sku: Sku, discount: Money },
    #[error("a shipping charge of {shipping} does not fit an order in {currency}")]
    InvalidShipping { shipping: Money, currency: Currency },
    /// The tax does not fit the order: one part per line, in the order's currency, whole
    /// minor units, not negative, and not more than a tax-inclusive amount.
    #[error("the tax does not fit the order: {reason}")]
    InvalidTax { reason: String },
    #[error("the order total is {expected}, the payment is {received}")]
    PaymentAmountMismatch { expected: Money, received: Money },
    #[error("invalid {field}: {reason}")]
    InvalidFulfillment { field: &'static str, reason: String },
    #[error("invalid reason: {reason}")]
    InvalidReason { reason: String },
    #[error("the order has not been paid, so there is nothing to refund")]
    NotPaid,
    #[error("{requested} is more than the {refundable} left to refund")]
    OverRefund { requested: Money, refundable: Money },
    #[error("the order has no line {sku}")]
    UnknownLine { sku: Sku },
    #[error("{requested} units of {sku} asked for, {refundable} left to refund")]
    TooManyUnits {
        sku: Sku,
        requested: u32,
        refundable: u32,
    },
    #[error("{sku} is listed more than once")]
    DuplicateRefundLine { sku: Sku },
    #[error("a refund of lines needs at least one line")]
    NoRefundLines,
    #[error("invalid refund amount: {reason}")]
    InvalidRefundAmount { reason: String },
    #[error("the order is in {order}, the refund is in {requested}")]
    RefundCurrencyMismatch {
        order: Currency,
        requested: Currency,
    },
    #[error("only a refund of lines can restock; an amount gives no units back")]
    RestockWithoutLines,
    #[error("invalid shipping refund: {reason}")]
    InvalidShippingRefund { reason: String },
    #[error("{requested} of shipping is more than the {refundable} of shipping left to refund")]
    ShippingOverRefund { requested: Money, refundable: Money },
    #[error("an amount is already spread over the lines and shipping; refund shipping with lines or alone")]
    ShippingWithAmount,
    #[error("the order has no shipping left to refund")]
    NoShippingToRefund,
    #[error("refund {refund_id} was requested with different items, reason or origin")]
    RefundIdReused { refund_id: RefundId },
    #[error("the order has no refund {refund_id}")]
    RefundNotFound { refund_id: RefundId },
    #[error("refund {refund_id} is {state}, so it cannot be {action}")]
    RefundSettled {
        refund_id: RefundId,
        state: &'static str,
        action: &'static str,
    },
    #[error("an order has at most {max} refunds")]
    TooManyRefunds { max: usize },
    #[error("the refund is too large to compute")]
    RefundTooLarge,
}

impl From<shared_kernel::EmailError> for OrderError {
    fn from(error: shared_kernel::EmailError) -> Self {
        OrderError::InvalidEmail {
            reason: error.reason,
        }
    }
}

impl From<shared_kernel::AddressError> for OrderError {
    fn from(error: shared_kernel::AddressError) -> Self {
        OrderError::InvalidAddress {
            field: error.field,
            reason: error.reason,
        }
    }
}

impl OrderError {
    /// Stable, snake_case identifier for problem responses. Never change a released code.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::NotFound => "order_not_found",
            OrderError::AlreadyExists => "order_already_exists",
            OrderError::NotAllowed { .. } => "not_allowed",
            OrderError::InvalidEmail { .. } => "invalid_email",
            OrderError::InvalidAddress { .. } => "invalid_address",
            OrderError::NoLines => "no_lines",
            OrderError::TooManyLines { .. } => "too_many_lines",
            OrderError::CurrencyMismatch { .. } => "currency_mismatch",
            OrderError::InvalidPrice { .. } => "invalid_price",
            OrderError::InvalidDiscount { .. } => "invalid_discount",
            OrderError::InvalidShipping { .. } => "invalid_shipping",
            OrderError::InvalidTax { .. } => "invalid_tax",
            OrderError::PaymentAmountMismatch { .. } => "payment_amount_mismatch",
            OrderError::InvalidFulfillment { .. } => "invalid_fulfillment",
            OrderError::InvalidReason { .. } => "invalid_reason",
            OrderError::NotPaid => "order_not_paid",
            OrderError::OverRefund { .. } => "over_refund",
            OrderError::UnknownLine { .. } => "unknown_line",
            OrderError::TooManyUnits { .. } => "too_many_units",
            OrderError::DuplicateRefundLine { .. } => "duplicate_line",
            OrderError::NoRefundLines => "no_refund_lines",
            OrderError::InvalidRefundAmount { .. } => "invalid_refund_amount",
            OrderError::RefundCurrencyMismatch { .. } => "currency_mismatch",
            OrderError::RestockWithoutLines => "restock_without_lines",
            OrderError::InvalidShippingRefund { .. } => "invalid_shipping_refund",
            OrderError::ShippingOverRefund { .. } => "shipping_over_refund",
            OrderError::ShippingWithAmount => "shipping_with_amount",
            OrderError::NoShippingToRefund => "no_shipping_to_refund",
            OrderError::RefundIdReused { .. } => "refund_id_reused",
            OrderError::RefundNotFound { .. } => "refund_not_found",
            OrderError::RefundSettled { .. } => "refund_settled",
            OrderError::TooManyRefunds { .. } => "too_many_refunds",
            OrderError::RefundTooLarge => "refund_too_large",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_stable_code() {
        let sku = || Sku::parse("TEE-S").unwrap();
        let refund_id = RefundId::from_uuid(uuid::Uuid::from_u128(1));
        let eur = Money::parse("1.00", "EUR").unwrap();
        let cases = [
            (OrderError::NotFound, "order_not_found"),
            (OrderError::AlreadyExists, "order_already_exists"),
            (
                OrderError::NotAllowed {
                    status: OrderStatus::Placed,
                    command: "CompleteOrder",
                },
                "not_allowed",
            ),
            (
                OrderError::InvalidEmail {
                    reason: String::new(),
                },
                "invalid_email",
            ),
            (
                OrderError::InvalidAddress {
                    field: "city",
                    reason: String::new(),
                },
                "invalid_address",
            ),
            (OrderError::NoLines, "no_lines"),
            (
                OrderError::TooManyLines {
                    max: 100,
                    requested: 101,
                },
                "too_many_lines",
            ),
            (
                OrderError::CurrencyMismatch {
                    sku: sku(),
                    order: Currency::EUR,
                    price: Currency::USD,
                },
                "currency_mismatch",
            ),
            (
                OrderError::InvalidPrice {
                    sku: sku(),
                    reason: MoneyError::NegativeAmount,
                },
                "invalid_price",
            ),
            (
                OrderError::PaymentAmountMismatch {
                    expected: eur,
                    received: eur,
                },
                "payment_amount_mismatch",
            ),
            (
                OrderError::InvalidFulfillment {
                    field: "carrier",
                    reason: String::new(),
                },
                "invalid_fulfillment",
            ),
            (
                OrderError::InvalidReason {
                    reason: String::new(),
                },
                "invalid_reason",
            ),
            (OrderError::NotPaid, "order_not_paid"),
            (
                OrderError::OverRefund {
                    requested: eur,
                    refundable: eur,
                },
                "over_refund",
            ),
            (OrderError::UnknownLine { sku: sku() }, "unknown_line"),
            (
                OrderError::TooManyUnits {
                    sku: sku(),
                    requested: 2,
                    refundable: 1,
                },
                "too_many_units",
            ),
            (
                OrderError::DuplicateRefundLine { sku: sku() },
                "duplicate_line",
            ),
            (OrderError::NoRefundLines, "no_refund_lines"),
            (
                OrderError::InvalidRefundAmount {
                    reason: String::new(),
                },
                "invalid_refund_amount",
            ),
            (
                OrderError::RefundCurrencyMismatch {
                    order: Currency::EUR,
                    requested: Currency::USD,
                },
                "currency_mismatch",
            ),
            (OrderError::RestockWithoutLines, "restock_without_lines"),
            (
                OrderError::InvalidShippingRefund {
                    reason: String::new(),
                },
                "invalid_shipping_refund",
            ),
            (
                OrderError::ShippingOverRefund {
                    requested: eur,
                    refundable: eur,
                },
                "shipping_over_refund",
            ),
            (OrderError::ShippingWithAmount, "shipping_with_amount"),
            (OrderError::NoShippingToRefund, "no_shipping_to_refund"),
            (OrderError::RefundIdReused { refund_id }, "refund_id_reused"),
            (OrderError::RefundNotFound { refund_id }, "refund_not_found"),
            (
                OrderError::RefundSettled {
                    refund_id,
                    state: "released",
                    action: "recorded",
                },
                "refund_settled",
            ),
            (OrderError::TooManyRefunds { max: 100 }, "too_many_refunds"),
            (OrderError::RefundTooLarge, "refund_too_large"),
        ];
        for (error, code) in cases {
            assert_eq!(error.code(), code);
        }
    }

    #[test]
    fn not_allowed_names_the_command_and_the_status() {
        let error = OrderError::NotAllowed {
            status: OrderStatus::Fulfilled,
            command: "CancelOrder",
        };
        assert_eq!(
            error.to_string(),
            "CancelOrder is not allowed while the order is fulfilled"
        );
    }
}
