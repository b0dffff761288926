//! `ceiling`: the request ceiling of bare actix-web on this machine (BENCHMARKS.md, "Request
//! ceiling"). Answers `GET /v1/products/{id}`, whatever the id, with one fixed product as
//! JSON, of the shape and about the size the commerce server answers for a demo product, and
//! 404 to everything else. No middleware, no state, no database: what is left when the
//! server's work is taken away, so that `loadgen get` against both shows what the
//! framework alone allows and how much of it the server keeps.

use clap::Parser;

/// A demo product as `GET /v1/products/{id}` answers it (captured from the server with the
/// demo catalogue, stock levels filled in).
const PRODUCT: &str = include_str!("ceiling-product.json");

#[derive(Debug, Parser)]
#[command(name = "ceiling", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8095")]
    listen: std::net::SocketAddr,
    /// HTTP worker threads (default: actix-web's, one per core, as the server's).
    #[arg(long)]
    workers: Option<usize>,
}

#[actix_web::get("/v1/products/{id}")]
async fn product() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(PRODUCT)
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut server = actix_web::HttpServer::new(|| actix_web::App::new().service(product));
    if let Some(workers) = args.workers {
        server = server.workers(workers.max(1));
    }
    eprintln!("ceiling: listening on {}", args.listen);
    server.bind(args.listen)?.run().await
}
