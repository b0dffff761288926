//! The application layer: use cases that coordinate more than one aggregate, the adapters
//! between bounded contexts (the carts context's `PriceList` port read from the catalog), and
//! the read-model projections. It does no I/O of its own: it works through the runtime's
//! ports, so the same code runs on SQLite and PostgreSQL.

pub mod catalog;
pub mod pricing;
pub mod projections;

pub use catalog::{CatalogService, CreateProductError};
pub use pricing::CatalogPriceList;
pub use projections::{ProductCatalogProjection, CATALOG_VIEW, STOREFRONT_VIEW};
