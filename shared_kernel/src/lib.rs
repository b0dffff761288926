//! Value types every bounded context speaks: money, quantities, identifiers and time.
//!
//! Owns: the rules of money arithmetic (currencies never mix, rounding is explicit), positive
//! quantities, UUID-based identifiers, email and postal addresses (typed in memory, plain
//! data in events), weights in grams, tax classes and the clock abstraction.
//! Does not own: any business rule of a context (prices, carts, stock), any I/O.
//!
//! Invariant: nothing here depends on another workspace crate or touches the outside world.
//! Invariant: no floating point anywhere; amounts are `rust_decimal::Decimal`.

/// What a personal field reads as once the person it belonged to was erased (ADR 0026).
pub const ERASED: &str = "[erased]";

pub mod address;
pub mod allocation;
pub mod clock;
pub mod email;
pub mod ids;
pub mod money;
pub mod quantity;
pub mod saga;
pub mod sku;
pub mod tax_class;
pub mod weight;

pub use address::{
    AddressData, AddressError, CountryCode, PostalAddress, MAX_ADDRESS_FIELD_CHARS,
    MAX_POSTAL_CODE_CHARS,
};
pub use allocation::{allocate, AllocationError};
pub use clock::{Clock, FixedClock, SystemClock};
pub use email::{EmailAddress, EmailError, MAX_EMAIL_CHARS};
pub use ids::{
    deterministic_uuid, CartId, CheckoutId, CustomerId, IdError, LineId, OrderId, PaymentId,
    ProductId, RefundId, ReservationId,
};
pub use money::{Currency, Money, MoneyError};
pub use quantity::{Quantity, QuantityError};
pub use sku::{Sku, SkuError, MAX_SKU_CHARS};
pub use tax_class::{TaxClass, TaxClassError, MAX_TAX_CLASS_CHARS};
pub use weight::Grams;
