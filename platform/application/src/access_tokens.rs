//! Guest access tokens (ADR 0024): a cart token for each cart, an order access token for each
//! order. Each is an HMAC of the resource's id under the server's token secret, so nothing is
//! stored to check one and no lookup is made: holding the token proves the caller was given
//! it. A cart's id is not a secret (it travels in published events); its token is.
//!
//! Rotating the secret (`COMMERCE_TOKEN_SECRET`) invalidates every token at once.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Bytes of the HMAC kept in a token: 192 bits.
const TOKEN_BYTES: usize = 24;

/// What a token gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Cart,
    Order,
}

impl Held {
    fn prefix(self) -> &'static str {
        match self {
            Held::Cart => "ct_",
            Held::Order => "ot_",
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            Held::Cart => b"cart:",
            Held::Order => b"order:",
        }
    }
}

/// Mints and checks guest tokens under one secret.
#[derive(Clone)]
pub struct AccessTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessTokens(..)")
    }
}

impl AccessTokens {
    /// Tokens under `secret` (any text; its SHA-256 is the HMAC key).
    pub fn new(secret: &str) -> Self {
        Self {
            key: Sha256::digest(secret.as_bytes()).into(),
        }
    }

    fn mac(&self, held: Held, id: Uuid) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(held.label());
        mac.update(id.as_bytes());
        mac
    }

    /// The token for `id`.
    pub fn token(&self, held: Held, id: Uuid) -> String {
        let digest = self.mac(held, id).finalize().into_bytes();
        format!("{}{}", held.prefix(), hex::encode(&digest[..TOKEN_BYTES]))
    }

    /// Whether `presented` is the token for `id`, compared in constant time.
    pub fn holds(&self, held: Held, id: Uuid, presented: &str) -> bool {
        let Some(hex_part) = presented.trim().strip_prefix(held.prefix()) else {
            return false;
        };
        match hex::decode(hex_part) {
            Ok(bytes) if bytes.len() == TOKEN_BYTES => {
                self.mac(held, id).verify_truncated_left(&bytes).is_ok()
            }
            _ => false,
        }
    }
}

/// A new random secret, for a store that has none yet.
pub fn random_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| error.to_string())?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_its_own_resource_only() {
        let tokens = AccessTokens::new("secret one");
        let (cart, other) = (Uuid::now_v7(), Uuid::now_v7());
        let token = tokens.token(Held::Cart, cart);
        assert!(token.starts_with("ct_") && token.len() == 3 + 48);
        assert!(tokens.holds(Held::Cart, cart, &token));
        assert!(!tokens.holds(Held::Cart, other, &token));
        // A cart's token is not its order's, even for the same id.
        assert!(!tokens.holds(Held::Order, cart, &token));
        let order_token = tokens.token(Held::Order, cart);
        assert!(order_token.starts_with("ot_"));
        assert!(!tokens.holds(Held::Order, cart, &format!("ot_{}", &token[3..])));
        assert!(tokens.holds(Held::Order, cart, &order_token));
    }

    #[test]
    fn another_secret_or_a_mangled_token_opens_nothing() {
        let (one, two) = (AccessTokens::new("one"), AccessTokens::new("two"));
        let cart = Uuid::now_v7();
        let token = one.token(Held::Cart, cart);
        assert!(!two.holds(Held::Cart, cart, &token));
        let mut flipped = token.clone();
        let last = if token.ends_with('0') { "1" } else { "0" };
        flipped.replace_range(token.len() - 1.., last);
        for bad in [
            "",
            "ct_",
            &token[..token.len() - 2],
            &format!("{token}00"),
            &flipped,
            &token.replace("ct_", "CT_"),
            "ct_zz",
        ] {
            assert!(!one.holds(Held::Cart, cart, bad), "{bad:?} was accepted");
        }
    }

    #[test]
    fn random_secrets_differ() {
        assert_ne!(random_secret().unwrap(), random_secret().unwrap());
    }
}
