//! The `SkuClaim` aggregate: which product holds a SKU, one event stream per SKU.
//!
//! Why an aggregate and not a query: two requests creating products with the same SKU would
//! both see it free in a read model. Here both try to append sequence 1 to the stream
//! `sku_claim/<SKU>`; the store accepts one, the other gets a concurrency conflict, reloads and
//! receives [`CatalogError::SkuTaken`].
//!
//! | holder        | ClaimSku(p)  | ReleaseSku(p) | ReclaimOrphanedSku(prev → p) |
//! |---------------|--------------|---------------|------------------------------|
//! | none          | Claimed      | no-op         | Claimed                      |
//! | p             | no-op        | Released      | no-op                        |
//! | prev          | SkuTaken     | no-op         | Released(prev), Claimed(p)   |
//! | someone else  | SkuTaken     | no-op         | SkuTaken                     |

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use shared_kernel::ProductId;

use crate::commands::SkuClaimCommand;
use crate::errors::CatalogError;
use crate::events::SkuClaimEvent;
use crate::values::Sku;

/// Ownership of one SKU. Serializable for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuClaim {
    sku: Option<Sku>,
    holder: Option<ProductId>,
    claimed_at: Option<DateTime<Utc>>,
}

impl SkuClaim {
    /// The aggregate id to load and command for `sku`: its normalized form.
    pub fn aggregate_id(sku: &Sku) -> String {
        sku.as_str().to_owned()
    }

    /// The SKU, once it has ever been claimed.
    pub fn sku(&self) -> Option<&Sku> {
        self.sku.as_ref()
    }

    /// The product holding the SKU, if any.
    pub fn holder(&self) -> Option<ProductId> {
        self.holder
    }

    /// When the current holder claimed it.
    pub fn claimed_at(&self) -> Option<DateTime<Utc>> {
        self.claimed_at
    }

    fn decide(&self, command: SkuClaimCommand) -> Result<Vec<SkuClaimEvent>, CatalogError> {
        use SkuClaimCommand as C;
        match command {
            C::ClaimSku {
                sku,
                product_id,
                at,
            } => match self.holder {
                None => Ok(vec![SkuClaimEvent::SkuClaimed {
                    sku: sku.into(),
                    product_id,
                    at,
                }]),
                Some(holder) if holder == product_id => Ok(vec![]),
                Some(holder) => Err(CatalogError::SkuTaken {
                    sku,
                    product_id: holder,
                }),
            },
            C::ReleaseSku { product_id } => match (&self.sku, self.holder) {
                (Some(sku), Some(holder)) if holder == product_id => {
                    Ok(vec![SkuClaimEvent::SkuReleased {
                        sku: sku.as_str().to_owned(),
                        product_id,
                    }])
                }
                _ => Ok(vec![]),
            },
            C::ReclaimOrphanedSku {
                sku,
                previous,
                product_id,
                at,
            } => match self.holder {
                // A retried reclaim that already went through.
                Some(holder) if holder == product_id => Ok(vec![]),
                Some(holder) if holder == previous => Ok(vec![
                    SkuClaimEvent::SkuReleased {
                        sku: sku.as_str().to_owned(),
                        product_id: previous,
                    },
                    SkuClaimEvent::SkuClaimed {
                        sku: sku.into(),
                        product_id,
                        at,
                    },
                ]),
                Some(holder) => Err(CatalogError::SkuTaken {
                    sku,
                    product_id: holder,
                }),
                // The orphan was released meanwhile: the caller still wants the SKU.
                None => Ok(vec![SkuClaimEvent::SkuClaimed {
                    sku: sku.into(),
                    product_id,
                    at,
                }]),
            },
        }
    }
}

impl Aggregate for SkuClaim {
    const TYPE: &'static str = "sku_claim";
    type Command = SkuClaimCommand;
    type Event = SkuClaimEvent;
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
            SkuClaimEvent::SkuClaimed {
                sku,
                product_id,
                at,
            } => {
                self.sku = Some(Sku::recorded(sku));
                self.holder = Some(product_id);
                self.claimed_at = Some(at);
            }
            SkuClaimEvent::SkuReleased { .. } => {
                self.holder = None;
                self.claimed_at = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use cqrs_es::test::TestFramework;

    type SkuClaimTest = TestFramework<SkuClaim>;

    fn sku() -> Sku {
        Sku::parse("TEE-S").unwrap()
    }

    fn product(n: u128) -> ProductId {
        ProductId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, hour, 0, 0).unwrap()
    }

    fn claimed(by: u128, hour: u32) -> SkuClaimEvent {
        SkuClaimEvent::SkuClaimed {
            sku: sku().into(),
            product_id: product(by),
            at: at(hour),
        }
    }

    fn released(by: u128) -> SkuClaimEvent {
        SkuClaimEvent::SkuReleased {
            sku: sku().into(),
            product_id: product(by),
        }
    }

    fn claim(by: u128, hour: u32) -> SkuClaimCommand {
        SkuClaimCommand::ClaimSku {
            sku: sku(),
            product_id: product(by),
            at: at(hour),
        }
    }

    fn reclaim(previous: u128, by: u128) -> SkuClaimCommand {
        SkuClaimCommand::ReclaimOrphanedSku {
            sku: sku(),
            previous: product(previous),
            product_id: product(by),
            at: at(12),
        }
    }

    #[test]
    fn claiming_a_free_sku_records_the_holder() {
        SkuClaimTest::with(())
            .given_no_previous_events()
            .when(claim(1, 9))
            .then_expect_events(vec![claimed(1, 9)]);
    }

    #[test]
    fn claiming_again_for_the_same_product_changes_nothing() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9)])
            .when(claim(1, 10))
            .then_expect_events(vec![]);
    }

    #[test]
    fn rejects_claiming_a_sku_held_by_another_product() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9)])
            .when(claim(2, 10))
            .then_expect_error(CatalogError::SkuTaken {
                sku: sku(),
                product_id: product(1),
            });
    }

    #[test]
    fn a_released_sku_can_be_claimed_by_another_product() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9), released(1)])
            .when(claim(2, 10))
            .then_expect_events(vec![claimed(2, 10)]);
    }

    #[test]
    fn releasing_by_the_holder_frees_the_sku() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9)])
            .when(SkuClaimCommand::ReleaseSku {
                product_id: product(1),
            })
            .then_expect_events(vec![released(1)]);
    }

    #[test]
    fn releasing_by_a_product_that_does_not_hold_it_changes_nothing() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9)])
            .when(SkuClaimCommand::ReleaseSku {
                product_id: product(2),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn releasing_a_never_claimed_sku_changes_nothing() {
        SkuClaimTest::with(())
            .given_no_previous_events()
            .when(SkuClaimCommand::ReleaseSku {
                product_id: product(1),
            })
            .then_expect_events(vec![]);
    }

    #[test]
    fn reclaiming_an_orphan_moves_it_to_the_new_product() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9)])
            .when(reclaim(1, 2))
            .then_expect_events(vec![released(1), claimed(2, 12)]);
    }

    #[test]
    fn rejects_reclaiming_from_a_product_that_is_not_the_holder() {
        SkuClaimTest::with(())
            .given(vec![claimed(3, 9)])
            .when(reclaim(1, 2))
            .then_expect_error(CatalogError::SkuTaken {
                sku: sku(),
                product_id: product(3),
            });
    }

    #[test]
    fn reclaiming_again_after_success_changes_nothing() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9), released(1), claimed(2, 12)])
            .when(reclaim(1, 2))
            .then_expect_events(vec![]);
    }

    #[test]
    fn reclaiming_a_sku_freed_meanwhile_simply_claims_it() {
        SkuClaimTest::with(())
            .given(vec![claimed(1, 9), released(1)])
            .when(reclaim(1, 2))
            .then_expect_events(vec![claimed(2, 12)]);
    }

    #[test]
    fn accessors_report_the_current_holder() {
        let mut claim = SkuClaim::default();
        assert_eq!(claim.holder(), None);
        claim.apply(claimed(1, 9));
        assert_eq!(claim.holder(), Some(product(1)));
        assert_eq!(claim.claimed_at(), Some(at(9)));
        assert_eq!(claim.sku(), Some(&sku()));
        claim.apply(released(1));
        assert_eq!(claim.holder(), None);
        assert_eq!(claim.claimed_at(), None);
        assert_eq!(
            SkuClaim::aggregate_id(&Sku::parse("tee-s").unwrap()),
            "TEE-S"
        );
    }

    #[test]
    fn events_have_stable_type_names() {
        use cqrs_es::DomainEvent;
        assert_eq!(claimed(1, 9).event_type(), "SkuClaimed");
        assert_eq!(released(1).event_type(), "SkuReleased");
        assert_eq!(released(1).event_version(), "2");
    }
}
