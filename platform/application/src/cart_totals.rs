//! A cart's totals, priced once for everyone who needs them: the storefront reading the cart
//! and the checkout charging it (ADR 0034, 0037, 0038).
//!
//! In this order, each step working on what the one before left:
//! 1. the subtotal: every line's total;
//! 2. the promotion code's discount, shared across the lines (coupons context);
//! 3. the chosen shipping method, quoted for the cart's address, less what a free-shipping
//!    code takes off it (shipping context);
//! 4. the tax on each line after its discount and on the shipping charge (tax context), when
//!    the shop charges tax and the cart has an address to tax it for;
//! 5. the total: `subtotal - discount + shipping`, plus the tax when prices exclude it.
//!
//! Nothing here is stored: the cart records its code, address and method, never a price, so
//! a cart read later is priced as things stand then; the checkout records what it charged.

use std::collections::BTreeMap;
use std::sync::Arc;

use carts::Cart;
use checkout::{AppliedPromotion, AppliedTax, TaxPart};
use coupons::{PromotionCode, Refusal};
use shared_kernel::{CountryCode, Currency, Money, Sku};
use shipping::ShippingQuote;
use tax::{
    PriceBasis, TaxBreakdown, TaxCalculator, TaxClass, TaxError, TaxLine, TaxRequest, TaxTable,
};

use crate::cart_promotions::{CartPromotions, PromotionCodeError};
use crate::cart_shipping::{CartShipping, CartShippingError};

/// How the shop charges tax: a calculator, and whether prices in each currency include tax.
pub struct ShopTax {
    calculator: Arc<dyn TaxCalculator>,
    prices: BTreeMap<Currency, PriceBasis>,
}

impl ShopTax {
    /// Tax from the shop's own table of rates.
    pub fn from_table(table: TaxTable) -> ShopTax {
        let prices = table.price_bases().collect();
        ShopTax {
            calculator: Arc::new(table),
            prices,
        }
    }

    /// Tax from any calculator (an external service), with the shop's price bases.
    pub fn new(
        calculator: Arc<dyn TaxCalculator>,
        prices: impl IntoIterator<Item = (Currency, PriceBasis)>,
    ) -> ShopTax {
        ShopTax {
            calculator,
            prices: prices.into_iter().collect(),
        }
    }
}

/// Where a cart's tax stands.
#[derive(Debug, Clone)]
pub enum CartTax {
    /// The shop charges no tax.
    NotCharged,
    /// The shop charges tax, but the cart has no address to tax it for yet.
    AddressRequired,
    /// The cart cannot be taxed where it ships (no rate there, its currency not configured):
    /// its checkout will be refused until the shop configures it or the address changes.
    Unavailable { code: &'static str, message: String },
    /// The tax on each line and on the shipping.
    Calculated(TaxBreakdown),
}

impl CartTax {
    /// The tax as a checkout records it; `None` unless calculated.
    pub fn applied(&self) -> Option<AppliedTax> {
        let CartTax::Calculated(breakdown) = self else {
            return None;
        };
        let part = |taxed: &tax::TaxedAmount| TaxPart {
            rate: taxed.rate().as_percent(),
            amount: taxed.tax(),
        };
        Some(AppliedTax {
            prices_include_tax: breakdown.shipping().basis() == PriceBasis::TaxInclusive,
            lines: breakdown
                .lines()
                .iter()
                .map(|line| part(&line.taxed))
                .collect(),
            shipping: part(breakdown.shipping()),
            total: breakdown.total_tax(),
        })
    }

    /// The tax the total adds: the tax when it comes on top of the prices, else zero.
    fn on_top(&self) -> Option<Money> {
        match self {
            CartTax::Calculated(breakdown)
                if breakdown.shipping().basis() == PriceBasis::TaxExclusive =>
            {
                Some(breakdown.total_tax())
            }
            _ => None,
        }
    }
}

/// What the cart's code does to it now.
#[derive(Debug, Clone)]
pub enum CartPromotion {
    /// The cart holds no code.
    None,
    /// The code and what it takes off.
    Applied(AppliedPromotion),
    /// The cart holds `code`, but it takes nothing off the cart as it is now.
    Inapplicable { code: String, refusal: Refusal },
}

/// A cart priced as things stand now.
#[derive(Debug, Clone)]
pub struct PricedCart {
    pub currency: Currency,
    /// Every line's total, before any discount.
    pub subtotal: Money,
    pub promotion: CartPromotion,
    /// What the code takes off the lines (zero without one).
    pub discount: Money,
    /// The chosen method quoted now; `None` without one, or when it is not offered where
    /// the cart ships any more.
    pub shipping: Option<ShippingQuote>,
    /// What a free-shipping code takes off the method's price (zero without one).
    pub shipping_discount: Money,
    /// What the shopper pays for shipping: the method's price less `shipping_discount`.
    pub shipping_charge: Money,
    pub tax: CartTax,
    /// `subtotal - discount + shipping_charge`, plus the tax when prices exclude it.
    pub total: Money,
}

impl PricedCart {
    /// Each line's share of the discount, in the cart's line order (zeros without a code).
    pub fn line_discounts(&self, lines: usize) -> Vec<Money> {
        match &self.promotion {
            CartPromotion::Applied(applied) => applied.line_discounts.clone(),
            _ => vec![zero(self.currency); lines],
        }
    }
}

/// Why a cart could not be priced.
#[derive(Debug, thiserror::Error)]
pub enum CartTotalsError {
    #[error(transparent)]
    Shipping(#[from] CartShippingError),
    #[error(transparent)]
    Promotion(PromotionCodeError),
    #[error("tax cannot be calculated now: {0}")]
    TaxUnavailable(String),
}

fn zero(currency: Currency) -> Money {
    Money::zero(currency).round_to_minor_units()
}

fn plus(a: Money, b: Money) -> Money {
    Money::new(a.amount() + b.amount(), a.currency())
}

fn minus(a: Money, b: Money) -> Money {
    Money::new(a.amount() - b.amount(), a.currency())
}

/// Prices carts.
pub struct CartTotals {
    pub promotions: Arc<CartPromotions>,
    pub shipping: Arc<CartShipping>,
    /// `None`: the shop charges no tax.
    pub tax: Option<Arc<ShopTax>>,
}

impl CartTotals {
    /// `cart` priced now; `None` for a cart that does not exist (it has no currency).
    pub async fn price(&self, cart: &Cart) -> Result<Option<PricedCart>, CartTotalsError> {
        let (Some(currency), Some(subtotal)) = (cart.currency(), cart.subtotal()) else {
            return Ok(None);
        };
        let shipping = self.shipping.chosen(cart).await?;
        let shipping_price = shipping.as_ref().map(|quote| quote.price);
        let promotion = match cart.promotion_code() {
            None => CartPromotion::None,
            Some(code) => {
                let recorded = PromotionCode::recorded(code.to_owned());
                match self
                    .promotions
                    .price(&recorded, cart, false, shipping_price)
                    .await
                {
                    Ok(applied) => CartPromotion::Applied(applied),
                    Err(PromotionCodeError::Refused(refusal)) => CartPromotion::Inapplicable {
                        code: code.to_owned(),
                        refusal,
                    },
                    Err(other) => return Err(CartTotalsError::Promotion(other)),
                }
            }
        };
        let (discount, shipping_discount) = match &promotion {
            CartPromotion::Applied(applied) => (
                applied.discount,
                applied.shipping_discount.unwrap_or_else(|| zero(currency)),
            ),
            _ => (zero(currency), zero(currency)),
        };
        let shipping_charge = minus(
            shipping_price.unwrap_or_else(|| zero(currency)),
            shipping_discount,
        );
        let mut priced = PricedCart {
            currency,
            subtotal,
            promotion,
            discount,
            shipping,
            shipping_discount,
            shipping_charge,
            tax: CartTax::NotCharged,
            total: zero(currency),
        };
        priced.tax = self.tax(cart, &priced).await?;
        let before_tax = plus(minus(subtotal, discount), shipping_charge);
        priced.total = priced
            .tax
            .on_top()
            .map_or(before_tax, |tax| plus(before_tax, tax))
            .round_to_minor_units();
        Ok(Some(priced))
    }

    /// The tax on `cart`'s lines after their discount and on its shipping charge.
    async fn tax(&self, cart: &Cart, priced: &PricedCart) -> Result<CartTax, CartTotalsError> {
        let Some(shop) = &self.tax else {
            return Ok(CartTax::NotCharged);
        };
        let Some(address) = cart.shipping_address() else {
            return Ok(CartTax::AddressRequired);
        };
        let unavailable = |error: TaxError| CartTax::Unavailable {
            code: error.code(),
            message: error.to_string(),
        };
        let Some(&basis) = shop.prices.get(&priced.currency) else {
            return Ok(unavailable(TaxError::CurrencyNotConfigured {
                currency: priced.currency,
            }));
        };
        // An erased address reads as placeholders, with no country to tax for.
        let Ok(country) = CountryCode::parse(address.country()) else {
            return Ok(CartTax::AddressRequired);
        };
        let discounts = priced.line_discounts(cart.lines().len());
        let lines = cart
            .lines()
            .iter()
            .zip(discounts)
            .map(|(line, discount)| {
                Ok(TaxLine {
                    sku: Sku::parse(line.sku())
                        .map_err(|error| CartTotalsError::TaxUnavailable(error.to_string()))?,
                    // Checked as a tax class when the product recorded it; a class that no
                    // longer parses is taxed at the standard rate.
                    tax_class: line
                        .tax_class()
                        .and_then(|class| TaxClass::parse(class).ok()),
                    amount: minus(line.line_total(), discount).round_to_minor_units(),
                    quantity: line.quantity(),
                })
            })
            .collect::<Result<Vec<_>, CartTotalsError>>()?;
        let shipping = priced.shipping_charge.round_to_minor_units();
        let request = match TaxRequest::new(country, basis, lines, shipping) {
            Ok(request) => request,
            Err(error) => return Err(CartTotalsError::TaxUnavailable(error.to_string())),
        };
        match shop.calculator.calculate(&request).await {
            Ok(breakdown) => Ok(CartTax::Calculated(breakdown)),
            Err(
                error @ (TaxError::Unavailable(_)
                | TaxError::InvalidAnswer { .. }
                | TaxError::InvalidRequest { .. }),
            ) => Err(CartTotalsError::TaxUnavailable(error.to_string())),
            Err(error) => Ok(unavailable(error)),
        }
    }
}
