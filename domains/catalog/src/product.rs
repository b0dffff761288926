//! The `Product` aggregate: a product's variants, prices and publication.
//!
//! State machine (`-` = not created):
//!
//! | status    | CreateProduct | ChangeVariantPrice / Weight, ChangeTaxClass | PublishProduct | UnpublishProduct |
//! |-----------|---------------|---------------------------------------------|----------------|------------------|
//! | -         | Created       | NotFound                                    | NotFound       | NotFound         |
//! | Draft     | AlreadyExists | Changed (no-op if the same)                 | Published      | no-op            |
//! | Published | AlreadyExists | Changed (no-op if the same)                 | no-op          | Unpublished      |
//!
//! Re-publishing and re-unpublishing are no-ops rather than errors so that retried requests
//! succeed without emitting duplicate events.

use std::collections::HashSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::{Currency, Money, ProductId, TaxClass};

use crate::commands::{NewVariant, ProductCommand};
use crate::errors::CatalogError;
use crate::events::ProductEvent;
use crate::values::{
    validate_price, validate_weight, ProductStatus, Sku, Title, Variant, MAX_VARIANTS,
};

/// A product in the catalog. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    id: Option<ProductId>,
    /// `None` until `ProductCreated`.
    status: Option<ProductStatus>,
    title: Option<Title>,
    description: String,
    variants: Vec<Variant>,
    /// As recorded (checked when the product was created). Default: older snapshots.
    #[serde(default)]
    tax_class: Option<String>,
}

impl Product {
    /// `None` if the product has not been created.
    pub fn status(&self) -> Option<ProductStatus> {
        self.status
    }

    pub fn id(&self) -> Option<ProductId> {
        self.id
    }

    pub fn title(&self) -> Option<&Title> {
        self.title.as_ref()
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// The product's tax class; `None`: taxed at the standard rate.
    pub fn tax_class(&self) -> Option<&str> {
        self.tax_class.as_deref()
    }

    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    pub fn variant(&self, sku: &Sku) -> Option<&Variant> {
        self.variants.iter().find(|v| v.sku() == sku)
    }

    pub fn price_of(&self, sku: &Sku, currency: Currency) -> Option<Money> {
        self.variant(sku)?.price(currency)
    }

    pub fn is_published(&self) -> bool {
        self.status == Some(ProductStatus::Published)
    }

    /// Decides which events `command` produces, without changing anything.
    fn decide(&self, command: ProductCommand) -> Result<Vec<ProductEvent>, CatalogError> {
        use ProductCommand as C;
        use ProductStatus::{Draft, Published};
        match (self.status, command) {
            (
                None,
                C::CreateProduct {
                    product_id,
                    title,
                    description,
                    variants,
                    tax_class,
                },
            ) => create(product_id, &title, description, variants, tax_class),
            (Some(_), C::CreateProduct { .. }) => Err(CatalogError::AlreadyExists),
            (None, _) => Err(CatalogError::NotFound),
            (Some(_), C::ChangeVariantPrice { sku, price }) => self.change_price(&sku, price),
            (Some(_), C::ChangeVariantWeight { sku, weight_grams }) => {
                self.change_weight(&sku, weight_grams)
            }
            (Some(_), C::ChangeTaxClass { tax_class }) => self.change_tax_class(tax_class),
            (Some(Draft), C::PublishProduct) => Ok(vec![ProductEvent::ProductPublished {}]),
            (Some(Published), C::UnpublishProduct) => Ok(vec![ProductEvent::ProductUnpublished {}]),
            (Some(Published), C::PublishProduct) | (Some(Draft), C::UnpublishProduct) => Ok(vec![]),
        }
    }

    fn change_price(&self, sku: &str, price: Money) -> Result<Vec<ProductEvent>, CatalogError> {
        let sku = Sku::parse(sku)?;
        let Some(variant) = self.variant(&sku) else {
            return Err(CatalogError::UnknownVariant { sku });
        };
        let price = validate_price(&sku, price)?;
        if variant.price(price.currency()) == Some(price) {
            return Ok(vec![]);
        }
        Ok(vec![ProductEvent::VariantPriceChanged {
            sku: sku.into(),
            price,
        }])
    }

    fn change_weight(
        &self,
        sku: &str,
        weight_grams: Option<i64>,
    ) -> Result<Vec<ProductEvent>, CatalogError> {
        let sku = Sku::parse(sku)?;
        let Some(variant) = self.variant(&sku) else {
            return Err(CatalogError::UnknownVariant { sku });
        };
        let weight = validate_weight(&sku, weight_grams)?;
        if variant.weight() == weight {
            return Ok(vec![]);
        }
        Ok(vec![ProductEvent::VariantWeightChanged {
            sku: sku.into(),
            weight_grams: weight,
        }])
    }

    fn change_tax_class(
        &self,
        tax_class: Option<String>,
    ) -> Result<Vec<ProductEvent>, CatalogError> {
        let tax_class = tax_class
            .map(|class| TaxClass::parse(&class).map(String::from))
            .transpose()?;
        if self.tax_class == tax_class {
            return Ok(vec![]);
        }
        Ok(vec![ProductEvent::TaxClassChanged { tax_class }])
    }
}

fn create(
    product_id: ProductId,
    title: &str,
    description: String,
    new_variants: Vec<NewVariant>,
    tax_class: Option<String>,
) -> Result<Vec<ProductEvent>, CatalogError> {
    let title = Title::parse(title)?;
    let tax_class = tax_class.map(|class| TaxClass::parse(&class)).transpose()?;
    if new_variants.is_empty() {
        return Err(CatalogError::NoVariants);
    }
    if new_variants.len() > MAX_VARIANTS {
        return Err(CatalogError::TooManyVariants {
            max: MAX_VARIANTS,
            requested: new_variants.len(),
        });
    }
    let mut seen = HashSet::new();
    let mut variants = Vec::with_capacity(new_variants.len());
    for new in new_variants {
        let sku = Sku::parse(&new.sku)?;
        if !seen.insert(sku.clone()) {
            return Err(CatalogError::DuplicateSku { sku });
        }
        variants.push(Variant::new(sku, new.name, new.prices)?.weighing(new.weight_grams)?);
    }
    Ok(vec![ProductEvent::ProductCreated {
        product_id,
        title: title.into(),
        description,
        variants: variants.iter().map(Variant::data).collect(),
        tax_class: tax_class.map(String::from),
    }])
}

impl Aggregate for Product {
    const TYPE: &'static str = "product";
    type Command = ProductCommand;
    type Event = ProductEvent;
    type Error = CatalogError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        for event in self.decide(command)? {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ProductEvent::ProductCreated {
                product_id,
                title,
                description,
                variants,
                tax_class,
            } => {
                self.id = Some(product_id);
                self.tax_class = tax_class;
                self.status = Some(ProductStatus::Draft);
                self.title = Some(Title::recorded(title));
                self.description = description;
                self.variants = variants.into_iter().map(Variant::recorded).collect();
            }
            ProductEvent::VariantPriceChanged { sku, price } => {
                if let Some(variant) = self.variants.iter_mut().find(|v| v.sku().as_str() == sku) {
                    variant.set_price(price);
                }
            }
            ProductEvent::VariantWeightChanged { sku, weight_grams } => {
                if let Some(variant) = self.variants.iter_mut().find(|v| v.sku().as_str() == sku) {
                    variant.set_weight(weight_grams);
                }
            }
            ProductEvent::TaxClassChanged { tax_class } => self.tax_class = tax_class,
            ProductEvent::ProductPublished {} => self.status = Some(ProductStatus::Published),
            ProductEvent::ProductUnpublished {} => self.status = Some(ProductStatus::Draft),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::MAX_VARIANT_WEIGHT_GRAMS;
    use cqrs_es::test::TestFramework;
    use shared_kernel::{Grams, MoneyError, TaxClassError};

    type ProductTest = TestFramework<Product>;

    fn product_id() -> ProductId {
        ProductId::parse("0190f1d2-7a3b-7c4d-8e5f-0123456789ab").unwrap()
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money::parse(amount, currency).unwrap()
    }

    fn sku(raw: &str) -> Sku {
        Sku::parse(raw).unwrap()
    }

    fn new_variant(sku: &str, prices: Vec<Money>) -> NewVariant {
        NewVariant {
            sku: sku.into(),
            name: None,
            prices,
            weight_grams: None,
        }
    }

    fn create_command(variants: Vec<NewVariant>) -> ProductCommand {
        ProductCommand::CreateProduct {
            product_id: product_id(),
            title: "Tee".into(),
            description: "A plain tee".into(),
            variants,
            tax_class: None,
        }
    }

    fn created() -> ProductEvent {
        ProductEvent::ProductCreated {
            product_id: product_id(),
            title: "Tee".into(),
            description: "A plain tee".into(),
            variants: vec![Variant::new(
                sku("TEE-S"),
                Some("Small".into()),
                vec![money("19.90", "EUR")],
            )
            .unwrap()
            .data()],
            tax_class: None,
        }
    }

    /// [`created`] with a tax class and a weight, as products are created today.
    fn weighed_and_classed() -> ProductEvent {
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
        ProductEvent::ProductCreated {
            product_id,
            title,
            description,
            variants,
            tax_class: Some("reduced".into()),
        }
    }

    fn change_price(sku: &str, amount: &str, currency: &str) -> ProductCommand {
        ProductCommand::ChangeVariantPrice {
            sku: sku.into(),
            price: money(amount, currency),
        }
    }

    #[test]
    fn creating_a_product_records_normalized_variants() {
        let mut variant = new_variant("tee-s", vec![money("19.9", "EUR")]);
        variant.name = Some("Small".into());
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![variant]))
            .then_expect_events(vec![created()]);
    }

    #[test]
    fn creating_a_product_records_its_tax_class_and_variant_weights() {
        let mut variant = new_variant("tee-s", vec![money("19.9", "EUR")]);
        variant.name = Some("Small".into());
        variant.weight_grams = Some(600);
        let mut command = create_command(vec![variant]);
        if let ProductCommand::CreateProduct { tax_class, .. } = &mut command {
            *tax_class = Some(" Reduced ".into());
        }
        ProductTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_events(vec![weighed_and_classed()]);
    }

    #[test]
    fn changing_a_weight_records_it_and_the_same_weight_again_changes_nothing() {
        let change = |grams| ProductCommand::ChangeVariantWeight {
            sku: "tee-s".into(),
            weight_grams: grams,
        };
        ProductTest::with(())
            .given(vec![created()])
            .when(change(Some(750)))
            .then_expect_events(vec![ProductEvent::VariantWeightChanged {
                sku: "TEE-S".into(),
                weight_grams: Some(Grams::new(750)),
            }]);
        ProductTest::with(())
            .given(vec![weighed_and_classed()])
            .when(change(None))
            .then_expect_events(vec![ProductEvent::VariantWeightChanged {
                sku: "TEE-S".into(),
                weight_grams: None,
            }]);
        ProductTest::with(())
            .given(vec![weighed_and_classed()])
            .when(change(Some(600)))
            .then_expect_events(vec![]);
    }

    #[test]
    fn rejects_a_weight_out_of_range_or_for_an_unknown_variant() {
        ProductTest::with(())
            .given(vec![created()])
            .when(ProductCommand::ChangeVariantWeight {
                sku: "TEE-S".into(),
                weight_grams: Some(-5),
            })
            .then_expect_error(CatalogError::WeightOutOfRange {
                sku: sku("TEE-S"),
                grams: -5,
                max: MAX_VARIANT_WEIGHT_GRAMS,
            });
        ProductTest::with(())
            .given(vec![created()])
            .when(ProductCommand::ChangeVariantWeight {
                sku: "TEE-XL".into(),
                weight_grams: Some(5),
            })
            .then_expect_error(CatalogError::UnknownVariant { sku: sku("TEE-XL") });
    }

    #[test]
    fn changing_the_tax_class_records_it_normalized_and_the_same_again_changes_nothing() {
        let change = |class: Option<&str>| ProductCommand::ChangeTaxClass {
            tax_class: class.map(str::to_owned),
        };
        ProductTest::with(())
            .given(vec![created()])
            .when(change(Some(" Books ")))
            .then_expect_events(vec![ProductEvent::TaxClassChanged {
                tax_class: Some("books".into()),
            }]);
        ProductTest::with(())
            .given(vec![weighed_and_classed()])
            .when(change(None))
            .then_expect_events(vec![ProductEvent::TaxClassChanged { tax_class: None }]);
        ProductTest::with(())
            .given(vec![weighed_and_classed()])
            .when(change(Some("REDUCED")))
            .then_expect_events(vec![]);
        ProductTest::with(())
            .given(vec![created()])
            .when(change(Some("food & drink")))
            .then_expect_error(CatalogError::InvalidTaxClass(TaxClassError {
                class: "food & drink".into(),
            }));
    }

    #[test]
    fn weight_and_tax_class_changes_follow_the_events() {
        let mut product = Product::default();
        product.apply(created());
        product.apply(ProductEvent::VariantWeightChanged {
            sku: "TEE-S".into(),
            weight_grams: Some(Grams::new(80)),
        });
        product.apply(ProductEvent::TaxClassChanged {
            tax_class: Some("books".into()),
        });
        assert_eq!(
            product.variant(&sku("TEE-S")).unwrap().weight(),
            Some(Grams::new(80))
        );
        assert_eq!(product.tax_class(), Some("books"));
    }

    #[test]
    fn a_created_product_knows_its_tax_class_and_variant_weights() {
        let mut product = Product::default();
        product.apply(weighed_and_classed());
        assert_eq!(product.tax_class(), Some("reduced"));
        assert_eq!(
            product.variant(&sku("TEE-S")).unwrap().weight(),
            Some(Grams::new(600))
        );
    }

    #[test]
    fn a_product_created_before_weights_and_tax_classes_has_neither() {
        let mut product = Product::default();
        product.apply(created());
        assert_eq!(product.tax_class(), None);
        assert_eq!(product.variant(&sku("TEE-S")).unwrap().weight(), None);
    }

    #[test]
    fn rejects_an_invalid_tax_class() {
        let mut command = create_command(vec![new_variant("X", vec![money("1", "EUR")])]);
        if let ProductCommand::CreateProduct { tax_class, .. } = &mut command {
            *tax_class = Some("food & drink".into());
        }
        ProductTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CatalogError::InvalidTaxClass(TaxClassError {
                class: "food & drink".into(),
            }));
    }

    #[test]
    fn rejects_a_negative_weight_or_one_above_a_thousand_tonnes() {
        for grams in [-1, MAX_VARIANT_WEIGHT_GRAMS as i64 + 1] {
            let mut variant = new_variant("X", vec![money("1", "EUR")]);
            variant.weight_grams = Some(grams);
            ProductTest::with(())
                .given_no_previous_events()
                .when(create_command(vec![variant]))
                .then_expect_error(CatalogError::WeightOutOfRange {
                    sku: sku("X"),
                    grams,
                    max: MAX_VARIANT_WEIGHT_GRAMS,
                });
        }
    }

    #[test]
    fn a_created_product_is_a_draft_with_its_prices() {
        let mut product = Product::default();
        product.apply(created());
        assert_eq!(product.status(), Some(ProductStatus::Draft));
        assert_eq!(product.id(), Some(product_id()));
        assert_eq!(product.title().unwrap().as_str(), "Tee");
        assert!(!product.is_published());
        assert_eq!(
            product.price_of(&sku("TEE-S"), Currency::EUR),
            Some(money("19.90", "EUR"))
        );
        assert_eq!(product.price_of(&sku("TEE-S"), Currency::USD), None);
        assert_eq!(
            product.variant(&sku("TEE-S")).unwrap().name(),
            Some("Small")
        );
    }

    #[test]
    fn rejects_creating_a_product_twice() {
        ProductTest::with(())
            .given(vec![created()])
            .when(create_command(vec![new_variant(
                "X",
                vec![money("1", "EUR")],
            )]))
            .then_expect_error(CatalogError::AlreadyExists);
    }

    #[test]
    fn rejects_an_empty_title() {
        let command = ProductCommand::CreateProduct {
            product_id: product_id(),
            title: "   ".into(),
            description: String::new(),
            variants: vec![new_variant("X", vec![money("1", "EUR")])],
            tax_class: None,
        };
        ProductTest::with(())
            .given_no_previous_events()
            .when(command)
            .then_expect_error(CatalogError::EmptyTitle);
    }

    #[test]
    fn rejects_a_product_without_variants() {
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![]))
            .then_expect_error(CatalogError::NoVariants);
    }

    #[test]
    fn rejects_more_than_a_hundred_variants() {
        let variants = (0..101)
            .map(|i| new_variant(&format!("SKU-{i}"), vec![money("1", "EUR")]))
            .collect();
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(variants))
            .then_expect_error(CatalogError::TooManyVariants {
                max: 100,
                requested: 101,
            });
    }

    #[test]
    fn accepts_exactly_a_hundred_variants() {
        let variants = (0..100)
            .map(|i| new_variant(&format!("SKU-{i}"), vec![money("1", "EUR")]))
            .collect();
        let events = ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(variants))
            .inspect_result()
            .unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn rejects_the_same_sku_twice_in_one_product_ignoring_case() {
        let variants = vec![
            new_variant("tee-s", vec![money("1", "EUR")]),
            new_variant("TEE-S", vec![money("2", "EUR")]),
        ];
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(variants))
            .then_expect_error(CatalogError::DuplicateSku { sku: sku("TEE-S") });
    }

    #[test]
    fn rejects_an_invalid_sku() {
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![new_variant(
                "tee s",
                vec![money("1", "EUR")],
            )]))
            .then_expect_error(CatalogError::InvalidSku {
                sku: "tee s".into(),
            });
    }

    #[test]
    fn rejects_a_variant_without_a_price() {
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![new_variant("X", vec![])]))
            .then_expect_error(CatalogError::NoPrice { sku: sku("X") });
    }

    #[test]
    fn rejects_two_prices_in_the_same_currency() {
        let prices = vec![money("1", "EUR"), money("1", "USD"), money("2", "EUR")];
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![new_variant("X", prices)]))
            .then_expect_error(CatalogError::DuplicateCurrency {
                sku: sku("X"),
                currency: Currency::EUR,
            });
    }

    #[test]
    fn rejects_a_negative_price() {
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![new_variant(
                "X",
                vec![money("-1", "EUR")],
            )]))
            .then_expect_error(CatalogError::InvalidPrice {
                sku: sku("X"),
                reason: MoneyError::NegativeAmount,
            });
    }

    #[test]
    fn rejects_a_price_finer_than_the_currency_allows() {
        ProductTest::with(())
            .given_no_previous_events()
            .when(create_command(vec![new_variant(
                "X",
                vec![money("100.5", "JPY")],
            )]))
            .then_expect_error(CatalogError::InvalidPrice {
                sku: sku("X"),
                reason: MoneyError::TooPrecise {
                    currency: Currency::JPY,
                    minor_units: 0,
                },
            });
    }

    #[test]
    fn changing_a_price_replaces_the_one_in_that_currency() {
        ProductTest::with(())
            .given(vec![created()])
            .when(change_price("tee-s", "17.5", "EUR"))
            .then_expect_events(vec![ProductEvent::VariantPriceChanged {
                sku: "TEE-S".into(),
                price: money("17.50", "EUR"),
            }]);
    }

    #[test]
    fn changing_a_price_in_a_new_currency_adds_it() {
        let mut product = Product::default();
        product.apply(created());
        product.apply(ProductEvent::VariantPriceChanged {
            sku: "TEE-S".into(),
            price: money("21.00", "USD"),
        });
        product.apply(ProductEvent::VariantPriceChanged {
            sku: "TEE-S".into(),
            price: money("18.00", "EUR"),
        });
        let prices = product.variant(&sku("TEE-S")).unwrap().prices().to_vec();
        assert_eq!(prices, vec![money("18.00", "EUR"), money("21.00", "USD")]);
    }

    #[test]
    fn changing_a_price_of_a_published_product_is_allowed() {
        ProductTest::with(())
            .given(vec![created(), ProductEvent::ProductPublished {}])
            .when(change_price("TEE-S", "5", "USD"))
            .then_expect_events(vec![ProductEvent::VariantPriceChanged {
                sku: "TEE-S".into(),
                price: money("5.00", "USD"),
            }]);
    }

    #[test]
    fn setting_the_same_price_again_changes_nothing() {
        ProductTest::with(())
            .given(vec![created()])
            .when(change_price("TEE-S", "19.9", "EUR"))
            .then_expect_events(vec![]);
    }

    #[test]
    fn rejects_a_price_change_for_an_unknown_variant() {
        ProductTest::with(())
            .given(vec![created()])
            .when(change_price("TEE-XL", "1", "EUR"))
            .then_expect_error(CatalogError::UnknownVariant { sku: sku("TEE-XL") });
    }

    #[test]
    fn rejects_an_invalid_new_price() {
        ProductTest::with(())
            .given(vec![created()])
            .when(change_price("TEE-S", "1.999", "EUR"))
            .then_expect_error_message(
                "invalid price for variant TEE-S: EUR amounts have at most 2 decimal places",
            );
    }

    #[test]
    fn publishing_a_draft_publishes_it() {
        ProductTest::with(())
            .given(vec![created()])
            .when(ProductCommand::PublishProduct)
            .then_expect_events(vec![ProductEvent::ProductPublished {}]);
    }

    #[test]
    fn publishing_a_published_product_changes_nothing() {
        ProductTest::with(())
            .given(vec![created(), ProductEvent::ProductPublished {}])
            .when(ProductCommand::PublishProduct)
            .then_expect_events(vec![]);
    }

    #[test]
    fn unpublishing_a_published_product_returns_it_to_draft() {
        ProductTest::with(())
            .given(vec![created(), ProductEvent::ProductPublished {}])
            .when(ProductCommand::UnpublishProduct)
            .then_expect_events(vec![ProductEvent::ProductUnpublished {}]);
    }

    #[test]
    fn unpublishing_a_draft_changes_nothing() {
        ProductTest::with(())
            .given(vec![created()])
            .when(ProductCommand::UnpublishProduct)
            .then_expect_events(vec![]);
    }

    #[test]
    fn publication_state_follows_the_events() {
        let mut product = Product::default();
        product.apply(created());
        product.apply(ProductEvent::ProductPublished {});
        assert!(product.is_published());
        product.apply(ProductEvent::ProductUnpublished {});
        assert_eq!(product.status(), Some(ProductStatus::Draft));
    }

    #[test]
    fn rejects_every_other_command_on_a_product_that_does_not_exist() {
        for command in [
            change_price("TEE-S", "1", "EUR"),
            ProductCommand::ChangeVariantWeight {
                sku: "TEE-S".into(),
                weight_grams: Some(1),
            },
            ProductCommand::ChangeTaxClass { tax_class: None },
            ProductCommand::PublishProduct,
            ProductCommand::UnpublishProduct,
        ] {
            ProductTest::with(())
                .given_no_previous_events()
                .when(command)
                .then_expect_error(CatalogError::NotFound);
        }
    }

    #[test]
    fn events_have_stable_type_names_and_version_two() {
        use cqrs_es::DomainEvent;
        let cases = [
            (created(), "ProductCreated"),
            (
                ProductEvent::VariantPriceChanged {
                    sku: "A".into(),
                    price: money("1", "EUR"),
                },
                "VariantPriceChanged",
            ),
            (ProductEvent::ProductPublished {}, "ProductPublished"),
            (ProductEvent::ProductUnpublished {}, "ProductUnpublished"),
            (
                ProductEvent::VariantWeightChanged {
                    sku: "A".into(),
                    weight_grams: None,
                },
                "VariantWeightChanged",
            ),
            (
                ProductEvent::TaxClassChanged { tax_class: None },
                "TaxClassChanged",
            ),
        ];
        for (event, name) in cases {
            assert_eq!(event.event_type(), name);
            assert_eq!(event.event_version(), "2");
        }
    }

    #[test]
    fn events_survive_a_json_round_trip() {
        let event = created();
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<ProductEvent>(&json).unwrap(), event);
        assert!(json.contains(r#""prices":[{"amount":"19.90","currency":"EUR"}]"#));
    }

    #[test]
    fn an_event_without_weight_or_tax_class_is_stored_as_before() {
        let json = serde_json::to_value(created()).unwrap();
        let created = &json["ProductCreated"];
        assert!(created.get("tax_class").is_none(), "{created}");
        assert!(created["variants"][0].get("weight_grams").is_none());
        let json = serde_json::to_value(weighed_and_classed()).unwrap();
        assert_eq!(json["ProductCreated"]["tax_class"], "reduced");
        assert_eq!(json["ProductCreated"]["variants"][0]["weight_grams"], 600);
    }

    #[test]
    fn the_aggregate_survives_a_snapshot_round_trip() {
        let mut product = Product::default();
        product.apply(weighed_and_classed());
        let json = serde_json::to_string(&product).unwrap();
        assert_eq!(serde_json::from_str::<Product>(&json).unwrap(), product);
    }
}
