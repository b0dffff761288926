//! The claim protocol of `ShippingZones::execute` (`shipping::ports`), step by step, over a
//! real SQLite store whose executor can be told to fail the way a store fails: claims of a
//! command that was not recorded are given back; claims of a command whose outcome is unknown
//! are kept; a command the zone refuses, or pins a stale version, is refused before it claims
//! anything (so for what it is, not for a country another zone holds).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use application::shipping::{ShippingZoneError, ShippingZones};
use async_trait::async_trait;
use runtime::{
    CommandError, CommandExecutor, CommandMetadata, EventSourcedExecutor, Executed, Loaded,
};
use shared_kernel::CountryCode;
use shipping::{
    CountrySet, Name, ShippingError, ShippingZone, ShippingZoneCommand, ShippingZoneId,
    ZoneDirectory,
};
use sqlite_store::SqliteStore;

const PASS: u8 = 0;
/// A concurrent writer won: nothing recorded.
const CONFLICT: u8 = 1;
/// The store failed to answer: recorded or not, nobody knows.
const UNKNOWN: u8 = 2;

/// The real executor, except that the next `execute` may fail as told.
struct Failing {
    inner: EventSourcedExecutor<sqlite_store::SqliteEventRepository, ShippingZone>,
    next: AtomicU8,
}

#[async_trait]
impl CommandExecutor<ShippingZone> for Failing {
    async fn load(&self, id: &str) -> Result<Loaded<ShippingZone>, CommandError<ShippingError>> {
        self.inner.load(id).await
    }

    async fn execute(
        &self,
        id: &str,
        command: ShippingZoneCommand,
        expected: Option<u64>,
        metadata: &CommandMetadata,
    ) -> Result<Executed<ShippingZone>, CommandError<ShippingError>> {
        match self.next.swap(PASS, Ordering::SeqCst) {
            CONFLICT => Err(CommandError::Conflict),
            UNKNOWN => {
                // Recorded, but the answer is lost.
                self.inner.execute(id, command, expected, metadata).await?;
                Err(CommandError::Infrastructure("connection reset".to_owned()))
            }
            _ => self.inner.execute(id, command, expected, metadata).await,
        }
    }
}

struct World {
    zones: ShippingZones,
    executor: Arc<Failing>,
    store: SqliteStore,
}

async fn world() -> World {
    let store = acceptance::support::fresh_sqlite().await;
    let executor = Arc::new(Failing {
        inner: EventSourcedExecutor::new(store.event_repository(), ()),
        next: AtomicU8::new(PASS),
    });
    let zones = ShippingZones::new(
        executor.clone(),
        Arc::new(store.clone()),
        Arc::new(store.clone()),
    );
    World {
        zones,
        executor,
        store,
    }
}

fn countries(codes: &[&str]) -> CountrySet {
    CountrySet::parse(codes.iter().copied()).unwrap()
}

fn meta() -> CommandMetadata {
    CommandMetadata::new("test")
}

async fn holder(world: &World, code: &str) -> Option<ShippingZoneId> {
    let directory: &dyn ZoneDirectory = &world.store;
    directory
        .zone_of(CountryCode::parse(code).unwrap())
        .await
        .unwrap()
}

async fn created(world: &World, codes: &[&str]) -> ShippingZoneId {
    let zone_id = ShippingZoneId::new();
    let command = ShippingZoneCommand::CreateZone {
        zone_id,
        name: Name::parse("Europe").unwrap(),
        countries: countries(codes),
    };
    world
        .zones
        .execute(zone_id, command, None, &meta())
        .await
        .unwrap();
    zone_id
}

#[tokio::test]
async fn claims_of_a_command_that_was_not_recorded_are_given_back() {
    // Given a zone holding Germany,
    let world = world().await;
    let zone_id = created(&world, &["DE"]).await;
    // when moving it to Germany and France loses to a concurrent writer,
    world.executor.next.store(CONFLICT, Ordering::SeqCst);
    let change = ShippingZoneCommand::ChangeZoneCountries {
        countries: countries(&["DE", "FR"]),
    };
    let outcome = world.zones.execute(zone_id, change, None, &meta()).await;
    assert!(matches!(outcome, Err(ShippingZoneError::Conflict)));
    // then France is free again and Germany still the zone's.
    assert_eq!(holder(&world, "FR").await, None);
    assert_eq!(holder(&world, "DE").await, Some(zone_id));
}

#[tokio::test]
async fn claims_of_a_command_whose_outcome_is_unknown_are_kept() {
    let world = world().await;
    let zone_id = created(&world, &["DE"]).await;
    world.executor.next.store(UNKNOWN, Ordering::SeqCst);
    let change = ShippingZoneCommand::ChangeZoneCountries {
        countries: countries(&["DE", "FR"]),
    };
    let outcome = world.zones.execute(zone_id, change, None, &meta()).await;
    assert!(matches!(outcome, Err(ShippingZoneError::Unavailable(_))));
    // The zone does list France now: its claim must stay, or another zone could take it.
    let zone = world.zones.load(zone_id).await.unwrap();
    assert!(zone
        .aggregate
        .countries()
        .unwrap()
        .contains(CountryCode::parse("FR").unwrap()));
    assert_eq!(holder(&world, "FR").await, Some(zone_id));
}

#[tokio::test]
async fn a_command_the_zone_refuses_is_refused_before_it_claims_anything() {
    // Given a deleted zone, and another holding Italy,
    let world = world().await;
    let zone_id = created(&world, &["DE"]).await;
    let italy = created(&world, &["IT"]).await;
    world
        .zones
        .execute(zone_id, ShippingZoneCommand::DeleteZone, None, &meta())
        .await
        .unwrap();
    assert_eq!(holder(&world, "DE").await, None);
    // when staff try to give it France, it is refused and France stays free.
    let change = ShippingZoneCommand::ChangeZoneCountries {
        countries: countries(&["FR"]),
    };
    let outcome = world.zones.execute(zone_id, change, None, &meta()).await;
    assert!(matches!(
        outcome,
        Err(ShippingZoneError::Rejected(
            ShippingError::NotAllowed { .. }
        ))
    ));
    assert_eq!(holder(&world, "FR").await, None);
    // and a zone never created is refused as such, not for Italy, which stays where it is.
    let never = ShippingZoneId::new();
    let change = ShippingZoneCommand::ChangeZoneCountries {
        countries: countries(&["IT", "PT"]),
    };
    let outcome = world.zones.execute(never, change, None, &meta()).await;
    assert!(
        matches!(
            outcome,
            Err(ShippingZoneError::Rejected(ShippingError::ZoneNotFound))
        ),
        "{outcome:?}"
    );
    assert_eq!(holder(&world, "IT").await, Some(italy));
    assert_eq!(holder(&world, "PT").await, None);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_before_it_claims_anything() {
    let world = world().await;
    let zone_id = created(&world, &["DE"]).await;
    created(&world, &["IT"]).await;
    let change = ShippingZoneCommand::ChangeZoneCountries {
        countries: countries(&["DE", "FR", "IT"]),
    };
    let outcome = world.zones.execute(zone_id, change, Some(7), &meta()).await;
    assert!(
        matches!(
            outcome,
            Err(ShippingZoneError::PreconditionFailed {
                expected: 7,
                actual: 1
            })
        ),
        "{outcome:?}"
    );
    assert_eq!(holder(&world, "FR").await, None);
}
