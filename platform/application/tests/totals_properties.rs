//! Properties of a cart's totals from the discount to the refund (ADR 0034, ADR 0038): for
//! random carts, percentage codes, shipping charges and tax settings, in currencies with 0, 2
//! and 3 minor units, with tax included in prices or on top of them:
//! - the discount's line shares sum exactly to the discount, each within its line;
//! - each line's tax and the shipping's are the documented rounding of their exact value
//!   (half up, once), and they sum exactly to the tax total;
//! - the checkout accepts those parts and charges subtotal − discount + shipping, plus the tax
//!   when it comes on top; the order records the same total;
//! - refunding every unit, one at a time, gives back exactly what the lines paid.

use cqrs_es::test::TestFramework;
use proptest::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};
use shared_kernel::{
    AddressData, CartId, CheckoutId, CountryCode, Currency, EmailAddress, Money, OrderId,
    PaymentId, PostalAddress, ProductId, Quantity, RefundId, Sku,
};
use uuid::Uuid;

use application::cart_totals::CartTax;
use checkout::{AppliedPromotion, AppliedShipping, Checkout, CheckoutCommand, CheckoutEvent};
use coupons::{discount, AppliesTo, Basket, Offer, Percentage, Terms};
use orders::{NewOrderLine, Order, OrderCommand, OrderEvent, OrderTax, RefundItems, RefundOrigin};
use tax::{PriceBasis, TaxLine, TaxRate, TaxRequest, TaxTable};

fn minor(units: i64, currency: Currency) -> Money {
    Money::new(Decimal::new(units, currency.minor_units()), currency)
}

/// `amount × rate ÷ (100 [+ rate])` rounded half up to the minor unit, in exact decimals.
fn documented_tax(amount: Money, percent: Decimal, inclusive: bool) -> Money {
    let denominator = if inclusive {
        Decimal::ONE_HUNDRED + percent
    } else {
        Decimal::ONE_HUNDRED
    };
    let exact = amount.amount() * percent / denominator;
    Money::new(
        exact.round_dp_with_strategy(
            amount.currency().minor_units(),
            RoundingStrategy::MidpointAwayFromZero,
        ),
        amount.currency(),
    )
}

fn sum(amounts: impl IntoIterator<Item = Money>, currency: Currency) -> Money {
    Money::new(amounts.into_iter().map(|m| m.amount()).sum(), currency)
}

fn address() -> PostalAddress {
    PostalAddress::new(AddressData {
        name: "Ada Lovelace".into(),
        line1: "1 Analytical Way".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        country: "DE".into(),
        ..AddressData::default()
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_discounted_taxed_cart_adds_up_from_the_cart_to_its_refunds(
        code in prop_oneof![Just("JPY"), Just("EUR"), Just("KWD")],
        lines in proptest::collection::vec((1i64..200_000, 1u32..=4), 1..=4),
        basis_points in 1u32..=10_000,
        shipping_units in 0i64..5_000,
        rate_ten_thousandths in 0u32..=300_000,
        inclusive in any::<bool>(),
    ) {
        let currency = Currency::parse(code).unwrap();
        let skus: Vec<Sku> = (0..lines.len())
            .map(|i| Sku::parse(&format!("SKU-{i}")).unwrap())
            .collect();
        let unit_prices: Vec<Money> = lines.iter().map(|(p, _)| minor(*p, currency)).collect();
        let line_totals: Vec<Money> = lines
            .iter()
            .map(|(p, q)| minor(p * i64::from(*q), currency))
            .collect();
        let shipping = minor(shipping_units, currency);

        // The discount: shares within their lines, summing to it.
        let terms = Terms::new(
            Offer::PercentOff {
                percent: Percentage::new(Decimal::new(i64::from(basis_points), 2)).unwrap(),
            },
            AppliesTo::Order,
        );
        let basket = Basket::new(
            skus.iter().cloned().zip(line_totals.iter().copied()).collect(),
            shipping,
        )
        .unwrap();
        let off = discount(&terms, &basket).unwrap();
        let shares = off.lines().to_vec();
        prop_assert_eq!(sum(shares.iter().copied(), currency), off.total());
        for (share, total) in shares.iter().zip(&line_totals) {
            prop_assert!(!share.is_negative() && share.amount() <= total.amount());
        }

        // The tax of each line after its share, and of the shipping.
        let percent = Decimal::new(i64::from(rate_ten_thousandths), 4);
        let basis = if inclusive { PriceBasis::TaxInclusive } else { PriceBasis::TaxExclusive };
        let germany = CountryCode::parse("DE").unwrap();
        let table = TaxTable::new(
            [(germany, TaxRate::percent(percent).unwrap())],
            [],
            [(currency, basis)],
        )
        .unwrap();
        let charged: Vec<Money> = line_totals
            .iter()
            .zip(&shares)
            .map(|(total, share)| Money::new(total.amount() - share.amount(), currency))
            .collect();
        let request = TaxRequest::new(
            germany,
            basis,
            skus.iter()
                .zip(&charged)
                .zip(&lines)
                .map(|((sku, amount), (_, q))| TaxLine {
                    sku: sku.clone(),
                    tax_class: None,
                    amount: *amount,
                    quantity: Quantity::new(*q).unwrap(),
                })
                .collect(),
            shipping,
        )
        .unwrap();
        let breakdown = table.tax(&request).unwrap();
        for (line, amount) in breakdown.lines().iter().zip(&charged) {
            prop_assert_eq!(line.taxed.tax(), documented_tax(*amount, percent, inclusive));
            prop_assert_eq!(
                Money::new(line.taxed.net().amount() + line.taxed.tax().amount(), currency),
                line.taxed.gross()
            );
        }
        prop_assert_eq!(breakdown.shipping().tax(), documented_tax(shipping, percent, inclusive));
        let taxes = breakdown
            .lines()
            .iter()
            .map(|line| line.taxed.tax())
            .chain([breakdown.shipping().tax()]);
        prop_assert_eq!(sum(taxes, currency), breakdown.total_tax());

        // The checkout charges it.
        let subtotal = sum(line_totals.iter().copied(), currency);
        let on_top = if inclusive { Decimal::ZERO } else { breakdown.total_tax().amount() };
        let expected = Money::new(
            subtotal.amount() - off.total().amount() + shipping.amount() + on_top,
            currency,
        );
        let applied = CartTax::Calculated(breakdown.clone()).applied().unwrap();
        let checkout_lines: Vec<checkout::CheckoutLine> = skus
            .iter()
            .zip(&unit_prices)
            .zip(&lines)
            .map(|((sku, price), (_, q))| checkout::CheckoutLine {
                sku: sku.clone(),
                product_id: ProductId::from_uuid(Uuid::from_u128(1)),
                title: sku.as_str().to_owned(),
                quantity: Quantity::new(*q).unwrap(),
                unit_price: *price,
            })
            .collect();
        let start = CheckoutCommand::StartCheckout {
            checkout_id: CheckoutId::from_uuid(Uuid::from_u128(2)),
            cart_id: CartId::from_uuid(Uuid::from_u128(3)),
            customer_id: None,
            email: EmailAddress::parse("ada@example.com").unwrap(),
            shipping: address(),
            currency,
            lines: checkout_lines,
            started_at: chrono::DateTime::UNIX_EPOCH,
            promotion: Some(AppliedPromotion {
                code: "PROP".into(),
                discount: off.total(),
                line_discounts: shares.clone(),
                shipping_discount: None,
            }),
            shipping_method: Some(AppliedShipping {
                option_id: Uuid::from_u128(4),
                name: "Standard".into(),
                price: shipping,
            }),
            tax: Some(applied.clone()),
        };
        let started = TestFramework::<Checkout>::with(())
            .given_no_previous_events()
            .when(start)
            .inspect_result();
        match started.as_deref() {
            Ok([CheckoutEvent::CheckoutStarted { total, .. }]) => {
                prop_assert_eq!(*total, expected);
            }
            // Everything taken off: nothing to pay, which checkouts refuse.
            Err(checkout::CheckoutError::NothingToPay) => {
                prop_assert!(expected.is_zero(), "{expected}");
                return Ok(());
            }
            other => prop_assert!(false, "{other:?}"),
        }

        // The order records the same total, and its units refunded one by one give back
        // exactly what its lines paid.
        let place = OrderCommand::PlaceOrder {
            order_id: OrderId::from_uuid(Uuid::from_u128(5)),
            checkout_id: Some(CheckoutId::from_uuid(Uuid::from_u128(2))),
            customer_id: None,
            email: EmailAddress::parse("ada@example.com").unwrap(),
            shipping_address: address(),
            currency,
            lines: skus
                .iter()
                .zip(&unit_prices)
                .zip(lines.iter().zip(&shares))
                .map(|((sku, price), ((_, q), share))| NewOrderLine {
                    sku: sku.clone(),
                    product_id: ProductId::from_uuid(Uuid::from_u128(1)),
                    title: sku.as_str().to_owned(),
                    quantity: Quantity::new(*q).unwrap(),
                    unit_price: *price,
                    discount: *share,
                })
                .collect(),
            placed_at: chrono::DateTime::UNIX_EPOCH,
            promotion_code: Some("PROP".into()),
            number: None,
            shipping_total: Some(shipping),
            tax: Some(OrderTax {
                prices_include_tax: applied.prices_include_tax,
                lines: applied
                    .lines
                    .iter()
                    .map(|part| orders::TaxPart { rate: part.rate, amount: part.amount })
                    .collect(),
                shipping: orders::TaxPart {
                    rate: applied.shipping.rate,
                    amount: applied.shipping.amount,
                },
            }),
        };
        let mut history = TestFramework::<Order>::with(())
            .given_no_previous_events()
            .when(place)
            .inspect_result()
            .unwrap();
        let OrderEvent::OrderPlaced { total, .. } = &history[0] else {
            panic!("expected OrderPlaced");
        };
        prop_assert_eq!(*total, expected);
        history.push(OrderEvent::OrderPaid {
            payment_id: PaymentId::from_uuid(Uuid::from_u128(6)),
            amount: expected,
        });
        let mut given_back = Money::zero(currency);
        let mut n = 0u128;
        for (sku, (_, quantity)) in skus.iter().zip(&lines) {
            for _ in 0..*quantity {
                n += 1;
                let events = TestFramework::<Order>::with(())
                    .given(history.clone())
                    .when(OrderCommand::RequestRefund {
                        refund_id: RefundId::from_uuid(Uuid::from_u128(0x100 + n)),
                        items: RefundItems::Lines(vec![orders::RefundLineRequest {
                            sku: sku.clone(),
                            quantity: Quantity::new(1).unwrap(),
                        }]),
                        restock: false,
                        reason: "Returned".into(),
                        origin: RefundOrigin::Admin,
                        shipping: orders::ShippingRefund::None,
                    })
                    .inspect_result()
                    .unwrap();
                if let [OrderEvent::OrderRefundRequested { amount, .. }] = &events[..] {
                    given_back = Money::new(given_back.amount() + amount.amount(), currency);
                }
                history.extend(events);
            }
        }
        let shipping_tax_on_top = if inclusive {
            Decimal::ZERO
        } else {
            breakdown.shipping().tax().amount()
        };
        prop_assert_eq!(
            given_back.amount(),
            expected.amount() - shipping.amount() - shipping_tax_on_top
        );
        // And the shipping, refunded when staff say so, gives back the rest: its tax too.
        if !shipping.is_zero() {
            let events = TestFramework::<Order>::with(())
                .given(history.clone())
                .when(OrderCommand::RequestRefund {
                    refund_id: RefundId::from_uuid(Uuid::from_u128(0xFFFF)),
                    items: RefundItems::Lines(Vec::new()),
                    restock: false,
                    reason: "Shipping".into(),
                    origin: RefundOrigin::Admin,
                    shipping: orders::ShippingRefund::Full,
                })
                .inspect_result()
                .unwrap();
            let [OrderEvent::OrderRefundRequested { amount, .. }] = &events[..] else {
                panic!("expected a shipping refund, got {events:?}");
            };
            prop_assert_eq!(amount.amount(), shipping.amount() + shipping_tax_on_top);
        }
    }
}
