//! How a domain event becomes a stored payload and back (ADR 0014).
//!
//! Stored payloads are plain data: the event's fields as a JSON object, with the event's
//! stable `event_type` literal in its own column. No Rust name is stored, so renaming a
//! variant cannot break history, and a payload never passes through a validating
//! constructor on the way back: rules apply when a command is accepted, not when history is
//! read.
//!
//! The first release stored serde's default, externally tagged shape (`{"OrderPlaced": {..}}`,
//! or `"PaymentVoided"` for an event without fields) under `event_version` "1". Those rows
//! stay as they are (both stores refuse updates); [`decode`] upcasts them to the plain shape
//! first, so the executor, the feed and every projection read version 1 and later alike.
//!
//! Domain enums keep serde's derive: [`encode`] takes the enum's tag off and checks that it is
//! the event's `event_type`, and [`decode`] puts the stored `event_type` back on before
//! handing the object to serde. Variants without data are written `Variant {}` so that their
//! plain payload is `{}`.

use std::borrow::Cow;

use cqrs_es::{Aggregate, DomainEvent};
use serde::de::{self, Deserialize};
use serde_json::{Map, Value};

/// The version whose payloads carry serde's enum tag. Nothing is written in it any more.
pub const TAGGED_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("{event_type} v{version}: the payload does not decode: {source}")]
    Malformed {
        event_type: String,
        version: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{event_type}: '{version}' is not an event version")]
    BadVersion { event_type: String, version: String },
    #[error(
        "{event_type} v{stored} was written by a newer release (this one knows up to v{known}); \
         refusing to guess what it means"
    )]
    NewerVersion {
        event_type: String,
        stored: u32,
        known: u32,
    },
    #[error("{event_type} v1: expected a payload tagged '{event_type}', found {found}")]
    TagMismatch { event_type: String, found: String },
    #[error("{event_type}: the event serialized as tag '{tag}'; event_type() and the serde name must agree")]
    TypeMismatch { event_type: String, tag: String },
    #[error(
        "{event_type}: version {version} is the legacy tagged format; write version 2 or later"
    )]
    LegacyVersion { event_type: String, version: String },
    #[error("{event_type}: does not serialize: {source}")]
    Serialize {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// An event as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPayload {
    pub event_type: String,
    pub event_version: String,
    pub payload: Value,
}

fn parse_version(event_type: &str, version: &str) -> Result<u32, CodecError> {
    version
        .parse::<u32>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| CodecError::BadVersion {
            event_type: event_type.to_owned(),
            version: version.to_owned(),
        })
}

/// The plain payload of a stored event at any version, as the current release stores it.
/// Version 1 loses its serde tag; later versions are already plain. Borrowed where it can be:
/// every reader of every event goes through here.
pub fn upcast<'a>(
    event_type: &str,
    event_version: &str,
    payload: &'a Value,
) -> Result<Cow<'a, Value>, CodecError> {
    if parse_version(event_type, event_version)? != TAGGED_VERSION {
        return Ok(Cow::Borrowed(payload));
    }
    let mismatch = |found: String| CodecError::TagMismatch {
        event_type: event_type.to_owned(),
        found,
    };
    match payload {
        // A variant without fields was stored as its bare name.
        Value::String(tag) if tag == event_type => Ok(Cow::Owned(Value::Object(Map::new()))),
        Value::Object(map) if map.len() == 1 => match map.iter().next() {
            Some((tag, body)) if tag == event_type => Ok(Cow::Borrowed(body)),
            Some((tag, _)) => Err(mismatch(format!("'{tag}'"))),
            None => Err(mismatch("an empty object".to_owned())),
        },
        other => Err(mismatch(other.to_string())),
    }
}

/// Decodes a stored event of aggregate `A`, whatever version wrote it.
pub fn decode<A: Aggregate>(
    event_type: &str,
    event_version: &str,
    payload: &Value,
) -> Result<A::Event, CodecError> {
    let stored = parse_version(event_type, event_version)?;
    let plain = upcast(event_type, event_version, payload)?;
    let event = A::Event::deserialize(Tagged {
        tag: event_type,
        content: &plain,
    })
    .map_err(|source| CodecError::Malformed {
        event_type: event_type.to_owned(),
        version: event_version.to_owned(),
        source,
    })?;
    let known = parse_version(event_type, &event.event_version())?;
    if stored > known {
        return Err(CodecError::NewerVersion {
            event_type: event_type.to_owned(),
            stored,
            known,
        });
    }
    Ok(event)
}

/// A plain payload read as the variant `tag` of a serde enum, as if it were stored as
/// `{tag: content}`, without building (and copying the payload into) such an object.
struct Tagged<'a> {
    tag: &'a str,
    content: &'a Value,
}

impl<'de> de::Deserializer<'de> for Tagged<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("a stored event decodes as an enum"))
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

impl<'de> de::EnumAccess<'de> for Tagged<'de> {
    type Error = serde_json::Error;
    type Variant = Content<'de>;

    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self::Variant), Self::Error> {
        let tag = de::value::BorrowedStrDeserializer::<serde_json::Error>::new(self.tag);
        Ok((seed.deserialize(tag)?, Content(self.content)))
    }
}

/// The fields of a [`Tagged`] variant.
struct Content<'a>(&'a Value);

impl<'de> de::VariantAccess<'de> for Content<'de> {
    type Error = serde_json::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        match self.0 {
            Value::Null => Ok(()),
            Value::Object(fields) if fields.is_empty() => Ok(()),
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(&other.to_string()),
                &"a variant without fields",
            )),
        }
    }

    fn newtype_variant_seed<T: de::DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, Self::Error> {
        seed.deserialize(self.0)
    }

    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_seq(self.0, visitor)
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        de::Deserializer::deserialize_struct(self.0, "", fields, visitor)
    }
}

/// The stored form of `event`: its type, its current version and its plain payload.
pub fn encode<E: DomainEvent>(event: &E) -> Result<StoredPayload, CodecError> {
    let event_type = event.event_type();
    let event_version = event.event_version();
    if parse_version(&event_type, &event_version)? == TAGGED_VERSION {
        return Err(CodecError::LegacyVersion {
            event_type,
            version: event_version,
        });
    }
    let serialized = serde_json::to_value(event).map_err(|source| CodecError::Serialize {
        event_type: event_type.clone(),
        source,
    })?;
    let (tag, payload) = match serialized {
        Value::Object(map) if map.len() == 1 => map.into_iter().next().unwrap_or_default(),
        Value::String(tag) => (tag, Value::Object(Map::new())),
        other => (other.to_string(), Value::Null),
    };
    if tag != event_type {
        return Err(CodecError::TypeMismatch { event_type, tag });
    }
    Ok(StoredPayload {
        event_type,
        event_version,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Ev {
        Opened {
            size: u32,
        },
        Closed {},
        #[serde(rename = "Renamed")]
        NewName {},
    }

    impl DomainEvent for Ev {
        fn event_type(&self) -> String {
            match self {
                Ev::Opened { .. } => "Opened",
                Ev::Closed {} => "Closed",
                Ev::NewName {} => "Renamed",
            }
            .to_owned()
        }

        fn event_version(&self) -> String {
            "2".to_owned()
        }
    }

    #[derive(Debug, Default, Clone, Serialize, Deserialize)]
    struct Agg;

    impl Aggregate for Agg {
        const TYPE: &'static str = "agg";
        type Command = ();
        type Event = Ev;
        type Error = std::io::Error;
        type Services = ();

        async fn handle(
            &mut self,
            _: (),
            _: &(),
            _: &cqrs_es::event_sink::EventSink<Self>,
        ) -> Result<(), std::io::Error> {
            Ok(())
        }

        fn apply(&mut self, _: Ev) {}
    }

    #[test]
    fn new_events_are_stored_without_their_rust_name() {
        let stored = encode(&Ev::Opened { size: 3 }).unwrap();
        assert_eq!(stored.event_type, "Opened");
        assert_eq!(stored.event_version, "2");
        assert_eq!(stored.payload, json!({ "size": 3 }));
        assert_eq!(encode(&Ev::Closed {}).unwrap().payload, json!({}));
    }

    #[test]
    fn plain_payloads_decode_by_their_stored_type() {
        let event = decode::<Agg>("Opened", "2", &json!({ "size": 3 })).unwrap();
        assert_eq!(event, Ev::Opened { size: 3 });
        assert_eq!(
            decode::<Agg>("Closed", "2", &json!({})).unwrap(),
            Ev::Closed {}
        );
        assert_eq!(
            decode::<Agg>("Renamed", "2", &json!({})).unwrap(),
            Ev::NewName {}
        );
    }

    #[test]
    fn version_1_payloads_are_upcast_from_the_tagged_shape() {
        let tagged = json!({ "Opened": { "size": 3 } });
        assert_eq!(
            decode::<Agg>("Opened", "1", &tagged).unwrap(),
            Ev::Opened { size: 3 }
        );
        assert_eq!(
            decode::<Agg>("Closed", "1", &json!("Closed")).unwrap(),
            Ev::Closed {}
        );
    }

    #[test]
    fn a_version_1_payload_tagged_with_another_type_is_refused() {
        let error = decode::<Agg>("Opened", "1", &json!({ "Closed": {} })).unwrap_err();
        assert!(matches!(error, CodecError::TagMismatch { .. }), "{error}");
    }

    #[test]
    fn a_version_newer_than_this_release_knows_is_refused() {
        let error = decode::<Agg>("Opened", "3", &json!({ "size": 3 })).unwrap_err();
        assert!(matches!(error, CodecError::NewerVersion { .. }), "{error}");
        let error = decode::<Agg>("Opened", "x", &json!({ "size": 3 })).unwrap_err();
        assert!(matches!(error, CodecError::BadVersion { .. }), "{error}");
    }

    #[test]
    fn the_legacy_version_is_never_written_again() {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        enum Old {
            Opened {},
        }
        impl DomainEvent for Old {
            fn event_type(&self) -> String {
                "Opened".to_owned()
            }
            fn event_version(&self) -> String {
                "1".to_owned()
            }
        }
        assert!(matches!(
            encode(&Old::Opened {}),
            Err(CodecError::LegacyVersion { .. })
        ));
    }

    #[test]
    fn an_event_type_that_disagrees_with_its_serde_name_is_refused() {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        enum Odd {
            Opened {},
        }
        impl DomainEvent for Odd {
            fn event_type(&self) -> String {
                "WasOpened".to_owned()
            }
            fn event_version(&self) -> String {
                "2".to_owned()
            }
        }
        assert!(matches!(
            encode(&Odd::Opened {}),
            Err(CodecError::TypeMismatch { .. })
        ));
    }
}
