//! What both stores promise a projection rebuild (ADR 0049): a shadow holds only its
//! projection's views, a switch replaces exactly those views and the checkpoint in one
//! transaction and counts itself, and a switch that would move the checkpoint back changes
//! nothing.

use acceptance::support;
use runtime::projection::ProjectionError;
use runtime::{
    CommitOutcome, Cursor, DocumentChange, FeedEvent, Projection, ProjectionStore, ReadModels,
    Rebuilds, ShadowProjection, WorkingSet,
};
use serde_json::{json, Value};

/// A projection that only names its views: the tests drive the stores directly.
struct Shadowed;

impl Projection for Shadowed {
    fn name(&self) -> &'static str {
        "shadowed"
    }
    fn views(&self) -> &'static [&'static str] {
        &["shadowed_a", "shadowed_b"]
    }
    fn documents_for(&self, _: &FeedEvent) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    fn apply(&self, _: &FeedEvent, _: &mut WorkingSet) -> Result<(), ProjectionError> {
        Ok(())
    }
}

fn at(position: i64) -> Cursor {
    Cursor { tx: 0, position }
}

fn upsert(view: &str, id: &str, body: Value) -> DocumentChange {
    DocumentChange::Upsert {
        view: view.to_owned(),
        id: id.to_owned(),
        body,
    }
}

async fn a_switch_replaces_the_projections_views_and_checkpoint<S>(store: S)
where
    S: Rebuilds + ProjectionStore + ReadModels,
{
    let live = vec![
        upsert("shadowed_a", "1", json!({"v": "old"})),
        upsert("shadowed_b", "gone", json!({"v": "old"})),
        upsert("unrelated", "x", json!({"v": "kept"})),
    ];
    assert_eq!(
        store
            .commit("shadowed", Cursor::START, at(3), live)
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    let shadow = store.shadow(&Shadowed).await.unwrap();
    let rebuilt = vec![
        upsert("shadowed_a", "1", json!({"v": "new"})),
        upsert("shadowed_a", "2", json!({"v": "new"})),
    ];
    assert_eq!(
        shadow
            .commit("shadowed", Cursor::START, at(4), rebuilt)
            .await
            .unwrap(),
        CommitOutcome::Committed
    );
    // Unseen until switched.
    assert_eq!(
        store.get("shadowed_a", "1").await.unwrap(),
        Some(json!({"v": "old"}))
    );
    assert_eq!(shadow.lock_live().await.unwrap(), at(3));
    assert_eq!(shadow.switch_in().await.unwrap(), at(4));

    assert_eq!(
        store.get("shadowed_a", "1").await.unwrap(),
        Some(json!({"v": "new"}))
    );
    assert_eq!(
        store.get("shadowed_a", "2").await.unwrap(),
        Some(json!({"v": "new"}))
    );
    assert_eq!(store.get("shadowed_b", "gone").await.unwrap(), None);
    assert_eq!(
        store.get("unrelated", "x").await.unwrap(),
        Some(json!({"v": "kept"}))
    );
    assert_eq!(store.checkpoint("shadowed").await.unwrap(), at(4));
    assert_eq!(store.switches("shadowed").await.unwrap(), 1);
    // The live projector's commit from where it was finds the checkpoint moved.
    assert_eq!(
        store
            .commit("shadowed", at(3), at(5), Vec::new())
            .await
            .unwrap(),
        CommitOutcome::CheckpointMoved
    );
    // A second rebuild counts again, from a fresh shadow.
    let shadow = store.shadow(&Shadowed).await.unwrap();
    shadow
        .commit("shadowed", Cursor::START, at(4), Vec::new())
        .await
        .unwrap();
    shadow.lock_live().await.unwrap();
    shadow.switch_in().await.unwrap();
    assert_eq!(store.switches("shadowed").await.unwrap(), 2);
    assert_eq!(store.get("shadowed_a", "1").await.unwrap(), None);
}

async fn a_shadow_behind_the_live_checkpoint_is_not_switched_in<S>(store: S)
where
    S: Rebuilds + ProjectionStore + ReadModels,
{
    let live = vec![upsert("shadowed_a", "1", json!({"v": "live"}))];
    store
        .commit("shadowed", Cursor::START, at(7), live)
        .await
        .unwrap();
    let shadow = store.shadow(&Shadowed).await.unwrap();
    shadow
        .commit("shadowed", Cursor::START, at(5), Vec::new())
        .await
        .unwrap();
    shadow.lock_live().await.unwrap();
    assert!(shadow.switch_in().await.is_err());
    assert_eq!(
        store.get("shadowed_a", "1").await.unwrap(),
        Some(json!({"v": "live"}))
    );
    assert_eq!(store.checkpoint("shadowed").await.unwrap(), at(7));
    assert_eq!(store.switches("shadowed").await.unwrap(), 0);
}

async fn a_shadow_refuses_a_view_its_projection_does_not_declare<S>(store: S)
where
    S: Rebuilds + ProjectionStore + ReadModels,
{
    let shadow = store.shadow(&Shadowed).await.unwrap();
    let elsewhere = vec![upsert("unrelated", "x", json!({}))];
    assert!(shadow
        .commit("shadowed", Cursor::START, at(1), elsewhere)
        .await
        .is_err());
    assert_eq!(shadow.checkpoint("shadowed").await.unwrap(), Cursor::START);
}

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::support::fresh_sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::support::fresh_postgres().await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    a_switch_replaces_the_projections_views_and_checkpoint,
    a_shadow_behind_the_live_checkpoint_is_not_switched_in,
    a_shadow_refuses_a_view_its_projection_does_not_declare,
);
