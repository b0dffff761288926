//! The application layer: use cases that coordinate more than one aggregate, the adapters
//! between bounded contexts (the carts context's `PriceList` port read from the catalog), and
//! the read-model projections. It does no I/O of its own: it works through the runtime's
//! ports, so the same code runs on SQLite and PostgreSQL.

pub mod access_tokens;
pub mod api_keys;
pub mod cart_promotions;
pub mod cart_shipping;
pub mod cart_totals;
pub mod catalog;
pub mod checkout;
pub mod checkout_participants;
pub mod checkout_start;
pub mod checkout_timeline;
pub mod customer_carts;
pub mod customers;
pub mod expiry;
pub mod gateway_telemetry;
pub mod oidc;
pub mod orders;
pub mod personal_data;
pub mod pricing;
pub mod profiles;
pub mod projections;
pub mod promotions;
pub mod refunds;
pub mod saga;
pub mod shipping;

pub use catalog::{CatalogService, CreateProductError};
pub use orders::{
    customer_index_prefix, email_index_prefix, OrderLineRequest, OrderService, OrdersProjection,
    PlaceOrderError, PlaceOrderRequest, ORDERS_BY_CUSTOMER_VIEW, ORDERS_BY_EMAIL_VIEW, ORDERS_VIEW,
};
pub use pricing::CatalogPriceList;
pub use projections::{
    CheckoutsNeedingAttentionProjection, PaymentsProjection, ProductCatalogProjection,
    StockLevelsProjection, CATALOG_VIEW, CHECKOUTS_NEEDING_ATTENTION_VIEW, PAYMENTS_VIEW,
    STOCK_LEVELS_VIEW, STOREFRONT_VIEW,
};
pub use promotions::{PromotionDirectory, PromotionsProjection, PROMOTIONS_VIEW};
