//! `loadgen get` against a server that counts what it answers: the mode's counts agree with
//! the server's, errors are counted by status, and N connections are N kept-alive TCP
//! connections.

use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use loadgen::get::{self, GetArgs};

/// What the test server saw: requests answered, and from which client ports.
#[derive(Default)]
struct Seen {
    answered: AtomicU64,
    peers: Mutex<HashSet<SocketAddr>>,
}

/// Every fourth request (the 4th, 8th, ...) is answered 503, the others 200 with 100 bytes.
async fn answer(request: HttpRequest, seen: web::Data<Seen>) -> HttpResponse {
    if let Some(peer) = request.peer_addr() {
        seen.peers.lock().unwrap().insert(peer);
    }
    let n = seen.answered.fetch_add(1, Ordering::SeqCst) + 1;
    if n.is_multiple_of(4) {
        HttpResponse::ServiceUnavailable().finish()
    } else {
        HttpResponse::Ok().body(vec![b'x'; 100])
    }
}

fn args(url: String, connections: u64) -> GetArgs {
    GetArgs {
        url,
        connections,
        duration_secs: 1,
        warmup_secs: 0,
    }
}

#[actix_web::test]
async fn counts_agree_with_the_server_and_each_connection_is_kept_alive() {
    let seen = web::Data::new(Seen::default());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let data = seen.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/v1/products/{id}", web::get().to(answer))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);

    let report = get::run(&args(format!("http://{addr}/v1/products/p1"), 3))
        .await
        .unwrap();
    let answered = seen.answered.load(Ordering::SeqCst);
    handle.stop(true).await;

    // Without warm-up every answer counts but those that came after the deadline: at most
    // one per connection.
    let counted = report.requests + report.errors;
    assert!(report.requests > 10, "{report:?}");
    assert!(
        counted <= answered && answered - counted <= 3,
        "counted {counted}, the server answered {answered}"
    );
    let refused = answered / 4;
    assert_eq!(report.errors_by_kind.keys().collect::<Vec<_>>(), ["503"]);
    assert!(
        report.errors <= refused && refused - report.errors <= 3,
        "{} errors counted, {refused} answered 503",
        report.errors
    );
    assert_eq!(report.bytes_per_answer, 100);
    assert_eq!(report.latency_ms.count, report.requests);
    assert_eq!(report.measured_secs, "1.000");
    // Three connections, each reused for every request it sent.
    assert_eq!(seen.peers.lock().unwrap().len(), 3);
}

#[actix_web::test]
async fn a_server_that_is_not_there_gives_transport_errors_and_no_answers() {
    // A port that was free a moment ago.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let report = get::run(&args(format!("http://{addr}/"), 2)).await.unwrap();
    assert_eq!(report.requests, 0);
    assert_eq!(report.requests_per_s, "0.0");
    assert!(report.errors > 0);
    assert_eq!(
        report.errors_by_kind.keys().collect::<Vec<_>>(),
        ["transport"]
    );
}

#[actix_web::test]
async fn only_http_urls_are_taken() {
    for url in ["https://127.0.0.1/", "not a url"] {
        let error = get::run(&args(url.to_owned(), 1)).await.unwrap_err();
        assert!(error.contains("--url"), "{error}");
    }
}
