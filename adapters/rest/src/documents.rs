//! An order's documents: its invoice once paid, and a credit note per refund whose money went
//! back, as JSON and as a printable HTML page. Both are read from the order's events (through
//! its aggregate), never from a read model, so a document never lags the payment.

use actix_web::{get, web, HttpResponse};
use orders::documents::{self, CreditNote, DocumentError, Invoice};
use serde::Serialize;
use shared_kernel::{Money, RefundId};
use utoipa::ToSchema;

use crate::dto::MoneyDto;
use crate::http::{path_id, respond, Reply};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

/// One line of an invoice.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceLineDto {
    pub sku: String,
    pub title: String,
    pub quantity: u32,
    pub unit_price: MoneyDto,
    pub line_total: MoneyDto,
    /// The line's share of the promotion's discount.
    pub discount: MoneyDto,
    /// The rate the line was taxed at, in percent; `null` when the order charged no tax.
    pub tax_rate: Option<String>,
    /// The line's tax (zero without tax).
    pub tax: MoneyDto,
    /// The line without tax: `line_total - discount`, less `tax` when prices included it.
    pub net: MoneyDto,
    /// What the line cost: `net + tax`.
    pub gross: MoneyDto,
}

/// The invoice of a paid order. Its lines' `gross`, the shipping and (when it came on top)
/// the shipping's tax sum to `total`, which is what was paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceDto {
    pub order_id: String,
    /// The number the invoice is filed under, the order's (`#1042`); `null` for orders placed
    /// before numbers existed.
    pub number: Option<String>,
    /// RFC 3339: when the order was placed.
    pub date: String,
    pub currency: String,
    /// `null` once the shopper's personal data was erased.
    pub email: Option<String>,
    pub lines: Vec<InvoiceLineDto>,
    pub promotion_code: Option<String>,
    pub subtotal: MoneyDto,
    pub discount_total: MoneyDto,
    pub shipping_total: MoneyDto,
    /// The tax on the shipping (zero without tax).
    pub shipping_tax: MoneyDto,
    /// Whether the prices included the tax; `false` when it came on top or none was charged.
    pub taxes_included: bool,
    /// The lines' tax plus the shipping's: the sum of `tax_breakdown` (zero without tax).
    pub tax_total: MoneyDto,
    /// One entry per tax rate charged, lowest rate first; empty when no tax was charged.
    pub tax_breakdown: Vec<TaxLineDto>,
    pub total: MoneyDto,
    pub paid: MoneyDto,
}

/// Tax charged at one rate.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaxLineDto {
    /// The rate in percent, as a decimal string.
    pub rate: String,
    /// What was taxed at the rate, without its tax.
    pub taxable: MoneyDto,
    pub tax: MoneyDto,
}

fn breakdown(rates: &[orders::documents::TaxAtRate]) -> Vec<TaxLineDto> {
    rates
        .iter()
        .map(|at| TaxLineDto {
            rate: at.rate.normalize().to_string(),
            taxable: money(&at.taxable),
            tax: money(&at.tax),
        })
        .collect()
}

/// One line of a credit note.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteLineDto {
    pub sku: String,
    pub title: String,
    /// Units given back; zero for a refund of money only.
    pub quantity: u32,
    /// What was given back for the line, its tax included.
    pub amount: MoneyDto,
    /// The part of `amount` that was tax.
    pub tax: MoneyDto,
}

/// The credit note of a refund whose money went back: its lines and shipping sum to `total`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteDto {
    /// The refund's id, which the note is filed under.
    pub id: String,
    pub order_id: String,
    /// The number of the order and invoice the note credits (`#1042`).
    pub order_number: Option<String>,
    pub currency: String,
    pub reason: String,
    pub lines: Vec<CreditNoteLineDto>,
    /// What was given back of the shipping, its tax included.
    pub shipping: MoneyDto,
    /// The part of `shipping` that was tax.
    pub shipping_tax: MoneyDto,
    /// The tax in what the refund gave back: the sum of `tax_breakdown`.
    pub tax_total: MoneyDto,
    /// One entry per rate, lowest first; empty when the order charged no tax.
    pub tax_breakdown: Vec<TaxLineDto>,
    pub total: MoneyDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteList {
    pub data: Vec<CreditNoteDto>,
}

fn money(amount: &Money) -> MoneyDto {
    MoneyDto::from(amount)
}

impl From<&Invoice> for InvoiceDto {
    fn from(invoice: &Invoice) -> Self {
        InvoiceDto {
            order_id: invoice.order_id.to_string(),
            number: invoice.number.map(|n| n.to_string()),
            date: invoice.issued_for.to_rfc3339(),
            currency: invoice.currency.code().to_owned(),
            email: invoice.email.clone(),
            lines: invoice
                .lines
                .iter()
                .map(|line| InvoiceLineDto {
                    sku: line.sku.clone(),
                    title: line.title.clone(),
                    quantity: line.quantity,
                    unit_price: money(&line.unit_price),
                    line_total: money(&line.line_total),
                    discount: money(&line.discount),
                    tax_rate: line.tax_rate.map(|rate| rate.normalize().to_string()),
                    tax: money(&line.tax),
                    net: money(&line.net),
                    gross: money(&line.gross),
                })
                .collect(),
            promotion_code: invoice.promotion_code.clone(),
            subtotal: money(&invoice.subtotal),
            discount_total: money(&invoice.discount_total),
            shipping_total: money(&invoice.shipping_total),
            shipping_tax: money(&invoice.shipping_tax),
            taxes_included: invoice.prices_include_tax == Some(true),
            tax_total: money(&invoice.tax_total),
            tax_breakdown: breakdown(&invoice.tax_breakdown),
            total: money(&invoice.total),
            paid: money(&invoice.paid),
        }
    }
}

impl From<&CreditNote> for CreditNoteDto {
    fn from(note: &CreditNote) -> Self {
        CreditNoteDto {
            id: note.refund_id.to_string(),
            order_id: note.order_id.to_string(),
            order_number: note.order_number.map(|n| n.to_string()),
            currency: note.currency.code().to_owned(),
            reason: note.reason.clone(),
            lines: note
                .lines
                .iter()
                .map(|line| CreditNoteLineDto {
                    sku: line.sku.clone(),
                    title: line.title.clone(),
                    quantity: line.quantity,
                    amount: money(&line.amount),
                    tax: money(&line.tax),
                })
                .collect(),
            shipping: money(&note.shipping),
            shipping_tax: money(&note.shipping_tax),
            tax_total: money(&note.tax_total),
            tax_breakdown: breakdown(&note.tax_breakdown),
            total: money(&note.total),
        }
    }
}

impl From<DocumentError> for ApiError {
    fn from(error: DocumentError) -> Self {
        match error {
            DocumentError::NotFound => ApiError::NotFound { resource: "order" },
            other => ApiError::Document(other),
        }
    }
}

async fn loaded_order(state: &ApiState, raw: &str) -> Result<orders::Order, ApiError> {
    let id = path_id(raw, "id")?;
    let loaded = state.orders.orders().load(&id.to_string()).await?;
    if loaded.version == 0 {
        return Err(ApiError::NotFound { resource: "order" });
    }
    Ok(loaded.aggregate)
}

/// Text safe to put in HTML: `& < > " '` escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn shown(amount: &Money) -> String {
    escape(&format!("{} {}", amount.amount(), amount.currency().code()))
}

fn page(title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:2rem auto}}\
         table{{width:100%;border-collapse:collapse}}td,th{{padding:.3rem;border-bottom:1px solid #ccc;text-align:left}}\
         td.n,th.n{{text-align:right}}@media print{{body{{margin:0}}}}</style></head>\
         <body>{body}</body></html>\n"
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn row(label: &str, amount: &Money) -> String {
    format!(
        "<tr><td colspan=\"5\">{}</td><td class=\"n\">{}</td></tr>",
        escape(label),
        shown(amount)
    )
}

/// One row per tax rate: the tax, and what it was charged on.
fn tax_rows(body: &mut String, rates: &[orders::documents::TaxAtRate], included: Option<bool>) {
    let how = match included {
        Some(true) => "included ",
        _ => "",
    };
    for at in rates {
        body.push_str(&row(
            &format!(
                "Tax {how}at {} % on {}",
                at.rate.normalize(),
                shown(&at.taxable)
            ),
            &at.tax,
        ));
    }
}

fn invoice_html(invoice: &Invoice) -> String {
    let number = invoice
        .number
        .map_or_else(|| invoice.order_id.to_string(), |n| n.to_string());
    let mut body = format!(
        "<h1>Invoice {}</h1><p>Order {} of {}</p>",
        escape(&number),
        escape(&invoice.order_id.to_string()),
        escape(&invoice.issued_for.format("%Y-%m-%d").to_string())
    );
    if let Some(email) = &invoice.email {
        body.push_str(&format!("<p>Billed to {}</p>", escape(email)));
    }
    body.push_str(
        "<table><thead><tr><th>SKU</th><th>Item</th><th class=\"n\">Qty</th>\
         <th class=\"n\">Unit price</th><th class=\"n\">Discount</th><th class=\"n\">Amount</th>\
         </tr></thead><tbody>",
    );
    for line in &invoice.lines {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&line.sku),
            escape(&line.title),
            line.quantity,
            shown(&line.unit_price),
            shown(&line.discount),
            shown(&line.gross)
        ));
    }
    body.push_str("</tbody><tfoot>");
    body.push_str(&row("Subtotal", &invoice.subtotal));
    if let Some(code) = &invoice.promotion_code {
        body.push_str(&row(&format!("Discount ({code})"), &invoice.discount_total));
    }
    body.push_str(&row("Shipping", &invoice.shipping_total));
    tax_rows(
        &mut body,
        &invoice.tax_breakdown,
        invoice.prices_include_tax,
    );
    body.push_str(&row("Tax", &invoice.tax_total));
    body.push_str(&row("Total", &invoice.total));
    body.push_str(&row("Paid", &invoice.paid));
    body.push_str("</tfoot></table>");
    body
}

fn credit_note_html(note: &CreditNote) -> String {
    let credits = note
        .order_number
        .map_or_else(|| note.order_id.to_string(), |n| n.to_string());
    let mut body = format!(
        "<h1>Credit note {}</h1><p>Credits invoice {}: {}</p>",
        escape(&note.refund_id.to_string()),
        escape(&credits),
        escape(&note.reason)
    );
    body.push_str(
        "<table><thead><tr><th>SKU</th><th colspan=\"3\">Item</th><th class=\"n\">Qty</th>\
         <th class=\"n\">Amount</th></tr></thead><tbody>",
    );
    for line in &note.lines {
        body.push_str(&format!(
            "<tr><td>{}</td><td colspan=\"3\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(&line.sku),
            escape(&line.title),
            line.quantity,
            shown(&line.amount)
        ));
    }
    body.push_str("</tbody><tfoot>");
    body.push_str(&row("Shipping", &note.shipping));
    tax_rows(&mut body, &note.tax_breakdown, None);
    body.push_str(&row("Tax", &note.tax_total));
    body.push_str(&row("Total credited", &note.total));
    body.push_str("</tfoot></table>");
    body
}

/// The invoice of a paid order.
#[utoipa::path(
    get, path = "/v1/orders/{id}/invoice", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = InvoiceDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "order_not_paid: no invoice before the order is paid"),
    )
)]
#[get("/v1/orders/{id}/invoice")]
pub async fn get_invoice(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let order = loaded_order(&state, &id).await?;
            let invoice = documents::invoice(&order)?;
            Ok(Reply::ok(InvoiceDto::from(&invoice)))
        }
        .await,
    )
}

/// The invoice of a paid order as a printable HTML page.
#[utoipa::path(
    get, path = "/v1/orders/{id}/invoice/html", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = String, content_type = "text/html"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "order_not_paid"),
    )
)]
#[get("/v1/orders/{id}/invoice/html")]
pub async fn get_invoice_html(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    let result = async {
        let order = loaded_order(&state, &id).await?;
        Ok::<_, ApiError>(documents::invoice(&order)?)
    }
    .await;
    match result {
        Ok(invoice) => {
            let number = invoice
                .number
                .map_or_else(|| invoice.order_id.to_string(), |n| n.to_string());
            page(
                &format!("Invoice {}", escape(&number)),
                &invoice_html(&invoice),
            )
        }
        Err(error) => error.problem().to_response(),
    }
}

/// The credit notes of an order: one per refund whose money went back.
#[utoipa::path(
    get, path = "/v1/orders/{id}/credit-notes", tag = "orders",
    params(("id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, body = CreditNoteList),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders/{id}/credit-notes")]
pub async fn list_credit_notes(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let order = loaded_order(&state, &id).await?;
            let data = documents::credit_notes(&order)
                .iter()
                .map(CreditNoteDto::from)
                .collect();
            Ok(Reply::ok(CreditNoteList { data }))
        }
        .await,
    )
}

fn refund_id(raw: &str) -> Result<RefundId, ApiError> {
    path_id(raw, "refund_id").map(RefundId::from_uuid)
}

/// One credit note.
#[utoipa::path(
    get, path = "/v1/orders/{id}/credit-notes/{refund_id}", tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("refund_id" = uuid::Uuid, Path, description = "The refund the note is for"),
    ),
    responses(
        (status = 200, body = CreditNoteDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders/{id}/credit-notes/{refund_id}")]
pub async fn get_credit_note(
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (raw_order, raw_refund) = path.into_inner();
    respond(
        async {
            let order = loaded_order(&state, &raw_order).await?;
            let refund = refund_id(&raw_refund)?;
            let note = documents::credit_note(&order, refund)?;
            Ok(Reply::ok(CreditNoteDto::from(&note)))
        }
        .await,
    )
}

/// One credit note as a printable HTML page.
#[utoipa::path(
    get, path = "/v1/orders/{id}/credit-notes/{refund_id}/html", tag = "orders",
    params(
        ("id" = uuid::Uuid, Path, description = "Order id"),
        ("refund_id" = uuid::Uuid, Path, description = "The refund the note is for"),
    ),
    responses(
        (status = 200, body = String, content_type = "text/html"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/orders/{id}/credit-notes/{refund_id}/html")]
pub async fn get_credit_note_html(
    state: web::Data<ApiState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (raw_order, raw_refund) = path.into_inner();
    let result = async {
        let order = loaded_order(&state, &raw_order).await?;
        let refund = refund_id(&raw_refund)?;
        Ok::<_, ApiError>(documents::credit_note(&order, refund)?)
    }
    .await;
    match result {
        Ok(note) => page(
            &format!("Credit note {}", note.refund_id),
            &credit_note_html(&note),
        ),
        Err(error) => error.problem().to_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_order_cannot_break_out_of_the_page() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script> it's"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt; it&#39;s"
        );
    }
}
