//! A small demo catalog, seeded into an empty store so that a newcomer can browse at once.
//! Turn it off with `COMMERCE_DEMO_CATALOG=false`.

use catalog::{CatalogError, NewVariant, ProductCommand};
use inventory::{StockCommand, StockItem};
use rest::ApiState;
use runtime::CommandMetadata;
use rust_decimal::Decimal;
use shared_kernel::{Currency, Money, ProductId, Quantity, Sku};

struct DemoProduct {
    title: &'static str,
    description: &'static str,
    variants: &'static [(&'static str, &'static str, &'static str, &'static str)],
    publish: bool,
}

/// Units on hand per demo SKU; the beanie in navy is sold out on purpose.
const DEMO_STOCK: &[(&str, u32)] = &[
    ("TEE-BLACK-M", 40),
    ("TEE-BLACK-L", 25),
    ("TEE-WHITE-M", 30),
    ("DRIPPER-WHITE", 12),
    ("BEANIE-GREY", 18),
    ("TOTE-NATURAL", 60),
    ("HOODIE-LTD", 5),
];

/// How many products the demo catalog has (one of them a draft), and how many SKUs it stocks.
pub const PRODUCTS: usize = DEMO.len();
pub const STOCKED: usize = DEMO_STOCK.len();

/// (sku, variant name, EUR price, USD price)
const DEMO: &[DemoProduct] = &[
    DemoProduct {
        title: "Organic Cotton T-Shirt",
        description: "Heavyweight organic cotton, relaxed fit.",
        variants: &[
            ("TEE-BLACK-M", "Black / M", "24.00", "26.00"),
            ("TEE-BLACK-L", "Black / L", "24.00", "26.00"),
            ("TEE-WHITE-M", "White / M", "24.00", "26.00"),
        ],
        publish: true,
    },
    DemoProduct {
        title: "Ceramic Pour-Over Dripper",
        description: "Hand-glazed stoneware dripper for one to two cups.",
        variants: &[("DRIPPER-WHITE", "White", "32.50", "35.00")],
        publish: true,
    },
    DemoProduct {
        title: "Merino Wool Beanie",
        description: "Fine merino, ribbed knit.",
        variants: &[
            ("BEANIE-GREY", "Grey", "19.90", "21.00"),
            ("BEANIE-NAVY", "Navy", "19.90", "21.00"),
        ],
        publish: true,
    },
    DemoProduct {
        title: "Canvas Tote Bag",
        description: "Undyed cotton canvas with long handles.",
        variants: &[("TOTE-NATURAL", "Natural", "12.00", "13.00")],
        publish: true,
    },
    DemoProduct {
        title: "Limited Edition Hoodie",
        description: "Not released yet: a draft, invisible to shoppers.",
        variants: &[("HOODIE-LTD", "One size", "89.00", "95.00")],
        publish: false,
    },
];

fn money(amount: &str, currency: &str) -> Result<Money, String> {
    let amount: Decimal = amount.parse().map_err(|e| format!("{e}"))?;
    let currency = Currency::parse(currency).map_err(|e| e.to_string())?;
    Money::price(amount, currency).map_err(|e| e.to_string())
}

/// Creates the demo products through the same use cases as the admin API.
pub async fn seed(api: &ApiState) -> Result<(), String> {
    let metadata = CommandMetadata::new("demo-seed");
    for demo in DEMO {
        let mut variants = Vec::new();
        for (sku, name, eur, usd) in demo.variants {
            variants.push(NewVariant {
                sku: (*sku).to_owned(),
                name: Some((*name).to_owned()),
                prices: vec![money(eur, "EUR")?, money(usd, "USD")?],
                weight_grams: None,
            });
        }
        let product_id = ProductId::new();
        let created = api
            .catalog
            .create_product(
                ProductCommand::CreateProduct {
                    product_id,
                    title: demo.title.to_owned(),
                    description: demo.description.to_owned(),
                    variants,
                    tax_class: None,
                },
                &metadata,
            )
            .await;
        match created {
            Ok(_) => {}
            // Another instance seeding the same empty database got there first.
            Err(application::CreateProductError::Rejected(CatalogError::SkuTaken { .. })) => {
                continue
            }
            Err(error) => return Err(error.to_string()),
        }
        if demo.publish {
            api.catalog
                .products()
                .execute(
                    &product_id.to_string(),
                    ProductCommand::PublishProduct,
                    None,
                    &metadata,
                )
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    for (sku, units) in DEMO_STOCK {
        let sku = Sku::parse(sku).map_err(|e| e.to_string())?;
        let quantity = Quantity::new(*units).map_err(|e| e.to_string())?;
        api.inventory
            .execute(
                &StockItem::aggregate_id(&sku),
                StockCommand::ReceiveStock {
                    sku: sku.clone(),
                    quantity,
                    reference: Some("demo seed".to_owned()),
                },
                None,
                &metadata,
            )
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
