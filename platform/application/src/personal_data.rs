//! A shopper's personal data: which events carry it sealed, and the admin operations that
//! export it and erase it (ADR 0026).
//!
//! Erasing a person deletes their data key, so every sealed event of theirs reads as erased
//! from then on, wherever it is read (executor, feed, a projection rebuilt); it then records
//! `PersonalDataErased` on each of their orders, so that states cached in memory, read
//! models and the consumers of the published events forget their copies too; and it deletes
//! their account. Deleting the key first means that a crash in between leaves the data
//! unreadable, never readable; repeating the erasure finishes the rest.

use std::sync::Arc;

use accounts::{CredentialStoreError, Customer, Customers};
use carts::Cart;
use checkout::Checkout;
use cqrs_es::Aggregate;
use orders::{Order, OrderCommand};
use runtime::personal::{checkout_subject, customer_subject, PersonalEvent};
use runtime::{CommandError, CommandExecutor, CommandMetadata, ListQuery, ReadModels, Vault};
use serde_json::{json, Value};
use shared_kernel::{AddressData, CustomerId, OrderId, ERASED};

use crate::orders::{customer_index_prefix, ORDERS_BY_CUSTOMER_VIEW};

/// The events whose personal fields are sealed, and what each field reads as once erased.
pub fn personal_events() -> Vec<PersonalEvent> {
    let erased_address =
        serde_json::to_value(AddressData::erased()).unwrap_or(Value::String(ERASED.to_owned()));
    vec![
        PersonalEvent {
            aggregate_type: Order::TYPE,
            event_type: "OrderPlaced",
            fields: vec![
                ("email", json!(ERASED)),
                ("shipping_address", erased_address.clone()),
            ],
        },
        PersonalEvent {
            aggregate_type: Checkout::TYPE,
            event_type: "CheckoutStarted",
            fields: vec![
                ("email", json!(ERASED)),
                ("shipping", erased_address.clone()),
            ],
        },
        // Sealed with the customer's key when the cart is a customer's (the event names
        // them), otherwise with the cart's own (`cart:<id>`), which erasing the guest's order
        // deletes (ADR 0037).
        PersonalEvent {
            aggregate_type: Cart::TYPE,
            event_type: "ShippingAddressSet",
            fields: vec![("address", erased_address)],
        },
    ]
}

#[derive(Debug, thiserror::Error)]
pub enum PersonalDataError {
    #[error("no such customer")]
    UnknownCustomer,
    #[error("no such order")]
    UnknownOrder,
    /// A customer's orders are sealed with the customer's key: erasing one alone would leave
    /// the others readable under the same key, so the customer is erased instead.
    #[error("order {0} belongs to customer {1}: erase the customer")]
    CustomersOrder(OrderId, CustomerId),
    #[error("infrastructure failure: {0}")]
    Unavailable(String),
}

impl From<CredentialStoreError> for PersonalDataError {
    fn from(error: CredentialStoreError) -> Self {
        PersonalDataError::Unavailable(error.to_string())
    }
}

impl From<runtime::StoreError> for PersonalDataError {
    fn from(error: runtime::StoreError) -> Self {
        PersonalDataError::Unavailable(error.to_string())
    }
}

fn unavailable<E: std::error::Error>(error: CommandError<E>) -> PersonalDataError {
    PersonalDataError::Unavailable(error.to_string())
}

/// What an erasure did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erasure {
    /// Keys deleted now (0 when repeated).
    pub keys_deleted: u64,
    /// Orders that recorded the erasure now or before.
    pub orders: Vec<OrderId>,
    /// Whether an account was deleted now.
    pub account_deleted: bool,
}

/// Everything the system keeps about a customer, as they may ask for it.
#[derive(Debug, Clone)]
pub struct Export {
    pub customer: Customer,
    /// Each order at its version.
    pub orders: Vec<(Order, u64)>,
}

pub struct PersonalData {
    vault: Arc<Vault>,
    orders: Arc<dyn CommandExecutor<Order>>,
    checkouts: Arc<dyn CommandExecutor<Checkout>>,
    customers: Arc<dyn Customers>,
    read_models: Arc<dyn ReadModels>,
}

impl PersonalData {
    pub fn new(
        vault: Arc<Vault>,
        orders: Arc<dyn CommandExecutor<Order>>,
        checkouts: Arc<dyn CommandExecutor<Checkout>>,
        customers: Arc<dyn Customers>,
        read_models: Arc<dyn ReadModels>,
    ) -> Self {
        Self {
            vault,
            orders,
            checkouts,
            customers,
            read_models,
        }
    }

    /// The customer's orders, as the customer index knows them.
    async fn order_ids_of(
        &self,
        customer_id: CustomerId,
    ) -> Result<Vec<OrderId>, PersonalDataError> {
        let prefix = customer_index_prefix(customer_id);
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .read_models
                .list(
                    ListQuery::new(ORDERS_BY_CUSTOMER_VIEW, 500)
                        .with_prefix(&prefix)
                        .starting_after(after.as_deref()),
                )
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            let full = page.len() == 500;
            ids.extend(
                page.iter()
                    .filter_map(|(id, _)| id.strip_prefix(&prefix))
                    .filter_map(|id| OrderId::parse(id).ok()),
            );
            if !full {
                break;
            }
        }
        Ok(ids)
    }

    async fn record_erasure(
        &self,
        order_id: OrderId,
        metadata: &CommandMetadata,
    ) -> Result<(), PersonalDataError> {
        self.orders
            .execute(
                &order_id.to_string(),
                OrderCommand::ErasePersonalData,
                None,
                metadata,
            )
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// Erases a customer: their key, the personal data of each of their orders, and their
    /// account. Repeating it finishes what a crash left undone.
    pub async fn erase_customer(
        &self,
        customer_id: CustomerId,
        metadata: &CommandMetadata,
    ) -> Result<Erasure, PersonalDataError> {
        let subject = customer_subject(&customer_id.to_string());
        let account = self.customers.customer(customer_id).await?;
        let orders = self.order_ids_of(customer_id).await?;
        if account.is_none() && orders.is_empty() && !self.vault.holds_key(&subject).await? {
            return Err(PersonalDataError::UnknownCustomer);
        }
        let keys_deleted = self.vault.erase(&[subject]).await?;
        for order_id in &orders {
            self.record_erasure(*order_id, metadata).await?;
        }
        let account_deleted = self.customers.delete_customer(customer_id).await?;
        Ok(Erasure {
            keys_deleted,
            orders,
            account_deleted,
        })
    }

    /// Erases a guest's order: the keys of the checkout that placed it and of the cart it
    /// was placed from (the cart's shipping address), and its personal data.
    pub async fn erase_guest_order(
        &self,
        order_id: OrderId,
        metadata: &CommandMetadata,
    ) -> Result<Erasure, PersonalDataError> {
        let loaded = self
            .orders
            .load(&order_id.to_string())
            .await
            .map_err(unavailable)?;
        let order = loaded.aggregate;
        if order.status().is_none() {
            return Err(PersonalDataError::UnknownOrder);
        }
        if let Some(customer_id) = order.customer_id() {
            return Err(PersonalDataError::CustomersOrder(order_id, customer_id));
        }
        let mut subjects = vec![format!("{}:{order_id}", Order::TYPE)];
        if let Some(checkout_id) = order.checkout_id() {
            subjects.push(checkout_subject(&checkout_id.to_string()));
            let checkout = self
                .checkouts
                .load(&checkout_id.to_string())
                .await
                .map_err(unavailable)?;
            if let Some(cart_id) = checkout.aggregate.cart_id() {
                subjects.push(format!("{}:{cart_id}", Cart::TYPE));
            }
        }
        let keys_deleted = self.vault.erase(&subjects).await?;
        self.record_erasure(order_id, metadata).await?;
        Ok(Erasure {
            keys_deleted,
            orders: vec![order_id],
            account_deleted: false,
        })
    }

    /// Everything kept about a customer: the account and every order with its personal data,
    /// read from the orders themselves (the events), not from a read model.
    pub async fn export_customer(
        &self,
        customer_id: CustomerId,
    ) -> Result<Export, PersonalDataError> {
        let customer = self
            .customers
            .customer(customer_id)
            .await?
            .ok_or(PersonalDataError::UnknownCustomer)?;
        let mut orders = Vec::new();
        for order_id in self.order_ids_of(customer_id).await? {
            let loaded = self
                .orders
                .load(&order_id.to_string())
                .await
                .map_err(unavailable)?;
            if loaded.version > 0 {
                orders.push((loaded.aggregate, loaded.version));
            }
        }
        Ok(Export { customer, orders })
    }
}
