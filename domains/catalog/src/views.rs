//! Read model of a product, for listing and for price lookups by other contexts.
//!
//! The update function is pure so any projection (in memory, SQL, ...) can reuse it, and so it
//! can be tested without a store.

use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Grams, Money, ProductId};

use crate::events::ProductEvent;
use crate::values::{ProductStatus, Sku};

/// A product as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: ProductId,
    pub title: String,
    pub description: String,
    pub status: ProductStatus,
    /// Same as `status == Published`; there for readers that only need the flag.
    pub published: bool,
    pub variants: Vec<VariantView>,
    /// The product's tax class; absent: the standard rate. Default: views stored before
    /// products had tax classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_class: Option<String>,
    /// Number of events applied; equals the aggregate's sequence number.
    pub version: u64,
}

/// A variant as shown to readers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantView {
    /// Normalized (uppercase) SKU.
    pub sku: String,
    pub name: Option<String>,
    pub prices: Vec<Money>,
    /// Weight of one unit; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<Grams>,
}

impl ProductView {
    pub fn variant(&self, sku: &Sku) -> Option<&VariantView> {
        self.variants.iter().find(|v| v.sku == sku.as_str())
    }

    pub fn price_of(&self, sku: &Sku, currency: Currency) -> Option<Money> {
        self.variant(sku)?
            .prices
            .iter()
            .find(|p| p.currency() == currency)
            .copied()
    }
}

/// The view after `event`, one version later. A view that does not exist yet is only started by
/// `ProductCreated`; other events without a view leave it absent.
pub fn apply_product_event(
    view: Option<ProductView>,
    product_id: ProductId,
    event: &ProductEvent,
) -> Option<ProductView> {
    match (view, event) {
        (
            previous,
            ProductEvent::ProductCreated {
                title,
                description,
                variants,
                tax_class,
                ..
            },
        ) => Some(ProductView {
            id: product_id,
            title: title.to_string(),
            description: description.clone(),
            status: ProductStatus::Draft,
            published: false,
            variants: variants
                .iter()
                .map(|v| VariantView {
                    sku: v.sku.clone(),
                    name: v.name.clone(),
                    prices: v.prices.clone(),
                    weight_grams: v.weight_grams,
                })
                .collect(),
            tax_class: tax_class.clone(),
            version: previous.map_or(0, |p| p.version) + 1,
        }),
        (None, _) => None,
        (Some(mut view), event) => {
            match event {
                ProductEvent::ProductCreated { .. } => {}
                ProductEvent::VariantPriceChanged { sku, price } => {
                    if let Some(variant) = view.variants.iter_mut().find(|v| &v.sku == sku) {
                        match variant
                            .prices
                            .iter_mut()
                            .find(|p| p.currency() == price.currency())
                        {
                            Some(existing) => *existing = *price,
                            None => variant.prices.push(*price),
                        }
                    }
                }
                ProductEvent::VariantWeightChanged { sku, weight_grams } => {
                    if let Some(variant) = view.variants.iter_mut().find(|v| &v.sku == sku) {
                        variant.weight_grams = *weight_grams;
                    }
                }
                ProductEvent::TaxClassChanged { tax_class } => view.tax_class.clone_from(tax_class),
                ProductEvent::ProductPublished {} => {
                    set_status(&mut view, ProductStatus::Published)
                }
                ProductEvent::ProductUnpublished {} => set_status(&mut view, ProductStatus::Draft),
            }
            view.version += 1;
            Some(view)
        }
    }
}

fn set_status(view: &mut ProductView, status: ProductStatus) {
    view.status = status;
    view.published = status == ProductStatus::Published;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Variant;

    fn product_id() -> ProductId {
        ProductId::from_uuid(uuid::Uuid::from_u128(7))
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money::parse(amount, currency).unwrap()
    }

    fn sku(raw: &str) -> Sku {
        Sku::parse(raw).unwrap()
    }

    fn created() -> ProductEvent {
        ProductEvent::ProductCreated {
            product_id: product_id(),
            title: "Tee".into(),
            description: "Cotton".into(),
            variants: vec![Variant::new(
                sku("TEE-S"),
                Some("Small".into()),
                vec![money("10.00", "EUR")],
            )
            .unwrap()
            .data()],
            tax_class: None,
        }
    }

    fn replay(events: &[ProductEvent]) -> Option<ProductView> {
        events.iter().fold(None, |view, event| {
            apply_product_event(view, product_id(), event)
        })
    }

    #[test]
    fn creation_starts_a_draft_view_at_version_one() {
        let view = replay(&[created()]).unwrap();
        assert_eq!(view.id, product_id());
        assert_eq!(view.title, "Tee");
        assert_eq!(view.description, "Cotton");
        assert_eq!(view.status, ProductStatus::Draft);
        assert!(!view.published);
        assert_eq!(view.version, 1);
        assert_eq!(
            view.variants,
            vec![VariantView {
                sku: "TEE-S".into(),
                name: Some("Small".into()),
                prices: vec![money("10.00", "EUR")],
                weight_grams: None,
            }]
        );
    }

    #[test]
    fn the_view_shows_the_tax_class_and_variant_weights() {
        let ProductEvent::ProductCreated {
            product_id,
            title,
            description,
            mut variants,
            ..
        } = created()
        else {
            unreachable!()
        };
        variants[0].weight_grams = Some(Grams::new(600));
        let view = replay(&[ProductEvent::ProductCreated {
            product_id,
            title,
            description,
            variants,
            tax_class: Some("reduced".into()),
        }])
        .unwrap();
        assert_eq!(view.tax_class.as_deref(), Some("reduced"));
        assert_eq!(view.variants[0].weight_grams, Some(Grams::new(600)));
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["variants"][0]["weight_grams"], 600);
        assert_eq!(serde_json::from_value::<ProductView>(json).unwrap(), view);
    }

    #[test]
    fn weight_and_tax_class_changes_update_the_view() {
        let view = replay(&[
            created(),
            ProductEvent::VariantWeightChanged {
                sku: "TEE-S".into(),
                weight_grams: Some(Grams::new(80)),
            },
            ProductEvent::TaxClassChanged {
                tax_class: Some("books".into()),
            },
        ])
        .unwrap();
        assert_eq!(view.variants[0].weight_grams, Some(Grams::new(80)));
        assert_eq!(view.tax_class.as_deref(), Some("books"));
        assert_eq!(view.version, 3);
    }

    #[test]
    fn events_before_creation_leave_no_view() {
        assert_eq!(replay(&[ProductEvent::ProductPublished {}]), None);
    }

    #[test]
    fn publishing_and_unpublishing_toggle_status_and_flag() {
        let published = replay(&[created(), ProductEvent::ProductPublished {}]).unwrap();
        assert_eq!(published.status, ProductStatus::Published);
        assert!(published.published);
        assert_eq!(published.version, 2);

        let unpublished = replay(&[
            created(),
            ProductEvent::ProductPublished {},
            ProductEvent::ProductUnpublished {},
        ])
        .unwrap();
        assert_eq!(unpublished.status, ProductStatus::Draft);
        assert!(!unpublished.published);
        assert_eq!(unpublished.version, 3);
    }

    #[test]
    fn a_price_change_replaces_or_adds_the_currency() {
        let view = replay(&[
            created(),
            ProductEvent::VariantPriceChanged {
                sku: "TEE-S".into(),
                price: money("12.00", "EUR"),
            },
            ProductEvent::VariantPriceChanged {
                sku: "TEE-S".into(),
                price: money("13.00", "USD"),
            },
        ])
        .unwrap();
        assert_eq!(
            view.variants[0].prices,
            vec![money("12.00", "EUR"), money("13.00", "USD")]
        );
        assert_eq!(
            view.price_of(&sku("tee-s"), Currency::USD),
            Some(money("13.00", "USD"))
        );
        assert_eq!(view.price_of(&sku("TEE-S"), Currency::GBP), None);
        assert_eq!(view.version, 3);
    }

    #[test]
    fn serializes_with_string_amounts_and_snake_case_status() {
        let view = replay(&[created()]).unwrap();
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["status"], "draft");
        assert_eq!(json["variants"][0]["prices"][0]["amount"], "10.00");
        assert_eq!(serde_json::from_value::<ProductView>(json).unwrap(), view);
    }
}
