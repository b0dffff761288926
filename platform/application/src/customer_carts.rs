//! A customer's carts (ADR 0027): which open carts are theirs, and taking a guest cart over
//! when its shopper logs in.
//!
//! `open_carts_by_customer` is an index maintained from the feed: its ids are
//! `{customer id}/{cart id}`, one per cart the customer owns that is neither checked out nor
//! merged. `cart_owners` remembers, per cart, whose it is, so that the event that closes a
//! cart (which does not name the customer) can remove it from the index. Cart ids are UUID
//! v7, so the newest cart sorts last. The index may lag the cart streams: every decision is
//! taken on the cart aggregates themselves, the index only says where to look.

use std::sync::Arc;

use carts::{Cart, CartCommand, CartError, CartEvent, CartStatus};
use runtime::projection::ProjectionError;
use runtime::{
    CommandError, CommandExecutor, CommandMetadata, Executed, FeedEvent, ListQuery, Loaded,
    Projection, ReadModels, WorkingSet,
};
use serde_json::json;
use shared_kernel::{CartId, CustomerId};

pub const OPEN_CARTS_BY_CUSTOMER_VIEW: &str = "open_carts_by_customer";
pub const CART_OWNERS_VIEW: &str = "cart_owners";

/// How many of a customer's open carts are looked at to find the newest one still open.
const OPEN_CARTS_LOOKED_AT: usize = 20;

fn open_cart_key(customer: &str, cart: &str) -> String {
    format!("{customer}/{cart}")
}

/// Maintains [`OPEN_CARTS_BY_CUSTOMER_VIEW`] and [`CART_OWNERS_VIEW`] from cart events.
#[derive(Debug, Default)]
pub struct CustomerCartsProjection;

impl Projection for CustomerCartsProjection {
    fn name(&self) -> &'static str {
        "customer_carts"
    }

    fn views(&self) -> &'static [&'static str] {
        &[OPEN_CARTS_BY_CUSTOMER_VIEW, CART_OWNERS_VIEW]
    }

    fn documents_for(&self, event: &FeedEvent) -> Vec<(&'static str, String)> {
        let interesting = event.aggregate_type == <Cart as cqrs_es::Aggregate>::TYPE
            && matches!(
                event.event_type.as_str(),
                "CartCreated" | "CustomerAssigned" | "CartCheckedOut" | "CartMerged"
            );
        if interesting {
            vec![(CART_OWNERS_VIEW, event.aggregate_id.clone())]
        } else {
            Vec::new()
        }
    }

    fn apply(&self, event: &FeedEvent, documents: &mut WorkingSet) -> Result<(), ProjectionError> {
        let Some(decoded) = event.decode::<Cart>() else {
            return Ok(());
        };
        let cart_event = decoded.map_err(|e| ProjectionError::Malformed {
            event_id: event.event_id,
            reason: e.to_string(),
        })?;
        let cart = event.aggregate_id.as_str();
        match cart_event {
            CartEvent::CartCreated {
                customer_id: Some(customer_id),
                ..
            }
            | CartEvent::CustomerAssigned { customer_id } => {
                let customer = customer_id.to_string();
                let body = json!({ "cart_id": cart, "customer_id": customer });
                documents.put(CART_OWNERS_VIEW, cart, body.clone());
                documents.put(
                    OPEN_CARTS_BY_CUSTOMER_VIEW,
                    &open_cart_key(&customer, cart),
                    body,
                );
            }
            CartEvent::CartCheckedOut { .. } | CartEvent::CartMerged { .. } => {
                let owner = documents
                    .get(CART_OWNERS_VIEW, cart)
                    .and_then(|body| body["customer_id"].as_str())
                    .map(str::to_owned);
                if let Some(customer) = owner {
                    documents.delete(OPEN_CARTS_BY_CUSTOMER_VIEW, &open_cart_key(&customer, cart));
                    documents.delete(CART_OWNERS_VIEW, cart);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A customer's carts, and taking a guest cart over.
pub struct CustomerCarts {
    carts: Arc<dyn CommandExecutor<Cart>>,
    read_models: Arc<dyn ReadModels>,
}

type CartResult<T> = Result<T, CommandError<CartError>>;

fn infrastructure(error: impl std::fmt::Display) -> CommandError<CartError> {
    CommandError::Infrastructure(error.to_string())
}

/// An answer for a cart nothing was asked of.
fn unchanged(loaded: Loaded<Cart>) -> Executed<Cart> {
    Executed {
        version: loaded.version,
        events_appended: 0,
        state: loaded.aggregate,
    }
}

impl CustomerCarts {
    pub fn new(carts: Arc<dyn CommandExecutor<Cart>>, read_models: Arc<dyn ReadModels>) -> Self {
        Self { carts, read_models }
    }

    /// The customer's newest cart that is open or checking out, read from its stream; `None`
    /// when they have none (or the index has not seen it yet).
    pub async fn current(&self, customer: CustomerId) -> CartResult<Option<Loaded<Cart>>> {
        let prefix = format!("{customer}/");
        let entries = self
            .read_models
            .list(
                ListQuery::new(OPEN_CARTS_BY_CUSTOMER_VIEW, OPEN_CARTS_LOOKED_AT)
                    .with_prefix(&prefix)
                    .descending(),
            )
            .await
            .map_err(infrastructure)?;
        for (_, body) in entries {
            let Some(cart_id) = body["cart_id"].as_str() else {
                continue;
            };
            let loaded = self.carts.load(cart_id).await?;
            let live = matches!(
                loaded.aggregate.status(),
                Some(CartStatus::Open | CartStatus::CheckingOut)
            );
            if live && loaded.aggregate.customer_id() == Some(customer) {
                return Ok(Some(loaded));
            }
        }
        Ok(None)
    }

    /// Takes guest cart `guest` over for `customer`, who just showed its cart token: when the
    /// customer has an open cart, every line of the guest cart is added to it and the guest
    /// cart is closed as merged; otherwise the guest cart becomes theirs. Answers the
    /// customer's cart. Safe to repeat: a merge cut short is finished by the next call.
    pub async fn take_over(
        &self,
        customer: CustomerId,
        guest: CartId,
        metadata: &CommandMetadata,
    ) -> CartResult<Executed<Cart>> {
        let loaded = self.carts.load(&guest.to_string()).await?;
        if loaded.version == 0 {
            return Err(CommandError::Rejected(CartError::NotFound));
        }
        let cart = &loaded.aggregate;
        if let (Some(CartStatus::Merging | CartStatus::Merged), Some(target)) =
            (cart.status(), cart.merge_target())
        {
            // A merge began before (this call is a retry, or races one): finish it, if it is
            // this customer's.
            let owner = self
                .carts
                .load(&target.to_string())
                .await?
                .aggregate
                .customer_id();
            if owner != Some(customer) {
                return Err(CommandError::Rejected(match cart.status() {
                    Some(CartStatus::Merging) => CartError::MergeInProgress {
                        into_cart_id: target,
                    },
                    _ => CartError::NotAllowed {
                        status: CartStatus::Merged,
                        command: "AssignCustomer",
                    },
                }));
            }
            return self.finish_merge(customer, guest, target, metadata).await;
        }
        if cart.customer_id() == Some(customer) {
            return Ok(unchanged(loaded));
        }
        let target = self
            .current(customer)
            .await?
            .filter(|current| {
                current.aggregate.status() == Some(CartStatus::Open)
                    && current.aggregate.id() != Some(guest)
            })
            .and_then(|current| current.aggregate.id());
        let Some(target) = target else {
            return self.assign(customer, guest, metadata).await;
        };
        self.carts
            .execute(
                &guest.to_string(),
                CartCommand::BeginMerge {
                    into_cart_id: target,
                    customer_id: customer,
                },
                None,
                metadata,
            )
            .await?;
        self.finish_merge(customer, guest, target, metadata).await
    }

    async fn assign(
        &self,
        customer: CustomerId,
        guest: CartId,
        metadata: &CommandMetadata,
    ) -> CartResult<Executed<Cart>> {
        self.carts
            .execute(
                &guest.to_string(),
                CartCommand::AssignCustomer {
                    customer_id: customer,
                },
                None,
                metadata,
            )
            .await
    }

    /// Moves the lines of `guest`, locked for a merge into `target`, into `target`, then
    /// closes `guest`. If `target` can no longer take them (checked out meanwhile), the guest
    /// cart is unlocked and becomes the customer's instead; if the lines do not fit (a line
    /// beyond its largest quantity, another currency), it is unlocked and the refusal stands.
    async fn finish_merge(
        &self,
        customer: CustomerId,
        guest: CartId,
        target: CartId,
        metadata: &CommandMetadata,
    ) -> CartResult<Executed<Cart>> {
        let loaded = self.carts.load(&guest.to_string()).await?;
        if loaded.aggregate.status() == Some(CartStatus::Merged) {
            let merged = self.carts.load(&target.to_string()).await?;
            if merged.aggregate.customer_id() != Some(customer) {
                return Err(CommandError::Rejected(CartError::OwnedByAnotherCustomer));
            }
            return Ok(unchanged(merged));
        }
        let lines = loaded.aggregate.lines().to_vec();
        let merged = self
            .carts
            .execute(
                &target.to_string(),
                CartCommand::MergeIn {
                    source_cart_id: guest,
                    customer_id: customer,
                    lines,
                },
                None,
                metadata,
            )
            .await;
        let cancel = CartCommand::CancelMerge {
            into_cart_id: target,
        };
        match merged {
            Ok(merged) => {
                self.carts
                    .execute(
                        &guest.to_string(),
                        CartCommand::CompleteMerge {
                            into_cart_id: target,
                        },
                        None,
                        metadata,
                    )
                    .await?;
                Ok(merged)
            }
            Err(CommandError::Rejected(
                CartError::NotAllowed { .. }
                | CartError::NotFound
                | CartError::OwnedByAnotherCustomer,
            )) => {
                // The target is no longer an open cart of this customer's: keep the guest
                // cart, now theirs.
                self.carts
                    .execute(&guest.to_string(), cancel, None, metadata)
                    .await?;
                self.assign(customer, guest, metadata).await
            }
            Err(CommandError::Rejected(refused)) => {
                self.carts
                    .execute(&guest.to_string(), cancel, None, metadata)
                    .await?;
                Err(CommandError::Rejected(refused))
            }
            Err(other) => Err(other),
        }
    }
}
