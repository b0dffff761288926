//! Placing orders priced from the catalog, and the order read models.
//!
//! `orders` holds one document per order. `orders_by_customer` and `orders_by_email` are
//! secondary indexes: their ids are `{key}/{order id}` and their bodies only name the order,
//! so a listing pages through the index and then fetches the orders in one batch. Order ids
//! are UUID v7, so id order is placement order.

use std::sync::Arc;

use carts::ports::{PriceList, PriceLookupError};
use orders::{
    apply_order_event, NewOrderLine, Order, OrderCommand, OrderError, OrderEvent, OrderNumber,
    OrderNumbers, OrderNumbersError, OrderView,
};
use runtime::projection::ProjectionError;
use runtime::WorkingSet;
use runtime::{CommandError, CommandExecutor, CommandMetadata, Executed, FeedEvent, Projection};
use serde_json::json;
use shared_kernel::{
    Clock, Currency, CustomerId, EmailAddress, Money, OrderId, PostalAddress, Quantity, Sku,
};

pub const ORDERS_VIEW: &str = "orders";
pub const ORDERS_BY_CUSTOMER_VIEW: &str = "orders_by_customer";
pub const ORDERS_BY_EMAIL_VIEW: &str = "orders_by_email";

/// The index key under which an email's orders are listed: the fully lowercased address.
/// No valid address can begin with another one followed by `/`, since domains hold no `/`.
pub fn email_index_prefix(email: &EmailAddress) -> String {
    format!("{}/", email.normalized())
}

pub fn customer_index_prefix(customer_id: CustomerId) -> String {
    format!("{customer_id}/")
}

/// A line to order by SKU; its title and unit price come from the catalog.
#[derive(Debug, Clone)]
pub struct OrderLineRequest {
    pub sku: Sku,
    pub quantity: Quantity,
}

#[derive(Debug, Clone)]
pub struct PlaceOrderRequest {
    pub customer_id: Option<CustomerId>,
    pub email: EmailAddress,
    pub shipping_address: PostalAddress,
    pub currency: Currency,
    pub lines: Vec<OrderLineRequest>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error(transparent)]
    Rejected(#[from] OrderError),
    #[error(transparent)]
    Pricing(PriceLookupError),
    #[error("infrastructure failure: {0}")]
    Infrastructure(String),
}

pub struct OrderService {
    orders: Arc<dyn CommandExecutor<Order>>,
    prices: Arc<dyn PriceList>,
    clock: Arc<dyn Clock>,
    numbers: Arc<dyn OrderNumbers>,
}

impl OrderService {
    pub fn new(
        orders: Arc<dyn CommandExecutor<Order>>,
        prices: Arc<dyn PriceList>,
        clock: Arc<dyn Clock>,
        numbers: Arc<dyn OrderNumbers>,
    ) -> Self {
        Self {
            orders,
            prices,
            clock,
            numbers,
        }
    }

    /// The order given `number` (`#1042`), if any: staff look orders up by the number a
    /// shopper reads them.
    pub async fn order_numbered(
        &self,
        number: OrderNumber,
    ) -> Result<Option<OrderId>, OrderNumbersError> {
        self.numbers.order_numbered(number).await
    }

    pub fn orders(&self) -> &Arc<dyn CommandExecutor<Order>> {
        &self.orders
    }

    /// Places an order whose lines are priced from the catalog now (staff entering an order
    /// for a customer; the checkout saga places orders from the prices its cart captured).
    pub async fn place_order(
        &self,
        request: PlaceOrderRequest,
        metadata: &CommandMetadata,
    ) -> Result<Executed<Order>, PlaceOrderError> {
        let mut lines = Vec::with_capacity(request.lines.len());
        for line in request.lines {
            let priced = self
                .prices
                .price(line.sku.as_str(), request.currency)
                .await
                .map_err(|error| match error {
                    PriceLookupError::Unavailable(e) => PlaceOrderError::Infrastructure(e),
                    other => PlaceOrderError::Pricing(other),
                })?;
            lines.push(NewOrderLine {
                sku: line.sku,
                product_id: priced.product_id,
                title: priced.title,
                quantity: line.quantity,
                unit_price: priced.unit_price,
                discount: Money::zero(request.currency).round_to_minor_units(),
            });
        }
        let order_id = OrderId::new();
        let number = self
            .numbers
            .number_for(order_id)
            .await
            .map_err(|error| PlaceOrderError::Infrastructure(error.to_string()))?;
        let command = OrderCommand::PlaceOrder {
            number: Some(number),
            order_id,
            checkout_id: None,
            customer_id: request.customer_id,
            email: request.email,
            shipping_address: request.shipping_address,
            currency: request.currency,
            lines,
            placed_at: self.clock.now(),
            promotion_code: None,
            shipping_total: None,
            tax: None,
        };
        self.orders
            .execute(&order_id.to_string(), command, Some(0), metadata)
            .await
            .map_err(|error| match error {
                CommandError::Rejected(e) => PlaceOrderError::Rejected(e),
                CommandError::PreconditionFailed { .. } => {
                    PlaceOrderError::Rejected(OrderError::AlreadyExists)
                }
                CommandError::Conflict => PlaceOrderError::Infrastructure("conflict".to_owned()),
                CommandError::Infrastructure(e) => PlaceOrderError::Infrastructure(e),
            })
    }
}

/// Maintains the order documents and their customer and email indexes.
#[derive(Debug, Default)]
pub struct OrdersProjection;

fn malformed(event: &FeedEvent, reason: impl ToString) -> ProjectionError {
    ProjectionError::Malformed {
        event_id: event.event_id,
        reason: reason.to_string(),
    }
}

impl Projection for OrdersProjection {
    fn name(&self) -> &'static str {
        "orders"
    }

    fn views(&self) -> &'static [&'static str] {
        &[ORDERS_VIEW, ORDERS_BY_CUSTOMER_VIEW, ORDERS_BY_EMAIL_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        if event.aggregate_type != <Order as cqrs_es::Aggregate>::TYPE {
            return Vec::new();
        }
        vec![(ORDERS_VIEW, event.aggregate_id.clone())]
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<Order>() else {
            return Ok(());
        };
        let order_event = decoded.map_err(|e| malformed(event, e))?;
        let order_id = OrderId::parse(&event.aggregate_id).map_err(|e| malformed(event, e))?;
        let current = documents
            .get(ORDERS_VIEW, &event.aggregate_id)
            .map(|body| serde_json::from_value::<OrderView>(body.clone()))
            .transpose()
            .map_err(|e| malformed(event, e))?;
        let is_new = current.is_none();
        if let (OrderEvent::PersonalDataErased {}, Some(before)) = (&order_event, &current) {
            // The email index must forget the address too.
            let email = EmailAddress::recorded(before.email.clone());
            documents.delete(
                ORDERS_BY_EMAIL_VIEW,
                &format!("{}{order_id}", email_index_prefix(&email)),
            );
        }
        let Some(view) = apply_order_event(current, order_id, &order_event) else {
            return Ok(());
        };
        if is_new {
            // Index entries never change after placement: customer and email are fixed.
            let entry = json!({ "order_id": order_id });
            if let Some(customer_id) = view.customer_id {
                let id = format!("{}{order_id}", customer_index_prefix(customer_id));
                documents.put(ORDERS_BY_CUSTOMER_VIEW, &id, entry.clone());
            }
            // As recorded: an address accepted under older rules is still indexed. One that
            // reads as erased (its person's key is gone) is not an address.
            if view.email != shared_kernel::ERASED {
                let email = EmailAddress::recorded(view.email.clone());
                let id = format!("{}{order_id}", email_index_prefix(&email));
                documents.put(ORDERS_BY_EMAIL_VIEW, &id, entry);
            }
        }
        let body = serde_json::to_value(&view).map_err(|e| malformed(event, e))?;
        documents.put(ORDERS_VIEW, &event.aggregate_id, body);
        Ok(())
    }
}
