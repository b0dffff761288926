//! Whole flows through the REST API, each test on a fresh database, on both stores.

mod address_book;
mod app;
mod authorization;
mod cart_promotions;
mod cart_shipping;
mod carts;
mod catalog;
mod checkout;
mod checkout_timeline;
mod customer_carts;
mod customers;
mod erasure;
mod events;
mod guests;
mod inventory;
mod metrics;
mod oidc;
mod orders;
mod payments;
mod projections;
mod promotions;
mod refunds;
mod returns;
mod security;
mod shipping;
mod webhooks;
