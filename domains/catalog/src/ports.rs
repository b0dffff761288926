//! Outbound ports of the catalog: deliberately none.
//!
//! Both aggregates decide from their own events alone (`Services = ()`):
//! - SKU uniqueness is not a lookup port but the [`SkuClaim`](crate::SkuClaim) aggregate, so the
//!   event store's optimistic concurrency enforces it instead of a racy "does it exist?" query.
//! - Time enters through commands (`ClaimSku::at`), stamped by the application from its
//!   `shared_kernel::Clock`, so replays and tests are deterministic.
//!
//! Other contexts that need catalog data (the carts' `PriceList`) define the port themselves;
//! the platform implements it over [`ProductView`](crate::ProductView), which keeps this crate
//! free of any dependency on its consumers.
