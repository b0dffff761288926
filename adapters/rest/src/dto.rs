//! The JSON shapes of the API. Request types reject unknown fields; response types are
//! built from domain state or read-model views, never exposing domain types directly.

use carts::Cart;
use catalog::views::ProductView;
use catalog::Product;
use serde::{Deserialize, Serialize};
use shared_kernel::Money;
use utoipa::ToSchema;

use crate::problem::ApiError;

/// An amount of money: a decimal string and an ISO 4217 currency code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "19.99", "currency": "EUR"}))]
pub struct MoneyDto {
    /// A decimal string, never a JSON number, so that no precision is lost.
    pub amount: String,
    pub currency: String,
}

impl MoneyDto {
    pub fn to_money(&self, field: &str) -> Result<Money, ApiError> {
        Money::parse(&self.amount, &self.currency)
            .map_err(|error| ApiError::validation(field, error.to_string()))
    }
}

impl From<&Money> for MoneyDto {
    fn from(money: &Money) -> Self {
        Self {
            amount: money.amount().to_string(),
            currency: money.currency().code().to_owned(),
        }
    }
}

// ---------- catalog ----------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub variants: Vec<NewVariantRequest>,
    /// Publish immediately (default false: the product starts as a draft).
    #[serde(default)]
    pub publish: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariantRequest {
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<MoneyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VariantDto {
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<MoneyDto>,
}

/// A product as shoppers see it (published products only).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductDto {
    pub id: String,
    pub title: String,
    pub description: String,
    pub variants: Vec<VariantDto>,
}

impl From<ProductView> for ProductDto {
    fn from(view: ProductView) -> Self {
        Self {
            id: view.id.to_string(),
            title: view.title,
            description: view.description,
            variants: view
                .variants
                .iter()
                .map(|v| VariantDto {
                    sku: v.sku.clone(),
                    name: v.name.clone(),
                    prices: v.prices.iter().map(MoneyDto::from).collect(),
                })
                .collect(),
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
                })
                .collect(),
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
    pub currency: String,
    /// Set for a known customer; omit for a guest cart.
    pub customer_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddItemRequest {
    pub sku: String,
    /// 1 to 999.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeQuantityRequest {
    /// 1 to 999.
    pub quantity: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartLineDto {
    pub id: String,
    pub sku: String,
    pub product_id: String,
    pub title: String,
    pub quantity: u32,
    /// The price captured when the item was added.
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CartDto {
    pub id: String,
    /// `open` or `checked_out`.
    pub status: String,
    pub currency: String,
    pub customer_id: Option<String>,
    pub lines: Vec<CartLineDto>,
    pub item_count: u32,
    pub subtotal: MoneyDto,
    /// The aggregate version, also sent as the ETag.
    pub version: u64,
}

impl CartDto {
    pub fn from_cart(cart: &Cart, version: u64) -> Self {
        Self {
            id: cart.id().map(|id| id.to_string()).unwrap_or_default(),
            status: if cart.checkout_id().is_some() {
                "checked_out"
            } else {
                "open"
            }
            .to_owned(),
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
                })
                .collect(),
            item_count: cart.item_count(),
            subtotal: cart
                .subtotal()
                .map(|total| MoneyDto::from(&total))
                .unwrap_or_else(|| MoneyDto {
                    amount: "0".to_owned(),
                    currency: String::new(),
                }),
            version,
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
