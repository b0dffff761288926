//! The published language: what internal services may rely on (ADR 0015).
//!
//! A context's stream stores what the context needs; this crate says what it *publishes*.
//! Each module maps one context's stored events to public event types named
//! `<context>.<event>` (`orders.order_placed`), each with a version and a JSON Schema
//! generated from the Rust type of its `data`. Events a context keeps to itself (the checkout
//! saga's step records, the cart lock, SKU claims) are not published, so names that repeat
//! across streams (the checkout's own `OrderPlaced`) never reach a consumer.
//!
//! Owns: the public event types, their versions and schemas, and the mapping from stored
//! events to them. Does not own: stored event shapes (each domain crate's `events`), delivery
//! (the runtime's published feed, the REST feed, the NATS relay, webhooks).
//!
//! Invariant: a published `(type, version)` never changes incompatibly; a breaking change is a
//! new version (`tests/contract_schemas.rs` compares every schema with the one committed under
//! `platform/contracts/schemas/`).
//! Invariant: no secret is ever part of a contract (payment method tokens stay in their store).

mod carts;
mod catalog;
mod checkout;
mod inventory;
mod money;
mod orders;
mod payments;
mod promotions;

use cqrs_es::Aggregate;
use runtime::{ContractSchema, EventContracts, FeedEvent, PublishError, PublishedEvent};
use schemars::JsonSchema;
use serde::Serialize;

pub use money::MoneyV1;

/// The `data` of one published event type at one version.
pub trait Contract: Serialize + JsonSchema {
    /// The public name, `<context>.<event>`.
    const TYPE: &'static str;
    const VERSION: u32;
    /// One sentence: what happened, for the schema catalogue.
    const DESCRIPTION: &'static str;
}

/// The schema entry of contract `C`.
fn schema_of<C: Contract>() -> ContractSchema {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<C>();
    ContractSchema {
        event_type: C::TYPE.to_owned(),
        version: C::VERSION,
        context: C::TYPE.split('.').next().unwrap_or_default().to_owned(),
        description: C::DESCRIPTION.to_owned(),
        schema: schema.to_value(),
    }
}

/// The published form of `event` with `data`.
fn publish<C: Contract>(event: &FeedEvent, data: C) -> Result<PublishedEvent, PublishError> {
    let data = serde_json::to_value(&data).map_err(|e| undecodable(event, e))?;
    Ok(PublishedEvent::from_feed(event, C::TYPE, C::VERSION, data))
}

fn undecodable(event: &FeedEvent, reason: impl ToString) -> PublishError {
    PublishError::Undecodable {
        event_id: event.event_id,
        aggregate_type: event.aggregate_type.clone(),
        event_type: event.event_type.clone(),
        reason: reason.to_string(),
    }
}

/// The stream's id as the UUID it is for every aggregate keyed by one.
fn stream_uuid(event: &FeedEvent) -> Result<uuid::Uuid, PublishError> {
    uuid::Uuid::parse_str(&event.aggregate_id)
        .map_err(|e| undecodable(event, format!("stream id is not a UUID: {e}")))
}

/// `event` decoded as an event of `A` (the caller matched the aggregate type).
fn decode<A: Aggregate>(event: &FeedEvent) -> Result<A::Event, PublishError> {
    match event.decode::<A>() {
        Some(decoded) => decoded.map_err(|e| undecodable(event, e)),
        None => Err(undecodable(event, "not an event of this aggregate")),
    }
}

/// Every context's contracts; the [`EventContracts`] the deliveries use.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublishedLanguage;

/// Which stored events are published, and as what: (aggregate type, stored event type,
/// public type). Every `publish` function maps exactly these.
const PUBLISHED: &[(&str, &str, &str)] = &[
    ("product", "ProductCreated", catalog::ProductCreatedV1::TYPE),
    (
        "product",
        "VariantPriceChanged",
        catalog::ProductPriceChangedV1::TYPE,
    ),
    (
        "product",
        "ProductPublished",
        catalog::ProductPublishedV1::TYPE,
    ),
    (
        "product",
        "ProductUnpublished",
        catalog::ProductUnpublishedV1::TYPE,
    ),
    (
        "product",
        "VariantWeightChanged",
        catalog::VariantWeightChangedV1::TYPE,
    ),
    (
        "product",
        "TaxClassChanged",
        catalog::ProductTaxClassChangedV1::TYPE,
    ),
    ("cart", "CartCreated", carts::CartCreatedV1::TYPE),
    ("cart", "ItemAdded", carts::ItemAddedV1::TYPE),
    (
        "cart",
        "ItemQuantityChanged",
        carts::ItemQuantityChangedV1::TYPE,
    ),
    ("cart", "ItemRemoved", carts::ItemRemovedV1::TYPE),
    ("cart", "CartCheckedOut", carts::CartCheckedOutV1::TYPE),
    (
        "stock_item",
        "StockReceived",
        inventory::StockReceivedV1::TYPE,
    ),
    (
        "stock_item",
        "StockAdjusted",
        inventory::StockAdjustedV1::TYPE,
    ),
    (
        "stock_item",
        "StockReserved",
        inventory::StockReservedV1::TYPE,
    ),
    (
        "stock_item",
        "ReservationReleased",
        inventory::ReservationReleasedV1::TYPE,
    ),
    (
        "stock_item",
        "ReservationCommitted",
        inventory::ReservationCommittedV1::TYPE,
    ),
    (
        "stock_item",
        "ReservationExpired",
        inventory::ReservationExpiredV1::TYPE,
    ),
    (
        "stock_item",
        "StockReturned",
        inventory::StockReturnedV1::TYPE,
    ),
    (
        "payment",
        "PaymentAuthorized",
        payments::PaymentAuthorizedV1::TYPE,
    ),
    (
        "payment",
        "PaymentDeclined",
        payments::PaymentDeclinedV1::TYPE,
    ),
    (
        "payment",
        "PaymentCaptured",
        payments::PaymentCapturedV1::TYPE,
    ),
    ("payment", "PaymentVoided", payments::PaymentVoidedV1::TYPE),
    (
        "payment",
        "PaymentRefunded",
        payments::PaymentRefundedV1::TYPE,
    ),
    ("order", "OrderPlaced", orders::OrderPlacedV1::TYPE),
    ("order", "OrderPaid", orders::OrderPaidV1::TYPE),
    ("order", "OrderFulfilled", orders::OrderFulfilledV1::TYPE),
    ("order", "OrderCompleted", orders::OrderCompletedV1::TYPE),
    ("order", "OrderCancelled", orders::OrderCancelledV1::TYPE),
    (
        "order",
        "OrderRefundRequested",
        orders::OrderRefundRequestedV1::TYPE,
    ),
    ("order", "OrderRefunded", orders::OrderRefundedV1::TYPE),
    (
        "order",
        "OrderRefundReleased",
        orders::OrderRefundReleasedV1::TYPE,
    ),
    (
        "order",
        "PersonalDataErased",
        orders::PersonalDataErasedV1::TYPE,
    ),
    (
        "checkout",
        "CheckoutStarted",
        checkout::CheckoutStartedV1::TYPE,
    ),
    (
        "checkout",
        "CheckoutCompleted",
        checkout::CheckoutCompletedV1::TYPE,
    ),
    (
        "checkout",
        "CheckoutFailed",
        checkout::CheckoutFailedV1::TYPE,
    ),
    (
        "checkout",
        "CheckoutNeedsAttention",
        checkout::CheckoutNeedsAttentionV1::TYPE,
    ),
    (
        "promotion",
        "PromotionCreated",
        promotions::PromotionCreatedV1::TYPE,
    ),
    (
        "promotion",
        "PromotionUpdated",
        promotions::PromotionUpdatedV1::TYPE,
    ),
    (
        "promotion",
        "PromotionDeactivated",
        promotions::PromotionDeactivatedV1::TYPE,
    ),
    (
        "promotion",
        "PromotionRedeemed",
        promotions::PromotionRedeemedV1::TYPE,
    ),
    (
        "promotion",
        "RedemptionReleased",
        promotions::RedemptionReleasedV1::TYPE,
    ),
    (
        "promotion",
        "RedemptionConfirmed",
        promotions::RedemptionConfirmedV1::TYPE,
    ),
];

/// The stored events that are published, as (aggregate type, stored event type): each must
/// have a golden payload in today's stored format.
pub fn published_stored_events() -> impl Iterator<Item = (&'static str, &'static str)> {
    PUBLISHED
        .iter()
        .map(|(aggregate_type, event_type, _)| (*aggregate_type, *event_type))
}

impl EventContracts for PublishedLanguage {
    fn public_type(&self, aggregate_type: &str, event_type: &str) -> Option<&'static str> {
        PUBLISHED
            .iter()
            .find(|(a, e, _)| *a == aggregate_type && *e == event_type)
            .map(|(_, _, public)| *public)
    }

    fn publish(&self, event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
        match event.aggregate_type.as_str() {
            t if t == <::catalog::Product as Aggregate>::TYPE => catalog::publish(event),
            t if t == <::carts::Cart as Aggregate>::TYPE => carts::publish(event),
            t if t == <::inventory::StockItem as Aggregate>::TYPE => inventory::publish(event),
            t if t == <::payments::Payment as Aggregate>::TYPE => payments::publish(event),
            t if t == <::orders::Order as Aggregate>::TYPE => orders::publish(event),
            t if t == <::checkout::Checkout as Aggregate>::TYPE => checkout::publish(event),
            t if t == <::coupons::Promotion as Aggregate>::TYPE => promotions::publish(event),
            // SKU claims, and anything a later release adds before it publishes it.
            _ => Ok(None),
        }
    }

    fn schemas(&self) -> Vec<ContractSchema> {
        [
            catalog::schemas(),
            carts::schemas(),
            inventory::schemas(),
            payments::schemas(),
            orders::schemas(),
            checkout::schemas(),
            promotions::schemas(),
        ]
        .concat()
    }

    fn envelope_schema(&self) -> serde_json::Value {
        envelope_schema()
    }
}

/// The JSON Schema of the envelope every delivery wraps `data` in.
pub fn envelope_schema() -> serde_json::Value {
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "PublishedEvent",
        "description": "One published event. Deduplicate by `id`; stop on a `version` you do not know.",
        "type": "object",
        "required": ["id", "type", "version", "stream", "sequence", "cursor", "data"],
        "properties": {
            "id": { "type": "string", "format": "uuid", "description": "Stable across deliveries." },
            "type": { "type": "string", "pattern": "^[a-z_]+\\.[a-z_]+$", "description": "`<context>.<event>`." },
            "version": { "type": "integer", "minimum": 1 },
            "stream": {
                "type": "object",
                "required": ["type", "id"],
                "properties": {
                    "type": { "type": "string", "description": "The aggregate type." },
                    "id": { "type": "string" }
                }
            },
            "sequence": { "type": "integer", "minimum": 1, "description": "Position within the stream." },
            "cursor": { "type": "string", "pattern": "^[0-9a-f]{32}$", "description": "Resume after this event." },
            "occurred_at": { "type": ["string", "null"], "format": "date-time" },
            "correlation_id": { "type": ["string", "null"], "format": "uuid" },
            "causation_id": { "type": ["string", "null"], "format": "uuid" },
            "data": { "type": "object", "description": "Shaped by the schema of `type` at `version`." }
        }
    })
}
