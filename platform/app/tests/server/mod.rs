//! Runs the real `commerce` binary for tests that kill and restart it.

#![allow(dead_code)] // Each test file uses a part of it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub base: String,
}

/// A test that fails midway must not leave its server running (holding the port, and the
/// test run's output open).
impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `commerce serve` on `port` with its data in `data_dir`, quiet, on the embedded store
/// unless the caller sets `DATABASE_URL`.
pub fn command(data_dir: &Path, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_commerce"));
    command
        .arg("serve")
        .env("COMMERCE_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("COMMERCE_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        // Load and crash tests start many checkouts from one address; the limit has its own.
        .env("COMMERCE_CHECKOUT_RATE_PER_MINUTE", "0")
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .env_remove("COMMERCE_FAULT_KILL_AT")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    command
}

/// Spawns `command` (made by [`command`] for `port`) and waits until the server is ready.
pub async fn start(mut command: Command, port: u16) -> Server {
    let child = command.spawn().expect("the binary starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/health/ready")).send().await {
            if response.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

pub fn kill_9(mut server: Server) {
    server.child.kill().expect("SIGKILL sent");
    server.child.wait().expect("the process is gone");
}

/// A store command (`commerce <args>`, not `serve`) on the store `database_url` names, else on
/// the embedded one in `data_dir`. What the shell running the tests may have set that would
/// point it elsewhere or change what it does (another database, a NATS server, a journal, a
/// fault point) is removed; a test sets what it needs on the command it gets.
pub fn store_command(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_commerce"));
    command
        .args(args)
        .env("COMMERCE_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .env_remove("NATS_URL")
        .env_remove("COMMERCE_SANDBOX_JOURNAL")
        .env_remove("COMMERCE_FAULT_KILL_AT")
        .env_remove("COMMERCE_FAULT_PAUSE_AT");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// Runs [`store_command`] to its end.
pub fn run_store_command(args: &[&str], data_dir: &Path, database_url: Option<&str>) -> Output {
    store_command(args, data_dir, database_url)
        .output()
        .expect("the binary runs")
}

/// An API key holding every scope, issued with `commerce api-keys create` into the store the
/// server will use (`DATABASE_URL` when given, else the embedded one in `data_dir`): its id
/// and its secret.
pub fn api_key(data_dir: &Path, database_url: Option<&str>) -> (String, String) {
    let output = run_store_command(
        &["api-keys", "create", "--name", "tests", "--scope", "*"],
        data_dir,
        database_url,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "api-keys create failed: {stderr}");
    let id = stderr
        .split_whitespace()
        .nth(3)
        .expect("the key's id on standard error")
        .to_owned();
    let secret = String::from_utf8(output.stdout)
        .expect("a text secret")
        .trim()
        .to_owned();
    (id, secret)
}

/// A client that sends `key` with every request, as a staff tool does.
pub fn client(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).expect("a header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("a client")
}
