//! Identifiers: UUID newtypes so that a cart id can never be passed where a product id is meant.

use uuid::Uuid;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{value}' is not a valid {kind} (expected a UUID)")]
    Malformed { kind: &'static str, value: String },
}

/// Root of every name-based UUID this project derives. Never change it: derived ids are stored.
const PROJECT_NAMESPACE: Uuid = Uuid::from_u128(0x684b5685_d5f4_48b5_89c4_a66af9044ee0);

/// A UUID v5 derived from `namespace` and `parts`, stable across processes and releases.
///
/// Used for ids that must be recomputable from other ids (a cart line from its cart and SKU),
/// which makes retried commands land on the same entity. Each part is length-prefixed so that
/// `["ab", "c"]` and `["a", "bc"]` give different ids.
pub fn deterministic_uuid(namespace: &str, parts: &[&str]) -> Uuid {
    let scoped = Uuid::new_v5(&PROJECT_NAMESPACE, namespace.as_bytes());
    let mut name = String::new();
    for part in parts {
        name.push_str(&part.len().to_string());
        name.push(':');
        name.push_str(part);
    }
    Uuid::new_v5(&scoped, name.as_bytes())
}

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        // No `Default`: a made-up id would hide a missing one.
        #[allow(clippy::new_without_default)]
        impl $name {
            /// A fresh, time-ordered id (UUID v7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses any textual UUID form (hyphenated is what `Display` writes).
            pub fn parse(value: &str) -> Result<Self, IdError> {
                Uuid::parse_str(value).map(Self).map_err(|_| IdError::Malformed {
                    kind: $kind,
                    value: value.to_owned(),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Self::parse(value)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }
    };
}

uuid_id!(
    /// Identifies a product in the catalog.
    ProductId,
    "product id"
);
uuid_id!(
    /// Identifies a shopping cart.
    CartId,
    "cart id"
);
uuid_id!(
    /// Identifies a customer.
    CustomerId,
    "customer id"
);
uuid_id!(
    /// Identifies one line of a cart.
    LineId,
    "line id"
);
uuid_id!(
    /// Identifies a stock reservation; callers choose it so that a retry is recognised.
    ReservationId,
    "reservation id"
);
uuid_id!(
    /// Identifies a payment; deterministic when derived from the checkout that needs it.
    PaymentId,
    "payment id"
);
uuid_id!(
    /// Identifies one refund of a payment.
    RefundId,
    "refund id"
);
uuid_id!(
    /// Identifies an order.
    OrderId,
    "order id"
);
uuid_id!(
    /// Identifies a checkout (one attempt to turn a cart into an order).
    CheckoutId,
    "checkout id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_7_and_distinct() {
        let a = ProductId::new();
        let b = ProductId::new();
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn display_and_parse_round_trip() {
        let id = CartId::new();
        assert_eq!(CartId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(id.to_string().parse::<CartId>().unwrap(), id);
    }

    #[test]
    fn parse_rejects_garbage_and_names_the_kind() {
        let err = LineId::parse("not-a-uuid").unwrap_err();
        assert_eq!(
            err.to_string(),
            "'not-a-uuid' is not a valid line id (expected a UUID)"
        );
    }

    #[test]
    fn serializes_as_a_bare_uuid_string() {
        let uuid = Uuid::parse_str("0190f1d2-7a3b-7c4d-8e5f-0123456789ab").unwrap();
        let id = CustomerId::from_uuid(uuid);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"0190f1d2-7a3b-7c4d-8e5f-0123456789ab\"");
        assert_eq!(serde_json::from_str::<CustomerId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<CustomerId>("\"nope\"").is_err());
    }

    #[test]
    fn deterministic_uuid_is_stable_and_version_5() {
        let a = deterministic_uuid("cart-line", &["cart-1", "SKU-1"]);
        let b = deterministic_uuid("cart-line", &["cart-1", "SKU-1"]);
        assert_eq!(a, b);
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn deterministic_uuid_separates_namespaces_and_part_boundaries() {
        let base = deterministic_uuid("cart-line", &["ab", "c"]);
        assert_ne!(base, deterministic_uuid("cart-line", &["a", "bc"]));
        assert_ne!(base, deterministic_uuid("other", &["ab", "c"]));
        assert_ne!(base, deterministic_uuid("cart-line", &["abc"]));
    }
}
