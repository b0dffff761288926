//! A stand-in for the published contracts until the contracts crate is wired: every stored
//! event is published as `<aggregate type>.<event type in snake_case>`, version 1, with its
//! stored payload as `data`. It exists so that webhooks have types to subscribe to; it makes
//! no promise about their shape.

use runtime::{ContractSchema, EventContracts, FeedEvent, PublishError, PublishedEvent};
use serde_json::json;

/// The stored event types of each aggregate type.
const STORED: &[(&str, &[&str])] = &[
    (
        "product",
        &[
            "ProductCreated",
            "VariantPriceChanged",
            "ProductPublished",
            "ProductUnpublished",
        ],
    ),
    ("sku_claim", &["SkuClaimed", "SkuReleased"]),
    (
        "cart",
        &[
            "CartCreated",
            "ItemAdded",
            "ItemQuantityChanged",
            "ItemRemoved",
            "CartCheckedOut",
            "CheckoutBegan",
            "CheckoutReleased",
        ],
    ),
    (
        "order",
        &[
            "OrderPlaced",
            "OrderPaid",
            "OrderFulfilled",
            "OrderCompleted",
            "OrderCancelled",
        ],
    ),
    (
        "payment",
        &[
            "PaymentAuthorized",
            "PaymentDeclined",
            "PaymentAuthorizationUnknown",
            "PaymentCaptured",
            "PaymentVoided",
            "PaymentRefunded",
        ],
    ),
    (
        "stock_item",
        &[
            "StockReceived",
            "StockAdjusted",
            "StockReserved",
            "ReservationReleased",
            "ReservationCommitted",
            "ReservationExpired",
        ],
    ),
    (
        "checkout",
        &[
            "CheckoutStarted",
            "StockReserved",
            "ReservationsCompleted",
            "StockUnavailable",
            "PaymentAuthorized",
            "PaymentDeclined",
            "PaymentOutcomeUnknown",
            "PaymentTimedOut",
            "OrderPlaced",
            "OrderRejected",
            "PaymentCaptured",
            "ReservationCommitted",
            "CartCheckedOut",
            "CheckoutCompleted",
            "StockReleased",
            "PaymentVoided",
            "CartReleased",
            "CheckoutFailed",
        ],
    ),
];

pub(crate) struct StandInContracts;

impl EventContracts for StandInContracts {
    fn publish(&self, event: &FeedEvent) -> Result<Option<PublishedEvent>, PublishError> {
        let event_type = published_type(&event.aggregate_type, &event.event_type);
        Ok(Some(PublishedEvent::from_feed(
            event,
            &event_type,
            1,
            event.payload.clone(),
        )))
    }

    fn schemas(&self) -> Vec<ContractSchema> {
        STORED
            .iter()
            .flat_map(|(aggregate, types)| {
                types.iter().map(|stored| ContractSchema {
                    event_type: published_type(aggregate, stored),
                    version: 1,
                    context: (*aggregate).to_owned(),
                    description: format!("{stored}, as stored"),
                    schema: json!({"type": "object"}),
                })
            })
            .collect()
    }
}

fn published_type(aggregate_type: &str, stored: &str) -> String {
    format!("{aggregate_type}.{}", snake_case(stored))
}

fn snake_case(name: &str) -> String {
    let mut snake = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else {
            snake.push(c);
        }
    }
    snake
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_become_snake_case_published_types() {
        assert_eq!(published_type("order", "OrderPlaced"), "order.order_placed");
        let schemas = StandInContracts.schemas();
        assert!(schemas
            .iter()
            .any(|s| s.event_type == "stock_item.stock_received"));
    }
}
