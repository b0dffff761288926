//! `commerce api-keys`: the staff side of ADR 0023, run against the configured store.
//!
//! `create` prints the secret alone on standard output, so that a shell can keep it
//! (`KEY=$(commerce api-keys create ...)`); everything meant for people goes to standard
//! error.

use accounts::Grants;
use shared_kernel::SystemClock;

use crate::config::ApiKeysCommand;

pub async fn api_keys(command: ApiKeysCommand) -> Result<(), String> {
    match command {
        ApiKeysCommand::Create {
            name,
            scopes,
            store,
        } => {
            if name.trim().is_empty() {
                return Err("--name must not be empty: say what the key is for".to_owned());
            }
            let grants = Grants::parse(&scopes.join(" ")).map_err(|error| error.to_string())?;
            let keys = crate::api_keys(&store).await.map_err(|e| e.to_string())?;
            let issued = application::api_keys::issue(keys.as_ref(), &SystemClock, &name, grants)
                .await
                .map_err(|error| error.to_string())?;
            eprintln!(
                "created API key {} ({}) with scopes: {}\n\
                 its secret follows; it is not stored and cannot be shown again",
                issued.key.id, issued.key.name, issued.key.grants
            );
            println!("{}", issued.secret);
            Ok(())
        }
        ApiKeysCommand::List { store } => {
            let keys = crate::api_keys(&store).await.map_err(|e| e.to_string())?;
            let listed = keys.list_keys().await.map_err(|error| error.to_string())?;
            println!("id\tname\tprefix\tscopes\tcreated_at\trevoked_at");
            for key in listed {
                println!(
                    "{}\t{}\t{}...\t{}\t{}\t{}",
                    key.id,
                    key.name,
                    key.prefix,
                    key.grants,
                    key.created_at.to_rfc3339(),
                    key.revoked_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".to_owned())
                );
            }
            Ok(())
        }
        ApiKeysCommand::Revoke { id, store } => {
            let keys = crate::api_keys(&store).await.map_err(|e| e.to_string())?;
            let now = shared_kernel::Clock::now(&SystemClock);
            if keys.revoke_key(id, now).await.map_err(|e| e.to_string())? {
                eprintln!("revoked API key {id}");
                Ok(())
            } else {
                Err(format!("no active API key {id}"))
            }
        }
    }
}
