//! The JSON shapes of the API. Request types reject unknown fields; response types are
//! built from domain state or read-model views, never exposing domain types directly.

use application::cart_totals::{CartPromotion, CartTax, PricedCart};
use carts::Cart;
use catalog::views::ProductView;
use catalog::Product;
use serde::{Deserialize, Serialize};
use shared_kernel::{CountryCode, Currency, Money};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

use crate::problem::ApiError;

/// A currency field: the ISO 4217 codes of the shared kernel's currency table, so that the
/// document names exactly the currencies the server accepts.
pub fn currency_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("ISO 4217 code of a supported currency"))
        .enum_values(Some(Currency::all().iter().map(Currency::code)))
        .build()
}

/// A country field: the assigned ISO 3166-1 alpha-2 codes of the shared kernel's table.
pub fn country_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("ISO 3166-1 alpha-2 code, e.g. `DE`"))
        .enum_values(Some(CountryCode::all().map(|code| code.as_str())))
        .build()
}

/// An amount of money: a decimal string and an ISO 4217 currency code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "19.99", "currency": "EUR"}))]
pub struct MoneyDto {
    /// A decimal string, never a JSON number, so that no precision is lost.
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", max_length = 28)]
    pub amount: String,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
}

impl MoneyDto {
    pub fn to_money(&self, field: &str) -> Result<Money, ApiError> {
        Money::parse(&self.amount, &self.currency)
            .map_err(|error| ApiError::validation(field, error.to_string()))
    }
}

impl From<&Money> for MoneyDto {
    /// Shows at least the currency's minor units ("0.00", "19.90"), never fewer digits.
    fn from(money: &Money) -> Self {
        let mut amount = money.amount();
        let minor_units = money.currency().minor_units();
        if amount.scale() < minor_units {
            amount.rescale(minor_units);
        }
        Self {
            amount: amount.to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

// ---------- catalog ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    /// Not blank.
    #[schema(min_length = 1, pattern = "\\S")]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// At least one.
    #[schema(min_items = 1)]
    pub variants: Vec<NewVariantRequest>,
    /// Publish immediately (default false: the product starts as a draft).
    #[serde(default)]
    pub publish: bool,
    /// The product's tax class, which a country may tax at its own rate ("reduced",
    /// "books"): 1 to 32 characters of a-z, 0-9, '-' or '_', stored lower case. Absent or
    /// null: the standard rate.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{1,32}\s*$")]
    pub tax_class: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantRequest {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<MoneyDto>,
    /// Weight of one unit in whole grams, for shipping by weight: 0 to 1,000,000,000 g
    /// (another number: 422 `weight_out_of_range`). Absent or null: unknown (the variant
    /// counts 0 g).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<i64>,
}

/// A variant's weight, as `{"weight_grams": 600}`; `null` makes it unknown.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightRequest {
    /// Weight of one unit in whole grams: 0 to 1,000,000,000 g (another number: 422
    /// `weight_out_of_range`); null: unknown (the variant counts 0 g).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<i64>,
}

/// A product's tax class, as `{"tax_class": "reduced"}`; `null`: the standard rate.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxClassRequest {
    /// 1 to 32 characters of a-z, 0-9, '-' or '_', stored lower case (another: 422
    /// `invalid_tax_class`); null: the standard rate.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{1,32}\s*$")]
    pub tax_class: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<MoneyDto>,
    /// Weight of one unit in whole grams; `null` when unknown.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<u64>,
}

/// A variant as shoppers see it, with what can be bought now.
#[derive(Debug, Serialize, ToSchema)]
pub struct StorefrontVariantDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<MoneyDto>,
    /// Weight of one unit in whole grams; `null` when unknown.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub weight_grams: Option<u64>,
    /// Units that can be reserved now (on hand less reserved); 0 for untracked SKUs.
    pub available: u64,
    pub in_stock: bool,
}

/// A product as shoppers see it (published products only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: String,
    pub title: String,
    pub description: String,
    pub variants: Vec<StorefrontVariantDto>,
    /// The product's tax class; `null`: the standard rate.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
}

impl ProductDto {
    /// `available` maps a SKU to its available units.
    pub fn from_view(
        view: ProductView,
        available: &std::collections::HashMap<String, u64>,
    ) -> Self {
        Self {
            id: view.id.to_string(),
            title: view.title,
            description: view.description,
            variants: view
                .variants
                .iter()
                .map(|v| {
                    let available = available.get(&v.sku).copied().unwrap_or(0);
                    StorefrontVariantDto {
                        sku: v.sku.clone(),
                        name: v.name.clone(),
                        prices: v.prices.iter().map(MoneyDto::from).collect(),
                        weight_grams: v.weight_grams.map(|grams| grams.get()),
                        available,
                        in_stock: available > 0,
                    }
                })
                .collect(),
            tax_class: view.tax_class,
        }
    }
}

/// A product as the catalog administrator sees it, drafts included.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminProductDto {
    pub id: String,
    pub title: String,
    pub description: String,
    /// `draft` or `published`.
    pub status: String,
    pub variants: Vec<VariantDto>,
    /// The product's tax class; `null`: the standard rate.
    #[schema(pattern = "^[a-z0-9_-]{1,32}$")]
    pub tax_class: Option<String>,
    /// The aggregate version, also sent as the ETag.
    pub version: u64,
}

impl AdminProductDto {
    pub fn from_product(product: &Product, version: u64) -> Self {
        Self {
            id: product.id().map(|id| id.to_string()).unwrap_or_default(),
            title: product
                .title()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            description: product.description().to_owned(),
            status: if product.is_published() {
                "published"
            } else {
                "draft"
            }
            .to_owned(),
            variants: product
                .variants()
                .iter()
                .map(|v| VariantDto {
                    sku: v.sku().as_str().to_owned(),
                    name: v.name().map(str::to_owned),
                    prices: v.prices().iter().map(MoneyDto::from).collect(),
                    weight_grams: v.weight().map(|grams| grams.get()),
                })
                .collect(),
            tax_class: product.tax_class().map(str::to_owned),
            version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    pub data: Vec<ProductDto>,
    pub has_more: bool,
}

// ---------- carts ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCartRequest {
    /// ISO 4217 code; every price in the cart is in this currency.
    #[schema(schema_with = currency_schema)]
    pub currency: String,
}

/// A promotion code to hold on a cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyPromotionRequest {
    /// The code as the shopper typed it; case does not matter.
    #[schema(pattern = r"^\s*[A-Za-z0-9_-]{3,32}\s*$")]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// 1 to 999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuantityRequest {
    /// 1 to 999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineDto {
    pub id: String,
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: u32,
    /// The price captured when the item was added.
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
    /// The line's share of the promotion's discount (zero without one); the shares of all
    /// lines sum exactly to the cart's `discount_total`.
    pub discount: MoneyDto,
    /// The line's tax on `line_total - discount`, rounded half up to the minor unit (zero
    /// unless `tax_status` is `calculated`). Inside the price when `taxes_included`, on top
    /// of it otherwise.
    pub tax: MoneyDto,
    /// The rate the line is taxed at, in percent (`"19"`); `null` unless `tax_status` is
    /// `calculated`.
    pub tax_rate: Option<String>,
    /// Weight of one unit in grams, captured with the price; `null` when the variant has no
    /// weight (the line counts 0 g).
    #[schema(minimum = 0)]
    pub weight_grams: Option<u64>,
}

/// The promotion code a cart holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct CartPromotionDto {
    /// The code, upper case.
    pub code: String,
    /// Whether the code takes something off the cart as it is now. A code the cart no
    /// longer qualifies for (below its minimum, say) stays on the cart without effect, and
    /// `message` says why; the checkout refuses to start until the shopper fixes the cart or
    /// removes the code.
    pub applicable: bool,
    /// Why the code takes nothing off, in words for the shopper; `null` when applicable.
    pub message: Option<String>,
    /// The stable code of why (`promotion_below_minimum_subtotal`, ...); `null` when
    /// applicable.
    pub reason: Option<String>,
}

/// The shipping option a cart chooses, as `{"option_id": "..."}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChooseShippingMethodRequest {
    /// One of the options `GET /v1/carts/{id}/shipping-options` lists.
    #[schema(format = Uuid)]
    pub option_id: String,
}

/// A shipping option offered to a cart, priced for it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingQuoteDto {
    pub option_id: String,
    /// What the shopper reads ("Standard, 3-5 days").
    pub name: String,
    /// In the cart's currency; zero when `free_shipping`.
    pub price: MoneyDto,
    /// The cart's merchandise subtotal reached the option's free-shipping threshold.
    pub free_shipping: bool,
}

impl From<&shipping::ShippingQuote> for ShippingQuoteDto {
    fn from(quote: &shipping::ShippingQuote) -> Self {
        Self {
            option_id: quote.option_id.to_string(),
            name: quote.name.to_string(),
            price: MoneyDto::from(&quote.price),
            free_shipping: quote.free_shipping,
        }
    }
}

/// The shipping options offered to a cart where it ships, cheapest first. Quoted on the
/// cart's country, currency, merchandise subtotal (before discounts) and total weight (a
/// line whose variant has no weight counts 0 g).
#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptionsDto {
    /// The country of the cart's shipping address.
    #[schema(schema_with = country_schema)]
    pub country: String,
    /// Empty when no shipping zone serves the country.
    pub data: Vec<ShippingQuoteDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    pub id: String,
    /// `open`, `checking_out` (a checkout is running; changes are refused), `checked_out`,
    /// `merging` or `merged` (its lines moved to the customer's cart at login; final).
    pub status: String,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    pub customer_id: Option<String>,
    pub lines: Vec<CartLineDto>,
    pub item_count: u32,
    /// What the lines weigh: each line's `weight_grams` times its quantity, a line without
    /// a weight counting 0 g. Weight-band shipping options are priced on it.
    #[schema(minimum = 0)]
    pub total_weight_grams: u64,
    /// Every line's total, before any discount.
    pub subtotal: MoneyDto,
    /// The promotion code the cart holds, and what it takes off; `null` without one.
    pub promotion: Option<CartPromotionDto>,
    /// What the code takes off the lines (zero without one).
    pub discount_total: MoneyDto,
    /// Where the cart ships (`PUT /v1/carts/{id}/shipping-address`); `null` until set.
    pub shipping_address: Option<AddressDto>,
    /// The shipping method chosen for that address, priced now; `null` without one, or when
    /// the option is no longer offered there (choose again).
    pub shipping_method: Option<ShippingQuoteDto>,
    /// What the shopper pays for shipping: the method's price less `shipping_discount` (zero
    /// without a method).
    pub shipping_total: MoneyDto,
    /// What a free-shipping code takes off the method's price (zero without one).
    pub shipping_discount: MoneyDto,
    /// The tax on `shipping_total` (zero unless `tax_status` is `calculated`).
    pub shipping_tax: MoneyDto,
    /// The lines' tax plus `shipping_tax`, exactly (zero unless `tax_status` is
    /// `calculated`).
    pub tax_total: MoneyDto,
    /// Whether the prices (and so `total`) include the tax; `false` when the tax comes on top
    /// or none is charged.
    pub taxes_included: bool,
    /// `calculated`; `not_charged` (the shop charges no tax); `address_required` (set the
    /// shipping address to see the tax); `unavailable` (the shop cannot tax this cart where it
    /// ships, `tax_message` says why, and the checkout is refused until that changes).
    #[schema(value_type = String, example = "calculated")]
    pub tax_status: &'static str,
    /// Why the cart cannot be taxed, when `tax_status` is `unavailable`; else `null`.
    pub tax_message: Option<String>,
    /// What the checkout will charge: `subtotal - discount_total + shipping_total`, plus
    /// `tax_total` when the tax comes on top of the prices.
    pub total: MoneyDto,
    /// The aggregate version, also sent as the ETag.
    pub version: u64,
    /// Only in the answer that creates the cart: the secret every later call on the cart
    /// and its checkout must send in `X-Cart-Token` (ADR 0024). Keep it with the cart id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
}

fn zero(currency: shared_kernel::Currency) -> Money {
    Money::zero(currency).round_to_minor_units()
}

impl CartDto {
    /// The cart as `priced` prices it: the code's discount (or why it takes nothing off),
    /// the shipping method, the tax and the total.
    pub fn priced(cart: &Cart, version: u64, priced: &PricedCart) -> Self {
        let mut dto = CartDto::from_cart(cart, version);
        let money = |amount: &Money| MoneyDto::from(amount);
        for (line, share) in dto
            .lines
            .iter_mut()
            .zip(priced.line_discounts(cart.lines().len()))
        {
            line.discount = money(&share);
        }
        match &priced.promotion {
            CartPromotion::None => {}
            CartPromotion::Applied(applied) => {
                dto.promotion = Some(CartPromotionDto {
                    code: applied.code.clone(),
                    applicable: true,
                    message: None,
                    reason: None,
                });
            }
            CartPromotion::Inapplicable { code, refusal } => {
                dto.promotion = Some(CartPromotionDto {
                    code: code.clone(),
                    applicable: false,
                    message: Some(refusal.to_string()),
                    reason: Some(refusal.code().to_owned()),
                });
            }
        }
        dto.discount_total = money(&priced.discount);
        dto.shipping_method = priced.shipping.as_ref().map(ShippingQuoteDto::from);
        dto.shipping_total = money(&priced.shipping_charge);
        dto.shipping_discount = money(&priced.shipping_discount);
        dto.tax_status = match &priced.tax {
            CartTax::NotCharged => "not_charged",
            CartTax::AddressRequired => "address_required",
            CartTax::Unavailable { message, .. } => {
                dto.tax_message = Some(message.clone());
                "unavailable"
            }
            CartTax::Calculated(breakdown) => {
                for (line, taxed) in dto.lines.iter_mut().zip(breakdown.lines()) {
                    line.tax = money(&taxed.taxed.tax());
                    line.tax_rate = Some(taxed.taxed.rate().as_percent().to_string());
                }
                dto.shipping_tax = money(&breakdown.shipping().tax());
                dto.tax_total = money(&breakdown.total_tax());
                dto.taxes_included = breakdown.shipping().basis() == tax::PriceBasis::TaxInclusive;
                "calculated"
            }
        };
        dto.total = money(&priced.total);
        dto
    }

    /// The cart before pricing: no discount, shipping or tax; the total is the subtotal.
    fn from_cart(cart: &Cart, version: u64) -> Self {
        Self {
            id: cart.id().map(|id| id.to_string()).unwrap_or_default(),
            status: cart.status().map(snake_name).unwrap_or_default(),
            currency: cart
                .currency()
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
            customer_id: cart.customer_id().map(|id| id.to_string()),
            lines: cart
                .lines()
                .iter()
                .map(|line| CartLineDto {
                    id: line.line_id().to_string(),
                    sku: line.sku().to_owned(),
                    product_id: line.product_id().to_string(),
                    title: line.title().to_owned(),
                    quantity: line.quantity().into(),
                    unit_price: MoneyDto::from(&line.unit_price()),
                    line_total: MoneyDto::from(&line.line_total()),
                    discount: MoneyDto::from(&zero(line.line_total().currency())),
                    tax: MoneyDto::from(&zero(line.line_total().currency())),
                    tax_rate: None,
                    weight_grams: line.weight_grams().map(|grams| grams.get()),
                })
                .collect(),
            item_count: cart.item_count(),
            total_weight_grams: cart.total_weight().get(),
            promotion: cart.promotion_code().map(|code| CartPromotionDto {
                code: code.to_owned(),
                applicable: false,
                message: None,
                reason: None,
            }),
            discount_total: money_or_zero(cart.currency().map(zero)),
            shipping_address: cart
                .shipping_address()
                .map(|address| address.data())
                // An erased person's address reads as placeholders (ADR 0026): show none.
                .filter(|data| **data != shared_kernel::AddressData::erased())
                .map(AddressDto::from),
            shipping_method: None,
            shipping_total: money_or_zero(cart.currency().map(zero)),
            shipping_discount: money_or_zero(cart.currency().map(zero)),
            shipping_tax: money_or_zero(cart.currency().map(zero)),
            tax_total: money_or_zero(cart.currency().map(zero)),
            taxes_included: false,
            tax_status: "not_charged",
            tax_message: None,
            total: money_or_zero(cart.subtotal()),
            subtotal: money_or_zero(cart.subtotal()),
            version,
            cart_token: None,
        }
    }
}

/// Quantities arrive as JSON integers of any size; the domain decides the allowed range.
pub fn quantity(raw: i64) -> u32 {
    u32::try_from(raw).unwrap_or(if raw < 0 { 0 } else { u32::MAX })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    pub status: String,
}

// ---------- orders ----------

/// A postal address; `country` is an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub line1: String,
    /// Optional: blank is absent.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub line2: Option<String>,
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub city: String,
    #[schema(
        max_length = 20,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub postal_code: String,
    /// Optional: blank is absent.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub region: Option<String>,
    #[schema(schema_with = country_schema)]
    pub country: String,
    /// Optional: blank is absent.
    #[schema(max_length = 200, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub phone: Option<String>,
}

impl From<AddressDto> for shared_kernel::AddressData {
    fn from(dto: AddressDto) -> Self {
        Self {
            name: dto.name,
            line1: dto.line1,
            line2: dto.line2,
            city: dto.city,
            postal_code: dto.postal_code,
            region: dto.region,
            country: dto.country,
            phone: dto.phone,
        }
    }
}

impl From<&shared_kernel::AddressData> for AddressDto {
    fn from(address: &shared_kernel::AddressData) -> Self {
        Self {
            name: address.name.clone(),
            line1: address.line1.clone(),
            line2: address.line2.clone(),
            city: address.city.clone(),
            postal_code: address.postal_code.clone(),
            region: address.region.clone(),
            country: address.country.clone(),
            phone: address.phone.clone(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequestDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// 1 to 999.
    #[schema(minimum = 1, maximum = 999)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequestDto {
    #[schema(value_type = Option<uuid::Uuid>)]
    pub customer_id: Option<String>,
    #[schema(format = Email)]
    pub email: String,
    pub shipping_address: AddressDto,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    /// 1 to 100 lines.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<OrderLineRequestDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillOrderRequest {
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderRequest {
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
    /// The line's share of the promotion's discount (zero without one): a refund of the
    /// whole line gives back `line_total - discount`, plus `tax` when the tax came on top.
    pub discount: MoneyDto,
    /// The line's tax (zero when the order charged none).
    pub tax: MoneyDto,
    /// The rate the line was taxed at, in percent; `null` when the order charged no tax.
    pub tax_rate: Option<String>,
}

/// A line's tax as an order records it: zero and no rate without tax.
fn order_line_tax(tax: Option<&orders::TaxData>, currency: Currency) -> (MoneyDto, Option<String>) {
    match tax {
        Some(tax) => (
            MoneyDto::from(&tax.amount),
            Some(tax.rate.normalize().to_string()),
        ),
        None => (MoneyDto::from(&zero(currency)), None),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentDto {
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancellationDto {
    pub reason: String,
    /// A refund is due when the order was paid.
    pub was_paid: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderDto {
    pub id: String,
    /// The order's short number for people (`1042`); `null` for orders placed before numbers
    /// existed. Unique across instances and increasing, possibly with gaps (ADR 0036).
    pub number: Option<u64>,
    /// How shoppers and staff write the number: `#1042`.
    pub name: Option<String>,
    /// `placed`, `paid`, `fulfilled`, `completed` or `cancelled`.
    pub status: String,
    pub customer_id: Option<String>,
    /// `null` once the shopper's personal data was erased.
    pub email: Option<String>,
    /// `null` once the shopper's personal data was erased.
    pub shipping_address: Option<AddressDto>,
    /// Whether the shopper's email and address were erased at their request (ADR 0026).
    pub personal_data_erased: bool,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    pub lines: Vec<OrderLineDto>,
    /// Every line's total, before any discount.
    pub subtotal: MoneyDto,
    /// The promotion code the order was placed with; `null` without one.
    pub promotion_code: Option<String>,
    /// What the code took off the lines (zero without one).
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    /// The tax on the shipping (zero when the order charged none).
    pub shipping_tax: MoneyDto,
    /// The lines' tax plus `shipping_tax` (zero when the order charged none).
    pub tax_total: MoneyDto,
    /// Whether the prices included the tax; `false` when it came on top or none was charged.
    pub taxes_included: bool,
    /// What the shopper paid: `subtotal - discount_total + shipping_total`, plus `tax_total`
    /// when the tax came on top of the prices.
    pub total: MoneyDto,
    pub payment_id: Option<String>,
    pub fulfillment: Option<FulfillmentDto>,
    pub cancellation: Option<CancellationDto>,
    /// `paid`, `partially_refunded` or `refunded`; absent until the order is paid.
    pub financial_status: Option<String>,
    /// The money given back so far (refunds still under way do not count).
    pub refunded_total: MoneyDto,
    /// Every refund requested, in order, with where it stands.
    pub refunds: Vec<OrderRefundDto>,
    /// RFC 3339.
    pub placed_at: String,
    pub version: u64,
}

/// A refund as its order records it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderRefundDto {
    pub id: String,
    /// `requested` (the amount and units are set aside), `refunded` or `released` (the money
    /// could not be given back; see `released_because`).
    pub status: String,
    pub amount: MoneyDto,
    /// The lines it gives money or units back for.
    pub lines: Vec<RefundLineDto>,
    /// The part of `amount` that refunds shipping.
    pub shipping: MoneyDto,
    pub restock: bool,
    pub reason: String,
    /// `admin`, `return` or `cancellation`.
    pub origin: String,
    pub released_because: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundLineDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    /// Units given back; 0 when only money is.
    pub quantity: u32,
    pub amount: MoneyDto,
}

fn snake<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl OrderRefundDto {
    pub fn from_refund(refund: &orders::OrderRefund) -> Self {
        Self {
            id: refund.refund_id().to_string(),
            status: snake(&refund.state()),
            amount: MoneyDto::from(&refund.amount()),
            lines: refund
                .lines()
                .iter()
                .map(|line| RefundLineDto {
                    sku: line.sku().as_str().to_owned(),
                    quantity: line.quantity(),
                    amount: MoneyDto::from(&line.amount()),
                })
                .collect(),
            shipping: MoneyDto::from(&refund.shipping()),
            restock: refund.restock(),
            reason: refund.reason().as_str().to_owned(),
            origin: snake(&refund.origin()),
            released_because: refund.released_because().map(str::to_owned),
        }
    }

    fn from_view(refund: &orders::OrderRefundView) -> Self {
        Self {
            id: refund.refund_id.to_string(),
            status: snake(&refund.state),
            amount: MoneyDto::from(&refund.amount),
            lines: refund
                .lines
                .iter()
                .map(|line| RefundLineDto {
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    amount: MoneyDto::from(&line.amount),
                })
                .collect(),
            shipping: MoneyDto::from(&refund.shipping),
            restock: refund.restock,
            reason: refund.reason.clone(),
            origin: snake(&refund.origin),
            released_because: refund.released_because.clone(),
        }
    }
}

fn status_name(status: Option<orders::OrderStatus>) -> String {
    status
        .and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn money_or_zero(money: Option<Money>) -> MoneyDto {
    money.map(|m| MoneyDto::from(&m)).unwrap_or(MoneyDto {
        amount: "0".to_owned(),
        currency: String::new(),
    })
}

impl OrderDto {
    pub fn from_order(order: &orders::Order, version: u64) -> Self {
        // Recorded as erased, or read as erased because the shopper's key is gone.
        let erased = order.personal_data_erased()
            || order
                .email()
                .is_some_and(|e| e.as_str() == shared_kernel::ERASED);
        let cancellation = order.cancellation_reason().map(|reason| CancellationDto {
            reason: reason.as_str().to_owned(),
            was_paid: order.payment_id().is_some(),
        });
        Self {
            number: order.number().map(|n| n.get()),
            name: order.number().map(|n| n.to_string()),
            id: order.id().map(|id| id.to_string()).unwrap_or_default(),
            status: status_name(order.status()),
            customer_id: order.customer_id().map(|id| id.to_string()),
            email: order
                .email()
                .map(|e| e.as_str().to_owned())
                .filter(|_| !erased),
            shipping_address: order
                .shipping_address()
                .map(|a| AddressDto::from(a.data()))
                .filter(|_| !erased),
            personal_data_erased: erased,
            currency: order
                .currency()
                .map(|c| c.code().to_owned())
                .unwrap_or_default(),
            lines: order
                .lines()
                .iter()
                .map(|line| {
                    let currency = line.line_total().currency();
                    let (tax, tax_rate) = order_line_tax(line.tax(), currency);
                    OrderLineDto {
                        sku: line.sku().as_str().to_owned(),
                        product_id: line.product_id().to_string(),
                        title: line.title().to_owned(),
                        quantity: line.quantity().get(),
                        unit_price: MoneyDto::from(&line.unit_price()),
                        line_total: MoneyDto::from(&line.line_total()),
                        discount: MoneyDto::from(&line.discount()),
                        tax,
                        tax_rate,
                    }
                })
                .collect(),
            subtotal: money_or_zero(order.subtotal()),
            promotion_code: order.promotion_code().map(str::to_owned),
            discount_total: money_or_zero(order.discount_total()),
            shipping_total: money_or_zero(order.shipping_total()),
            shipping_tax: money_or_zero(
                order
                    .shipping_tax()
                    .map(|tax| tax.amount)
                    .or_else(|| order.currency().map(zero)),
            ),
            tax_total: money_or_zero(order.tax_total().or_else(|| order.currency().map(zero))),
            taxes_included: order.shipping_tax().is_some_and(|tax| tax.included),
            total: money_or_zero(order.total()),
            payment_id: order.payment_id().map(|id| id.to_string()),
            fulfillment: order.fulfillment().map(|f| FulfillmentDto {
                carrier: f.carrier().to_owned(),
                tracking_number: f.tracking_number().to_owned(),
            }),
            cancellation,
            financial_status: order.financial_status().map(|status| snake(&status)),
            refunded_total: order
                .refunded_total()
                .or_else(|| {
                    order
                        .currency()
                        .map(|c| Money::zero(c).round_to_minor_units())
                })
                .map(|m| MoneyDto::from(&m))
                .unwrap_or_else(|| money_or_zero(None)),
            refunds: order
                .refunds()
                .iter()
                .map(OrderRefundDto::from_refund)
                .collect(),
            placed_at: order
                .placed_at()
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            version,
        }
    }

    pub fn from_view(view: &orders::OrderView) -> Self {
        let erased = view.email == shared_kernel::ERASED;
        Self {
            number: view.number,
            name: view.number.map(|n| orders::OrderNumber::new(n).to_string()),
            id: view.id.to_string(),
            status: status_name(Some(view.status)),
            customer_id: view.customer_id.map(|id| id.to_string()),
            email: Some(view.email.clone()).filter(|_| !erased),
            shipping_address: Some(AddressDto::from(&view.shipping_address)).filter(|_| !erased),
            personal_data_erased: erased,
            currency: view.currency.code().to_owned(),
            lines: view
                .lines
                .iter()
                .map(|line| {
                    let (tax, tax_rate) = order_line_tax(line.tax.as_ref(), view.currency);
                    OrderLineDto {
                        sku: line.sku.clone(),
                        product_id: line.product_id.to_string(),
                        title: line.title.clone(),
                        quantity: line.quantity,
                        unit_price: MoneyDto::from(&line.unit_price),
                        line_total: MoneyDto::from(&line.line_total),
                        discount: MoneyDto::from(
                            &line.discount.unwrap_or_else(|| zero(view.currency)),
                        ),
                        tax,
                        tax_rate,
                    }
                })
                .collect(),
            subtotal: MoneyDto::from(&view.subtotal),
            promotion_code: view.promotion_code.clone(),
            discount_total: MoneyDto::from(
                &view.discount_total.unwrap_or_else(|| zero(view.currency)),
            ),
            shipping_total: MoneyDto::from(&view.shipping_total),
            shipping_tax: MoneyDto::from(
                &view
                    .shipping_tax
                    .as_ref()
                    .map_or_else(|| zero(view.currency), |tax| tax.amount),
            ),
            tax_total: MoneyDto::from(&view.tax_total.unwrap_or_else(|| zero(view.currency))),
            taxes_included: view.shipping_tax.as_ref().is_some_and(|tax| tax.included),
            total: MoneyDto::from(&view.total),
            payment_id: view.payment_id.map(|id| id.to_string()),
            fulfillment: view.fulfillment.as_ref().map(|f| FulfillmentDto {
                carrier: f.carrier.clone(),
                tracking_number: f.tracking_number.clone(),
            }),
            cancellation: view.cancellation.as_ref().map(|c| CancellationDto {
                reason: c.reason.clone(),
                was_paid: c.was_paid,
            }),
            financial_status: view.payment_id.map(|_| {
                let refunded = view.refunded_total();
                if refunded.is_zero() {
                    "paid".to_owned()
                } else if refunded == view.total {
                    "refunded".to_owned()
                } else {
                    "partially_refunded".to_owned()
                }
            }),
            refunded_total: MoneyDto::from(&view.refunded_total()),
            refunds: view.refunds.iter().map(OrderRefundDto::from_view).collect(),
            placed_at: view.placed_at.to_rfc3339(),
            version: view.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub data: Vec<OrderDto>,
    pub has_more: bool,
}

// ---------- payments ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizePaymentRequest {
    /// Choose it to make the authorization repeatable; default: a new id.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub payment_id: Option<String>,
    pub amount: MoneyDto,
    /// From the payment provider's client SDK. Sandbox tokens: `tok_visa`, `tok_declined`,
    /// `tok_insufficient_funds`, `tok_expired_card`, `tok_transient`, `tok_timeout`,
    /// `tok_timeout_declined`.
    pub payment_method_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// Omit to capture everything still authorized.
    pub amount: Option<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeclineDto {
    /// `card_declined`, `insufficient_funds`, `expired_card` or `other`.
    pub code: String,
    /// Safe to show to the shopper.
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundDto {
    pub id: String,
    pub amount: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    pub id: String,
    /// `authorized`, `declined`, `authorization_unknown`, `captured` or `voided`.
    pub status: String,
    pub amount: MoneyDto,
    pub captured: MoneyDto,
    pub refunded: MoneyDto,
    pub authorization_id: Option<String>,
    pub decline: Option<DeclineDto>,
    pub refunds: Vec<RefundDto>,
    pub version: u64,
}

fn snake_name(value: impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl PaymentDto {
    pub fn from_payment(payment: &payments::Payment, version: u64) -> Self {
        Self {
            id: payment.id().map(|id| id.to_string()).unwrap_or_default(),
            status: payment.status().map(snake_name).unwrap_or_default(),
            amount: money_or_zero(payment.amount()),
            captured: money_or_zero(payment.captured()),
            refunded: money_or_zero(payment.refunded()),
            authorization_id: payment.authorization_id().map(str::to_owned),
            decline: payment.decline().map(|d| DeclineDto {
                code: snake_name(d.code),
                message: d.message.clone(),
            }),
            refunds: payment
                .refunds()
                .iter()
                .map(|r| RefundDto {
                    id: r.refund_id.to_string(),
                    amount: MoneyDto::from(&r.amount),
                })
                .collect(),
            version,
        }
    }
}

// ---------- inventory ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveStockRequest {
    /// Units received, at least 1. Stock on hand may not pass 1,000,000,000: a receipt that
    /// would is refused with 422 `too_much_stock`.
    #[schema(minimum = 1, maximum = 4294967295_u64)]
    pub quantity: i64,
    /// A delivery note or purchase order number.
    pub reference: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStockRequest {
    /// Units to add (positive) or remove (negative); never zero.
    pub delta: i64,
    /// `damaged`, `lost`, `found`, `recount`, `returned` or `other`.
    #[schema(pattern = "^(damaged|lost|found|recount|returned|other)$")]
    pub reason: String,
    /// Required with `other`, refused otherwise; not blank, at most 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationDto {
    pub id: String,
    pub quantity: u32,
    /// `active`, `released`, `committed` or `expired`.
    pub status: String,
    /// RFC 3339.
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockItemDto {
    #[schema(pattern = r"^\s*[A-Za-z0-9._-]{1,64}\s*$")]
    pub sku: String,
    pub on_hand: u64,
    pub reserved: u64,
    pub available: u64,
    pub reservations: Vec<ReservationDto>,
    pub version: u64,
}

impl StockItemDto {
    pub fn from_item(item: &inventory::StockItem, version: u64) -> Self {
        Self {
            sku: item
                .sku()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            on_hand: item.on_hand(),
            reserved: item.reserved(),
            available: item.available(),
            reservations: item
                .active_reservations()
                .map(|r| ReservationDto {
                    id: r.reservation_id().to_string(),
                    quantity: r.quantity().get(),
                    status: snake_name(r.status()),
                    expires_at: r.expires_at().to_rfc3339(),
                })
                .collect(),
            version,
        }
    }
}

// ---------- checkout ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCheckoutRequest {
    #[schema(format = Email)]
    pub email: String,
    /// Where to ship. May be left out when the cart has a shipping address (the checkout
    /// then ships there); if given, it must be that address (`shipping_address_mismatch`).
    #[serde(default)]
    pub shipping_address: Option<AddressDto>,
    /// From the payment provider's client SDK (sandbox: see the payments routes).
    pub payment_method_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutFailureDto {
    /// `out_of_stock`, `payment_declined`, `payment_timeout` or `order_rejected`.
    pub code: String,
    /// Safe to show to the shopper.
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckoutDto {
    pub id: String,
    pub cart_id: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// Set once completed.
    pub order_id: Option<String>,
    /// Set once failed.
    pub failure: Option<CheckoutFailureDto>,
    /// Every line's total, before any discount.
    pub subtotal: MoneyDto,
    /// What the promotion code takes off the lines (zero without one).
    pub discount_total: MoneyDto,
    /// What the shipping method charges, less what a free-shipping code takes off it.
    pub shipping_total: MoneyDto,
    /// The tax on the lines and the shipping (zero when none is charged).
    pub tax_total: MoneyDto,
    /// Whether `tax_total` is inside the prices, rather than on top of them.
    pub taxes_included: bool,
    /// What the payment authorizes: `subtotal - discount_total + shipping_total`, plus
    /// `tax_total` unless `taxes_included`.
    pub total: MoneyDto,
    /// The payment this checkout authorizes (it may not exist yet, or ever).
    pub payment_id: String,
    pub version: u64,
    /// Set once completed: the secret that reads the order and requests its return, sent in
    /// `X-Order-Token` (ADR 0024). A guest's confirmation page keeps it with the order id.
    pub order_access_token: Option<String>,
}

impl CheckoutDto {
    pub fn from_checkout(checkout: &checkout::Checkout, version: u64) -> Self {
        use checkout::CheckoutStatus;
        let id = checkout.id();
        Self {
            id: id.map(|id| id.to_string()).unwrap_or_default(),
            cart_id: checkout
                .cart_id()
                .map(|id| id.to_string())
                .unwrap_or_default(),
            status: match checkout.status() {
                Some(CheckoutStatus::Completed) => "completed",
                Some(CheckoutStatus::Failed) => "failed",
                _ => "pending",
            }
            .to_owned(),
            order_id: match checkout.status() {
                Some(CheckoutStatus::Completed) => checkout.order_id().map(|id| id.to_string()),
                _ => None,
            },
            failure: match checkout.status() {
                Some(CheckoutStatus::Failed) => {
                    checkout.failure().map(|reason| CheckoutFailureDto {
                        code: reason.code().to_owned(),
                        message: reason.shopper_message(),
                    })
                }
                _ => None,
            },
            subtotal: money_or_zero(checkout.subtotal()),
            discount_total: money_or_zero(checkout.currency().map(|currency| {
                checkout
                    .promotion()
                    .map_or_else(|| zero(currency), |promotion| promotion.discount)
            })),
            shipping_total: money_or_zero(checkout.currency().map(|currency| {
                let price = checkout
                    .shipping_method()
                    .map_or_else(|| zero(currency), |method| method.price);
                let off = checkout
                    .promotion()
                    .and_then(|promotion| promotion.shipping_discount)
                    .unwrap_or_else(|| zero(currency));
                Money::new(price.amount() - off.amount(), currency)
            })),
            tax_total: money_or_zero(checkout.currency().map(|currency| {
                checkout
                    .tax()
                    .map_or_else(|| zero(currency), |tax| tax.total)
            })),
            taxes_included: checkout.tax().is_some_and(|tax| tax.prices_include_tax),
            total: money_or_zero(checkout.total()),
            payment_id: id
                .map(|id| checkout::payment_id(id).to_string())
                .unwrap_or_default(),
            version,
            order_access_token: None,
        }
    }
}
