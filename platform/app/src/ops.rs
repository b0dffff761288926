//! `commerce seed --demo` and `commerce config check`.

use std::io::{BufRead, BufReader};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};

use crate::config::{Settings, StoreArgs, StoreUrl};

/// `commerce seed --demo`: the demo catalog into an empty store, through the same use cases
/// as `serve`'s seeding. A store that already holds events is refused: seeding twice, or into
/// a shop, would create look-alike products beside real ones.
pub async fn seed_demo(store: StoreArgs) -> Result<String, String> {
    let settings = Settings::from_environment(store)?;
    let wired = crate::open(&settings).await.map_err(|e| e.to_string())?;
    if !wired.store_is_empty().await? {
        return Err(
            "the store already holds events: the demo catalog is seeded only into an empty store"
                .to_owned(),
        );
    }
    crate::demo::seed(&wired.api).await?;
    Ok(format!(
        "seeded the demo catalog: {} products, {} SKUs in stock",
        crate::demo::PRODUCTS,
        crate::demo::STOCKED
    ))
}

/// One line of `config check`'s report on a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    pub name: String,
    pub value: String,
    pub source: String,
}

/// Every setting of `serve` as `matches` (the `config check` subcommand's) resolved it, with
/// where its value came from; secrets masked, and passwords inside URLs too.
pub fn effective(matches: &ArgMatches) -> Vec<Effective> {
    let definitions = Settings::augment_args(clap::Command::new("check"));
    definitions
        .get_arguments()
        .filter(|arg| !matches!(arg.get_id().as_str(), "help" | "version"))
        .map(|arg| {
            let id = arg.get_id().as_str();
            let raw: Option<Vec<String>> = matches.get_raw(id).map(|values| {
                values
                    .map(|value| value.to_string_lossy().into_owned())
                    .collect()
            });
            let value = match raw {
                None => "-".to_owned(),
                Some(_) if arg.is_hide_env_values_set() => "********".to_owned(),
                Some(values) => values
                    .iter()
                    .map(|value| mask_url_password(value))
                    .collect::<Vec<_>>()
                    .join(","),
            };
            let env = arg.get_env().map(|env| env.to_string_lossy().into_owned());
            let source = match (matches.value_source(id), env) {
                (Some(ValueSource::EnvVariable), Some(env)) => format!("env {env}"),
                (Some(ValueSource::CommandLine), _) => "command line".to_owned(),
                (Some(ValueSource::DefaultValue), _) => "default".to_owned(),
                _ => "unset".to_owned(),
            };
            Effective {
                name: arg.get_long().unwrap_or(id).to_owned(),
                value,
                source,
            }
        })
        .collect()
}

/// `scheme://user:password@host/...` with the password replaced, and any `password=` query
/// parameter too. Anything else is returned as it is.
pub fn mask_url_password(value: &str) -> String {
    let mut masked = value.to_owned();
    if let Some(scheme_end) = masked.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = masked[rest_start..]
            .find(['/', '?', '#'])
            .map_or(masked.len(), |end| rest_start + end);
        if let Some(at) = masked[rest_start..authority_end].rfind('@') {
            let userinfo = &masked[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let password = rest_start + colon + 1..rest_start + at;
                masked.replace_range(password, "****");
            }
        }
    }
    if let Some(query) = masked.find('?') {
        let (head, tail) = masked.split_at(query + 1);
        let parameters: Vec<String> = tail
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=****"),
                _ => parameter.to_owned(),
            })
            .collect();
        masked = format!("{head}{}", parameters.join("&"));
    }
    masked
}

/// What `config check` found, one line each: a name, `ok` or `FAILED`, and what was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The checks: the settings `serve` would refuse, then the database and NATS answering.
pub async fn check(settings: &Settings) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut finding = |check, result: Result<String, String>| {
        findings.push(match result {
            Ok(detail) => Finding {
                check,
                ok: true,
                detail,
            },
            Err(detail) => Finding {
                check,
                ok: false,
                detail,
            },
        })
    };
    finding("secrets", check_secrets(settings));
    finding(
        "tax",
        settings
            .tax_table()
            .map(|table| match table {
                Some(_) => "rates parsed".to_owned(),
                None => "no tax charged".to_owned(),
            })
            .map_err(|e| e.to_string()),
    );
    finding("oidc", check_oidc(settings));
    finding("database", check_database(settings).await);
    finding("nats", check_nats(settings.nats_url.as_deref()));
    findings
}

fn check_secrets(settings: &Settings) -> Result<String, String> {
    let mut kept = Vec::new();
    for (variable, given) in [
        ("COMMERCE_TOKEN_SECRET", &settings.token_secret),
        ("COMMERCE_JWT_SECRET", &settings.jwt_secret),
    ] {
        if crate::config::given_secret(given.as_deref(), variable)?.is_none() {
            kept.push(variable);
        }
    }
    Ok(if kept.is_empty() {
        "both signing secrets set".to_owned()
    } else {
        format!(
            "{} unset: the secret kept in the store is used (set it in production)",
            kept.join(" and ")
        )
    })
}

fn check_oidc(settings: &Settings) -> Result<String, String> {
    match settings.oidc()? {
        None => Ok("no external issuer".to_owned()),
        Some((issuer, _, jwks)) => reqwest::Url::parse(jwks)
            .map(|_| format!("issuer {issuer}"))
            .map_err(|e| format!("COMMERCE_OIDC_JWKS_URL: {e}")),
    }
}

fn migrations(applied: Option<(i64, i64)>, embedded: usize) -> String {
    match applied {
        None => format!("no schema yet (this build migrates it: {embedded} migrations)"),
        Some((count, latest)) if usize::try_from(count).is_ok_and(|count| count < embedded) => {
            format!(
                "{count} of this build's {embedded} migrations (latest {latest}); `serve` or \
                 `migrate` applies the rest"
            )
        }
        Some((count, latest)) => format!("{count} migrations, the latest {latest}"),
    }
}

async fn check_database(settings: &Settings) -> Result<String, String> {
    match settings.store_url() {
        StoreUrl::Postgres(url) => {
            let (version, applied, _) = postgres_store::PostgresStore::probe(&url)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!(
                "PostgreSQL {version} answers at {}; {}",
                mask_url_password(&url),
                migrations(
                    applied,
                    postgres_store::PostgresStore::embedded_migrations()
                )
            ))
        }
        StoreUrl::Sqlite(path) => {
            let dir = &settings.store.data_dir;
            if dir.exists() && !dir.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            let (version, applied) = sqlite_store::SqliteStore::probe(&path)
                .await
                .map_err(|e| e.to_string())?;
            let schema = match applied {
                None => format!("no store yet at {}: `serve` creates it", path.display()),
                Some(_) => format!(
                    "{}; {}",
                    path.display(),
                    migrations(applied, sqlite_store::SqliteStore::embedded_migrations())
                ),
            };
            Ok(format!("embedded SQLite {version}: {schema}"))
        }
    }
}

/// Connects to the first server of `url` and reads the `INFO` line every NATS server sends
/// first: its version, and whether JetStream (which the relay needs) is on.
fn check_nats(url: Option<&str>) -> Result<String, String> {
    let Some(url) = url.map(str::trim).filter(|url| !url.is_empty()) else {
        return Ok("not configured (no relay)".to_owned());
    };
    let first = url.split(',').next().unwrap_or(url).trim();
    let without_scheme = first.split_once("://").map_or(first, |(_, rest)| rest);
    let host_port = without_scheme
        .rsplit_once('@')
        .map_or(without_scheme, |(_, rest)| rest)
        .trim_end_matches('/');
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:4222")
    };
    let shown = mask_url_password(first);
    let address = host_port
        .to_socket_addrs()
        .map_err(|e| format!("NATS at {shown}: {e}"))?
        .next()
        .ok_or_else(|| format!("NATS at {shown}: no address"))?;
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(3))
        .map_err(|e| format!("NATS at {shown} does not answer: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("NATS at {shown} sent nothing: {e}"))?;
    let info: serde_json::Value = line
        .strip_prefix("INFO ")
        .and_then(|json| serde_json::from_str(json.trim()).ok())
        .ok_or_else(|| format!("{shown} answered, but not as a NATS server"))?;
    let version = info["version"].as_str().unwrap_or("of unknown version");
    if info["jetstream"].as_bool() != Some(true) {
        return Err(format!(
            "NATS {version} at {shown} answers without JetStream, which the relay needs \
             (start it with -js)"
        ));
    }
    Ok(format!("NATS {version} answers at {shown}, JetStream on"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_and_nothing_else_is() {
        assert_eq!(
            mask_url_password("postgres://shop:s3cret@db:5432/shop"),
            "postgres://shop:****@db:5432/shop"
        );
        assert_eq!(
            mask_url_password("postgres://db/shop?user=shop&password=s3cret&sslmode=require"),
            "postgres://db/shop?user=shop&password=****&sslmode=require"
        );
        assert_eq!(
            mask_url_password("nats://user:p@ss@nats:4222"),
            "nats://user:****@nats:4222"
        );
        assert_eq!(
            mask_url_password("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
        assert_eq!(mask_url_password("127.0.0.1:8080"), "127.0.0.1:8080");
    }
}
