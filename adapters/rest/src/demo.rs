//! The demo storefront (issue 13, ADR 0048): a page, its script and its styles, embedded in
//! the binary so that the server needs no Node.js. The script is the bundle esbuild builds
//! from `clients/typescript/demo/main.ts` with the generated client; `tests/client.sh`
//! rebuilds it and fails when the committed bundle differs. Like `/docs`, these are pages,
//! not API operations: the OpenAPI document does not describe them.

use actix_web::{get, HttpResponse};

/// The page runs only this server's script and styles and talks only to this server.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; \
                      frame-ancestors 'none'";

/// A bundle rebuilt with the binary keeps its path, so browsers ask again each time.
const CACHE: &str = "no-cache";

const PAGE: &str = include_str!("../assets/demo/index.html");
const SCRIPT: &str = include_str!("../assets/demo/demo.js");
const STYLES: &str = include_str!("../assets/demo/demo.css");

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Content-Security-Policy", POLICY))
        .insert_header(("Cache-Control", CACHE))
        .body(body)
}

/// The demo storefront: browse, fill a cart, check out with a sandbox card.
#[get("/demo")]
pub async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", PAGE)
}

/// The storefront's script: the typed client and the page's code, bundled.
#[get("/demo/demo.js")]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The storefront's styles.
#[get("/demo/demo.css")]
pub async fn styles() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLES)
}
