//! `commerce api-keys`: the staff side of ADR 0023, run against the configured store.
//!
//! `create` prints the secret alone on standard output, so that a shell can keep it
//! (`KEY=$(commerce api-keys create ...)`); everything meant for people goes to standard
//! error.

use accounts::Grants;
use shared_kernel::SystemClock;

use crate::config::{ApiKeysCommand, ProjectionsCommand, StoreArgs};

/// Prints a line on standard output. A reader that went away (`commerce ... | head`) is no
/// error: it wants no more.
pub fn line(text: std::fmt::Arguments<'_>) -> Result<(), String> {
    use std::io::Write;
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing to standard output: {error}"))
        }
        _ => Ok(()),
    }
}

/// `commerce migrate`: the store applies what it lacks as it opens; this says where it stands.
pub async fn migrate(store: &StoreArgs) -> Result<(), String> {
    let (count, latest) = crate::migrate(store).await.map_err(|e| e.to_string())?;
    line(format_args!(
        "migrated: {count} migrations applied, the latest {latest}"
    ))?;
    Ok(())
}

/// `commerce projections list`: name, checkpoint (the feed cursor after its last event), and
/// lag, tab separated under a header.
pub async fn projections(command: ProjectionsCommand) -> Result<(), String> {
    match command {
        ProjectionsCommand::List { store } => {
            let states = crate::projections(&store)
                .await
                .map_err(|e| e.to_string())?;
            line(format_args!(
                "name\tcheckpoint\tevents_behind\tseconds_behind"
            ))?;
            for state in states {
                line(format_args!(
                    "{}\t{}\t{}\t{:.1}",
                    state.name,
                    state.checkpoint.to_token(),
                    state.events_behind,
                    state.seconds_behind
                ))?;
            }
            Ok(())
        }
        ProjectionsCommand::Rebuild {
            name,
            all,
            batch_size,
            store,
        } => {
            let chosen = crate::rebuild::chosen(name.as_deref(), all)?;
            crate::rebuild::rebuild(&store, chosen, batch_size as usize, |rebuilt| {
                let _ = line(format_args!(
                    "rebuilt {}: {} events, checkpoint {}",
                    rebuilt.name,
                    rebuilt.events,
                    rebuilt.checkpoint.to_token()
                ));
            })
            .await
        }
    }
}

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
            line(format_args!("{}", issued.secret))?;
            Ok(())
        }
        ApiKeysCommand::List { store } => {
            let keys = crate::api_keys(&store).await.map_err(|e| e.to_string())?;
            let listed = keys.list_keys().await.map_err(|error| error.to_string())?;
            line(format_args!(
                "id\tname\tprefix\tscopes\tcreated_at\trevoked_at"
            ))?;
            for key in listed {
                line(format_args!(
                    "{}\t{}\t{}...\t{}\t{}\t{}",
                    key.id,
                    key.name,
                    key.prefix,
                    key.grants,
                    key.created_at.to_rfc3339(),
                    key.revoked_at
                        .map(|at| at.to_rfc3339())
                        .unwrap_or_else(|| "-".to_owned())
                ))?;
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

/// `commerce health`: asks `url` (plain `http://host:port/path`) and succeeds only on a `200`
/// answer within two seconds. Blocking and dependency-free: a container's health check runs
/// it every few seconds, with no HTTP client in the image.
pub fn health(url: &str) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url} is not a plain http:// URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let address = authority
        .to_socket_addrs()
        .map_err(|e| format!("{authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&address, timeout).map_err(|e| format!("{url}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("{url}: {e}"))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("{url}: {e}"))?;
    // The status line, however many reads it arrives in (a server may send it in pieces).
    let mut head = Vec::with_capacity(128);
    let mut chunk = [0_u8; 128];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let read = stream.read(&mut chunk).map_err(|e| format!("{url}: {e}"))?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    let status_line = String::from_utf8_lossy(&head);
    let status = status_line
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("no answer");
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{url} answered {status}"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::health;

    /// A server that answers one request with `status`, and the request it got.
    fn answering(status: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health/ready", listener.local_addr().unwrap());
        let served = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // The whole request head, however many reads it takes.
            let mut request = Vec::new();
            let mut chunk = [0_u8; 256];
            while !request.ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut chunk).unwrap();
                if read == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..read]);
            }
            // The status line in two pieces, as a server may send it.
            stream.write_all(b"HTTP/1.1 ").unwrap();
            stream.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(20));
            write!(
                stream,
                "{status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
            .unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (url, served)
    }

    #[test]
    fn a_ready_server_is_healthy() {
        let (url, served) = answering("200 OK");
        assert_eq!(health(&url), Ok(()));
        assert!(served
            .join()
            .unwrap()
            .starts_with("GET /health/ready HTTP/1.1\r\n"));
    }

    #[test]
    fn a_server_that_is_not_ready_or_not_there_is_not_healthy() {
        let (url, served) = answering("503 Service Unavailable");
        assert_eq!(health(&url), Err(format!("{url} answered 503")));
        served.join().unwrap();
        // Port 1 is privileged and nothing listens there: refused. (A port bound and let go
        // here could be handed to another test's listener at once.)
        assert!(health("http://127.0.0.1:1/health/ready").is_err());
        assert!(health("https://example.com/health/ready").is_err());
    }
}
