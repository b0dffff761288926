//! Tax context: how much tax a basket carries, per line, on shipping and in total.
//!
//! Owns: the [`TaxCalculator`] port (request: lines with their SKU, optional tax class,
//! amount after discounts and quantity; the shipping charge; the destination country; whether
//! prices include tax. Answer: tax per line, on shipping, in total), the built-in
//! [`TaxTable`] that implements it from configured rates, and the rounding rules
//! ([`rounding`]).
//! Does not own: prices, discounts or shipping charges (catalog, coupons, shipping: this
//! context taxes the amounts it is given), which tax class a product is in (catalog), tax
//! registration, exemptions, tax-exempt customers, per-region (state) rates, invoices (orders),
//! or the HTTP client of an external tax service (an adapter implementing the port).
//!
//! No aggregate and no events: tax is a calculation on request, configured by the shop. What
//! was charged is recorded by whoever asked (the cart shows it, the order records it), so a
//! later change of a rate never changes a placed order.
//!
//! Invariant: every line's tax is rounded half up to the currency's minor unit, once; the
//! total tax is the sum of the lines' tax and the shipping's tax, never rounded again, so the
//! lines always add up to the total exactly.
//! Invariant: tax-inclusive: `tax = amount − amount / (1 + rate)` rounded, `net = amount − tax`;
//! tax-exclusive: `tax = amount × rate` rounded, `gross = amount + tax`; so `net + tax ==
//! gross` exactly, and a zero rate gives zero tax.
//! Invariant: no floating point; amounts are `Money`, rates `Decimal` percentages with at most
//! four decimal places, and the rounding runs on integers of minor units.
//!
//! Decisions:
//! - Rounding per line (not per unit, not once on the total): each line of a cart, an order
//!   and an invoice shows a tax that the total is the exact sum of, and a refunded line gives
//!   back exactly the tax it carried. The price is that the total may differ from the total
//!   amount × rate rounded once by up to half a minor unit per line.
//! - Half up, not half even: as every other rounding of money in this system
//!   (`Money::round_to_minor_units`), and as tax authorities commonly state it.
//! - Shipping is taxed at the destination's standard rate, in the same basis as the prices.
//! - A destination without a configured rate is an error, not 0 %: a shop that sells there
//!   tax-free says so with a 0 % rate.

pub mod errors;
pub mod ports;
pub mod rounding;
pub mod table;
pub mod values;

pub use errors::{TaxConfigError, TaxError};
pub use ports::{LineTax, TaxBreakdown, TaxCalculator, TaxLine, TaxRequest};
pub use rounding::{tax_on, TaxedAmount, MAX_TAXABLE_AMOUNT};
pub use table::TaxTable;
pub use values::{PriceBasis, TaxClass, TaxRate, MAX_RATE_DECIMALS, MAX_TAX_CLASS_CHARS};
