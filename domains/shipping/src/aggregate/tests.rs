//! Given/when/then specifications of the shipping zone: every command, accepted and refused.

use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;
use shared_kernel::Money;
use uuid::Uuid;

use super::{ShippingZone, MAX_OPTIONS_PER_ZONE};
use crate::commands::ShippingZoneCommand as C;
use crate::errors::ShippingError;
use crate::events::ShippingZoneEvent as E;
use crate::rates::{CurrencyPrice, Rate, ShippingPrices, WeightBand};
use crate::values::{CountrySet, Grams, Name, ShippingOptionId, ShippingZoneId, ZoneStatus};

type ZoneTest = TestFramework<ShippingZone>;

fn zone_test() -> ZoneTest {
    ZoneTest::with(())
}

fn zone_id() -> ShippingZoneId {
    ShippingZoneId::from_uuid(Uuid::from_u128(0x20_0001))
}

fn option_id(n: u128) -> ShippingOptionId {
    ShippingOptionId::from_uuid(Uuid::from_u128(0x0B_0000 + n))
}

fn name(raw: &str) -> Name {
    Name::parse(raw).unwrap()
}

fn countries(codes: &[&str]) -> CountrySet {
    CountrySet::parse(codes.iter().copied()).unwrap()
}

fn eur(amount: &str) -> Money {
    Money::parse(amount, "EUR").unwrap()
}

fn flat(price: &str) -> ShippingPrices {
    ShippingPrices::new(vec![CurrencyPrice {
        rate: Rate::Flat { price: eur(price) },
        free_shipping_from: None,
    }])
    .unwrap()
}

fn by_weight() -> ShippingPrices {
    ShippingPrices::new(vec![CurrencyPrice {
        rate: Rate::WeightBands {
            bands: vec![
                WeightBand {
                    from: Grams::ZERO,
                    to: Some(Grams::new(2_000)),
                    price: eur("4.90"),
                },
                WeightBand {
                    from: Grams::new(2_000),
                    to: Some(Grams::new(30_000)),
                    price: eur("12.90"),
                },
            ],
        },
        free_shipping_from: Some(eur("60.00")),
    }])
    .unwrap()
}

fn create_zone() -> C {
    C::CreateZone {
        zone_id: zone_id(),
        name: name("Europe"),
        countries: countries(&["DE", "AT", "FR"]),
    }
}

fn zone_created() -> E {
    E::ZoneCreated {
        zone_id: zone_id(),
        name: name("Europe"),
        countries: countries(&["AT", "DE", "FR"]),
    }
}

fn create_option(n: u128, option_name: &str) -> C {
    C::CreateOption {
        option_id: option_id(n),
        name: name(option_name),
        prices: flat("4.90"),
    }
}

fn option_created(n: u128, option_name: &str) -> E {
    E::OptionCreated {
        option_id: option_id(n),
        name: name(option_name),
        prices: flat("4.90"),
    }
}

fn replay(events: Vec<E>) -> ShippingZone {
    let mut zone = ShippingZone::default();
    for event in events {
        zone.apply(event);
    }
    zone
}

fn not_allowed(command: &'static str) -> ShippingError {
    ShippingError::NotAllowed {
        status: ZoneStatus::Deleted,
        command,
    }
}

// --- CreateZone ---

#[test]
fn creating_a_zone_records_its_name_and_countries() {
    zone_test()
        .given_no_previous_events()
        .when(create_zone())
        .then_expect_events(vec![zone_created()]);
    let zone = replay(vec![zone_created()]);
    assert_eq!(zone.zone_id(), Some(zone_id()));
    assert_eq!(zone.status(), Some(ZoneStatus::Active));
    assert_eq!(zone.name(), Some(&name("Europe")));
    assert_eq!(zone.countries(), Some(&countries(&["AT", "DE", "FR"])));
    assert!(zone.options().is_empty());
    assert_eq!(
        ShippingZone::aggregate_id(zone_id()),
        "00000000-0000-0000-0000-000000200001"
    );
}

#[test]
fn rejects_creating_a_zone_twice() {
    zone_test()
        .given(vec![zone_created()])
        .when(create_zone())
        .then_expect_error(ShippingError::ZoneExists { zone_id: zone_id() });
}

#[test]
fn a_deleted_zone_id_stays_taken() {
    zone_test()
        .given(vec![zone_created(), E::ZoneDeleted {}])
        .when(create_zone())
        .then_expect_error(ShippingError::ZoneExists { zone_id: zone_id() });
}

// --- RenameZone ---

#[test]
fn renaming_a_zone_records_the_new_name() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::RenameZone { name: name("EU") })
        .then_expect_events(vec![E::ZoneRenamed { name: name("EU") }]);
}

#[test]
fn renaming_a_zone_to_its_own_name_changes_nothing() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::RenameZone {
            name: name(" Europe "),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_renaming_a_zone_that_does_not_exist() {
    zone_test()
        .given_no_previous_events()
        .when(C::RenameZone { name: name("EU") })
        .then_expect_error(ShippingError::ZoneNotFound);
}

#[test]
fn rejects_renaming_a_deleted_zone() {
    zone_test()
        .given(vec![zone_created(), E::ZoneDeleted {}])
        .when(C::RenameZone { name: name("EU") })
        .then_expect_error(not_allowed("RenameZone"));
}

// --- ChangeZoneCountries ---

#[test]
fn changing_countries_records_the_whole_new_set() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::ChangeZoneCountries {
            countries: countries(&["DE", "AT", "CH"]),
        })
        .then_expect_events(vec![E::ZoneCountriesChanged {
            countries: countries(&["AT", "CH", "DE"]),
        }]);
    let zone = replay(vec![
        zone_created(),
        E::ZoneCountriesChanged {
            countries: countries(&["CH"]),
        },
    ]);
    assert_eq!(zone.countries(), Some(&countries(&["CH"])));
}

#[test]
fn changing_countries_to_the_same_set_changes_nothing() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::ChangeZoneCountries {
            countries: countries(&["fr", "de", "at"]),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_changing_countries_of_a_missing_or_deleted_zone() {
    let change = || C::ChangeZoneCountries {
        countries: countries(&["CH"]),
    };
    zone_test()
        .given_no_previous_events()
        .when(change())
        .then_expect_error(ShippingError::ZoneNotFound);
    zone_test()
        .given(vec![zone_created(), E::ZoneDeleted {}])
        .when(change())
        .then_expect_error(not_allowed("ChangeZoneCountries"));
}

// --- DeleteZone ---

#[test]
fn deleting_a_zone_deletes_its_options_with_it() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::DeleteZone)
        .then_expect_events(vec![E::ZoneDeleted {}]);
    let zone = replay(vec![
        zone_created(),
        option_created(1, "Standard"),
        E::ZoneDeleted {},
    ]);
    assert_eq!(zone.status(), Some(ZoneStatus::Deleted));
    assert!(zone.options().is_empty());
}

#[test]
fn deleting_a_deleted_zone_again_changes_nothing() {
    zone_test()
        .given(vec![zone_created(), E::ZoneDeleted {}])
        .when(C::DeleteZone)
        .then_expect_events(vec![]);
}

#[test]
fn rejects_deleting_a_zone_that_does_not_exist() {
    zone_test()
        .given_no_previous_events()
        .when(C::DeleteZone)
        .then_expect_error(ShippingError::ZoneNotFound);
}

// --- CreateOption ---

#[test]
fn creating_an_option_adds_it_to_the_zone() {
    let create = C::CreateOption {
        option_id: option_id(1),
        name: name("Parcel"),
        prices: by_weight(),
    };
    let created = E::OptionCreated {
        option_id: option_id(1),
        name: name("Parcel"),
        prices: by_weight(),
    };
    zone_test()
        .given(vec![zone_created()])
        .when(create)
        .then_expect_events(vec![created.clone()]);
    let zone = replay(vec![zone_created(), created]);
    let option = zone.option(option_id(1)).unwrap();
    assert_eq!(option.name(), &name("Parcel"));
    assert_eq!(option.prices(), &by_weight());
}

#[test]
fn rejects_an_option_id_already_used_even_by_a_deleted_option() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(create_option(1, "Express"))
        .then_expect_error(ShippingError::OptionExists {
            option_id: option_id(1),
        });
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::OptionDeleted {
                option_id: option_id(1),
            },
        ])
        .when(create_option(1, "Standard"))
        .then_expect_error(ShippingError::OptionExists {
            option_id: option_id(1),
        });
}

#[test]
fn rejects_an_option_named_like_a_live_one_ignoring_case() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(create_option(2, "STANDARD"))
        .then_expect_error(ShippingError::OptionNameTaken {
            name: "STANDARD".into(),
        });
}

#[test]
fn a_deleted_option_frees_its_name() {
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::OptionDeleted {
                option_id: option_id(1),
            },
        ])
        .when(create_option(2, "Standard"))
        .then_expect_events(vec![option_created(2, "Standard")]);
}

#[test]
fn rejects_more_options_than_a_zone_may_have() {
    let mut given = vec![zone_created()];
    for n in 0..MAX_OPTIONS_PER_ZONE as u128 {
        given.push(option_created(n, &format!("Option {n}")));
    }
    zone_test()
        .given(given)
        .when(create_option(999, "One too many"))
        .then_expect_error(ShippingError::TooManyOptions {
            max: MAX_OPTIONS_PER_ZONE,
        });
}

#[test]
fn rejects_creating_an_option_in_a_missing_or_deleted_zone() {
    zone_test()
        .given_no_previous_events()
        .when(create_option(1, "Standard"))
        .then_expect_error(ShippingError::ZoneNotFound);
    zone_test()
        .given(vec![zone_created(), E::ZoneDeleted {}])
        .when(create_option(1, "Standard"))
        .then_expect_error(not_allowed("CreateOption"));
}

// --- ChangeOptionPrices ---

#[test]
fn changing_prices_records_all_the_new_prices() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::ChangeOptionPrices {
            option_id: option_id(1),
            prices: by_weight(),
        })
        .then_expect_events(vec![E::OptionPricesChanged {
            option_id: option_id(1),
            prices: by_weight(),
        }]);
    let zone = replay(vec![
        zone_created(),
        option_created(1, "Standard"),
        E::OptionPricesChanged {
            option_id: option_id(1),
            prices: by_weight(),
        },
    ]);
    assert_eq!(zone.option(option_id(1)).unwrap().prices(), &by_weight());
}

#[test]
fn changing_prices_to_the_same_prices_changes_nothing() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::ChangeOptionPrices {
            option_id: option_id(1),
            prices: flat("4.9"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_changing_prices_of_an_unknown_or_deleted_option() {
    let change = || C::ChangeOptionPrices {
        option_id: option_id(1),
        prices: flat("5.90"),
    };
    zone_test()
        .given(vec![zone_created()])
        .when(change())
        .then_expect_error(ShippingError::OptionNotFound {
            option_id: option_id(1),
        });
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::OptionDeleted {
                option_id: option_id(1),
            },
        ])
        .when(change())
        .then_expect_error(ShippingError::OptionNotFound {
            option_id: option_id(1),
        });
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::ZoneDeleted {},
        ])
        .when(change())
        .then_expect_error(not_allowed("ChangeOptionPrices"));
}

// --- RenameOption ---

#[test]
fn renaming_an_option_records_the_new_name() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::RenameOption {
            option_id: option_id(1),
            name: name("Standard (3-5 days)"),
        })
        .then_expect_events(vec![E::OptionRenamed {
            option_id: option_id(1),
            name: name("Standard (3-5 days)"),
        }]);
}

#[test]
fn an_option_may_change_the_case_of_its_own_name() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::RenameOption {
            option_id: option_id(1),
            name: name("STANDARD"),
        })
        .then_expect_events(vec![E::OptionRenamed {
            option_id: option_id(1),
            name: name("STANDARD"),
        }]);
}

#[test]
fn renaming_an_option_to_its_own_name_changes_nothing() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::RenameOption {
            option_id: option_id(1),
            name: name("Standard"),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_renaming_an_option_to_another_options_name() {
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            option_created(2, "Express"),
        ])
        .when(C::RenameOption {
            option_id: option_id(2),
            name: name("standard"),
        })
        .then_expect_error(ShippingError::OptionNameTaken {
            name: "standard".into(),
        });
}

#[test]
fn rejects_renaming_an_unknown_option() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::RenameOption {
            option_id: option_id(1),
            name: name("Standard"),
        })
        .then_expect_error(ShippingError::OptionNotFound {
            option_id: option_id(1),
        });
}

// --- DeleteOption ---

#[test]
fn deleting_an_option_removes_it_from_the_zone() {
    zone_test()
        .given(vec![zone_created(), option_created(1, "Standard")])
        .when(C::DeleteOption {
            option_id: option_id(1),
        })
        .then_expect_events(vec![E::OptionDeleted {
            option_id: option_id(1),
        }]);
    let zone = replay(vec![
        zone_created(),
        option_created(1, "Standard"),
        option_created(2, "Express"),
        E::OptionDeleted {
            option_id: option_id(1),
        },
    ]);
    assert_eq!(zone.options().len(), 1);
    assert!(zone.option(option_id(1)).is_none());
}

#[test]
fn deleting_a_deleted_option_again_changes_nothing() {
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::OptionDeleted {
                option_id: option_id(1),
            },
        ])
        .when(C::DeleteOption {
            option_id: option_id(1),
        })
        .then_expect_events(vec![]);
}

#[test]
fn rejects_deleting_an_unknown_option_or_one_of_a_deleted_zone() {
    zone_test()
        .given(vec![zone_created()])
        .when(C::DeleteOption {
            option_id: option_id(1),
        })
        .then_expect_error(ShippingError::OptionNotFound {
            option_id: option_id(1),
        });
    zone_test()
        .given(vec![
            zone_created(),
            option_created(1, "Standard"),
            E::ZoneDeleted {},
        ])
        .when(C::DeleteOption {
            option_id: option_id(1),
        })
        .then_expect_error(not_allowed("DeleteOption"));
}

#[test]
fn every_error_has_a_stable_snake_case_code() {
    let errors = [
        ShippingError::ZoneNotFound,
        ShippingError::ZoneExists { zone_id: zone_id() },
        not_allowed("RenameZone"),
        ShippingError::InvalidName {
            name: String::new(),
            reason: "must not be empty",
        },
        ShippingError::NoCountries,
        ShippingError::UnknownCountry {
            country: "UK".into(),
        },
        ShippingError::InvalidPrices {
            reason: String::new(),
        },
        ShippingError::OptionNotFound {
            option_id: option_id(1),
        },
        ShippingError::OptionExists {
            option_id: option_id(1),
        },
        ShippingError::OptionNameTaken {
            name: "Standard".into(),
        },
        ShippingError::TooManyOptions { max: 50 },
    ];
    let mut codes: Vec<&str> = errors.iter().map(ShippingError::code).collect();
    assert!(codes
        .iter()
        .all(|code| code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
}
