//! Customers who log in with an external OpenID Connect provider (ADR 0028): its tokens are
//! checked against the keys it publishes, and each person it names is tied to one account.

use std::net::TcpListener;

use actix_web::{web, App, HttpResponse, HttpServer};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::app::{assert_problem, client_with_key, settings_for, spawn_with, Store, TestApp};

const ISSUER: &str = "https://id.example.test/";
const AUDIENCE: &str = "commerce-storefront";

/// A signing key of the provider: its private half, and its public half as a JWK.
struct ProviderKey {
    encoding: EncodingKey,
    jwk: Value,
    kid: String,
}

fn provider_key(kid: &str) -> ProviderKey {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    // An uncompressed P-256 point: 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    ProviderKey {
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        jwk: json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
        kid: kid.to_owned(),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn token(key: &ProviderKey, claims: Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding).unwrap()
}

fn claims(sub: &str, email: &str, verified: bool) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "email": email,
           "email_verified": verified, "name": "Ext Person",
           "iat": now(), "exp": now() + 300})
}

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    client_with_key(Some(token))
        .get(format!("{}/v1/me", app.base))
        .send()
        .await
        .unwrap()
}

async fn id_of(app: &TestApp, token: &str) -> String {
    let response = me(app, token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

async fn an_external_issuers_tokens_log_customers_in(store: Store) {
    // The provider publishes one key.
    let key = provider_key("k1");
    let jwks = json!({"keys": [key.jwk.clone()]});
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let jwks_url = format!("http://{}/jwks", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let jwks = jwks.clone();
        App::new().route(
            "/jwks",
            web::get().to(move || {
                let jwks = jwks.clone();
                async move { HttpResponse::Ok().json(jwks) }
            }),
        )
    })
    .workers(1)
    .shutdown_timeout(0)
    .listen(listener)
    .unwrap()
    .run();
    let provider = server.handle();
    tokio::spawn(server);

    let mut settings = settings_for(store).await;
    settings.oidc_issuer = Some(ISSUER.to_owned());
    settings.oidc_audience = Some(AUDIENCE.to_owned());
    settings.oidc_jwks_url = Some(jwks_url);
    let app = spawn_with(settings).await;

    // A person seen the first time gets an account with the email the provider verified.
    let first = token(&key, claims("person-1", "Ext@Example.com", true));
    let response = me(&app, &first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["email"], "ext@example.com");
    assert_eq!(profile["name"], "Ext Person");
    let ext_id = profile["id"].as_str().unwrap().to_owned();
    // The same person later is the same customer, whatever email the token carries now.
    let later = token(&key, claims("person-1", "other@example.com", true));
    assert_eq!(id_of(&app, &later).await, ext_id);
    // That account has no password: a password login never opens it.
    let login = client_with_key(None)
        .post(format!("{}/v1/auth/login", app.base))
        .json(&json!({"email": "ext@example.com", "password": "!"}))
        .send()
        .await
        .unwrap();
    assert_problem(login, 401, "invalid_credentials").await;

    // A person whose verified email has an account already is that customer; this system's
    // own tokens keep working beside the provider's.
    let session: Value = client_with_key(None)
        .post(format!("{}/v1/auth/register", app.base))
        .json(&json!({"email": "pw@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let own_id = session["customer"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        id_of(&app, session["access_token"].as_str().unwrap()).await,
        own_id
    );
    let linked = token(&key, claims("person-2", "pw@example.com", true));
    assert_eq!(id_of(&app, &linked).await, own_id);

    // Refused: an email the provider does not vouch for, another audience or issuer, an
    // expired token, a key the provider does not publish, a forged signature.
    let refusals = [
        token(&key, claims("person-3", "new@example.com", false)),
        token(&key, {
            let mut c = claims("person-1", "ext@example.com", true);
            c["aud"] = json!("someone-else");
            c
        }),
        token(&key, {
            let mut c = claims("person-1", "ext@example.com", true);
            c["iss"] = json!("https://evil.example.test/");
            c
        }),
        token(&key, {
            let mut c = claims("person-1", "ext@example.com", true);
            c["exp"] = json!(now() - 600);
            c
        }),
        token(
            &provider_key("k2"),
            claims("person-1", "ext@example.com", true),
        ),
        token(
            &provider_key("k1"),
            claims("person-1", "ext@example.com", true),
        ),
    ];
    for (n, refused) in refusals.iter().enumerate() {
        let response = me(&app, refused).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "refusal {n}");
        assert_problem(response, 401, "invalid_access_token").await;
    }

    provider.stop(false).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_issuers_tokens_log_customers_in_on_sqlite() {
    an_external_issuers_tokens_log_customers_in(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_issuers_tokens_log_customers_in_on_postgres() {
    an_external_issuers_tokens_log_customers_in(Store::Postgres).await;
}
