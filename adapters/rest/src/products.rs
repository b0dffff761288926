//! Catalog routes: the storefront reads the published-products read model; the admin routes
//! command the `Product` aggregate. Admin routes are unauthenticated until the accounts issue.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use std::collections::HashMap;

use application::{CreateProductError, STOCK_LEVELS_VIEW, STOREFRONT_VIEW};
use catalog::views::ProductView;
use catalog::{NewVariant, ProductCommand};
use inventory::StockLevelView;
use runtime::ListQuery;
use shared_kernel::ProductId;

use crate::dto::{
    AdminProductDto, CreateProductRequest, MoneyDto, ProductDto, ProductList, TaxClassRequest,
    WeightRequest,
};
use crate::http::{
    command_reply, id_for_request, idempotent, json_body, metadata, path_id, respond, ListParams,
    Reply,
};
use crate::problem::{ApiError, Problem};
use crate::ApiState;

const ADMIN: &str = "admin";

/// List published products.
#[utoipa::path(
    get, path = "/v1/products", tag = "storefront",
    params(ListParams),
    responses(
        (status = 200, body = ProductList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/products")]
pub async fn list_products(
    state: web::Data<ApiState>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    respond(list(&state, &params).await)
}

async fn list(state: &ApiState, params: &ListParams) -> Result<Reply, ApiError> {
    let page = params.page()?;
    let mut rows = state
        .read_models
        .list(
            ListQuery::new(STOREFRONT_VIEW, page.limit + 1)
                .starting_after(page.starting_after.as_deref()),
        )
        .await?;
    let has_more = rows.len() > page.limit;
    rows.truncate(page.limit);
    let views = rows
        .into_iter()
        .map(|(_, body)| serde_json::from_value::<ProductView>(body))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Unavailable(format!("unreadable product view: {e}")))?;
    let available = availability(state, &views).await?;
    let data = views
        .into_iter()
        .map(|view| ProductDto::from_view(view, &available))
        .collect();
    Ok(Reply::ok(ProductList { data, has_more }))
}

/// Available units per SKU of `views`, from the stock-levels read model in one query.
async fn availability(
    state: &ApiState,
    views: &[ProductView],
) -> Result<HashMap<String, u64>, ApiError> {
    let skus: Vec<String> = views
        .iter()
        .flat_map(|view| view.variants.iter().map(|v| v.sku.clone()))
        .collect();
    let levels = state.read_models.get_many(STOCK_LEVELS_VIEW, &skus).await?;
    levels
        .into_iter()
        .map(|(sku, body)| {
            serde_json::from_value::<StockLevelView>(body)
                .map(|level| (sku, level.available))
                .map_err(|e| ApiError::Unavailable(format!("unreadable stock level: {e}")))
        })
        .collect()
}

/// Get a published product.
#[utoipa::path(
    get, path = "/v1/products/{id}", tag = "storefront",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses(
        (status = 200, body = ProductDto),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/products/{id}")]
pub async fn get_product(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(storefront_product(&state, &id).await)
}

async fn storefront_product(state: &ApiState, raw_id: &str) -> Result<Reply, ApiError> {
    let id = path_id(raw_id, "id")?;
    let body = state
        .read_models
        .get(STOREFRONT_VIEW, &id.to_string())
        .await?
        .ok_or(ApiError::NotFound {
            resource: "product",
        })?;
    let view: ProductView = serde_json::from_value(body)
        .map_err(|e| ApiError::Unavailable(format!("unreadable product view: {e}")))?;
    let available = availability(state, std::slice::from_ref(&view)).await?;
    Ok(Reply::ok(ProductDto::from_view(view, &available)))
}

/// Create a product (admin). Every SKU must be unique across the catalog.
#[utoipa::path(
    post, path = "/v1/admin/products", tag = "admin",
    request_body = CreateProductRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Makes retries safe")),
    responses(
        (status = 201, body = AdminProductDto, headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/admin/products")]
pub async fn create_product(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let input: CreateProductRequest = json_body(&request, &body)?;
        let mut variants = Vec::with_capacity(input.variants.len());
        for (index, variant) in input.variants.iter().enumerate() {
            let prices = variant
                .prices
                .iter()
                .enumerate()
                .map(|(i, p)| p.to_money(&format!("variants[{index}].prices[{i}]")))
                .collect::<Result<Vec<_>, _>>()?;
            variants.push(NewVariant {
                sku: variant.sku.clone(),
                name: variant.name.clone(),
                prices,
                weight_grams: variant.weight_grams,
            });
        }
        // With an Idempotency-Key, a retry after a failure between creating and publishing
        // finds the product it already created and only publishes it.
        let product_id = ProductId::from_uuid(id_for_request(&request, "product", ""));
        let meta = metadata(ADMIN);
        let existing = state
            .catalog
            .products()
            .load(&product_id.to_string())
            .await?;
        let mut executed = if existing.version > 0 {
            runtime::Executed {
                version: existing.version,
                events_appended: 0,
                state: existing.aggregate,
            }
        } else {
            let command = ProductCommand::CreateProduct {
                product_id,
                title: input.title,
                description: input.description,
                variants,
                tax_class: input.tax_class,
            };
            state
                .catalog
                .create_product(command, &meta)
                .await
                .map_err(|error| match error {
                    CreateProductError::Rejected(e) => ApiError::Catalog(e),
                    CreateProductError::Conflict => ApiError::Conflict,
                    CreateProductError::Infrastructure(e) => ApiError::Unavailable(e),
                })?
        };
        if input.publish {
            executed = state
                .catalog
                .products()
                .execute(
                    &product_id.to_string(),
                    ProductCommand::PublishProduct,
                    Some(executed.version),
                    &meta,
                )
                .await?;
        }
        let dto = AdminProductDto::from_product(&executed.state, executed.version);
        Ok(Reply::created(dto, format!("/v1/admin/products/{product_id}")).etag(executed.version))
    })
    .await
}

/// Get any product, drafts included (admin).
#[utoipa::path(
    get, path = "/v1/admin/products/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses(
        (status = 200, body = AdminProductDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/admin/products/{id}")]
pub async fn get_admin_product(state: web::Data<ApiState>, id: web::Path<String>) -> HttpResponse {
    respond(
        async {
            let id = path_id(&id, "id")?;
            let loaded = state.catalog.products().load(&id.to_string()).await?;
            if loaded.version == 0 {
                return Err(ApiError::NotFound {
                    resource: "product",
                });
            }
            let dto = AdminProductDto::from_product(&loaded.aggregate, loaded.version);
            Ok(Reply::ok(dto).etag(loaded.version))
        }
        .await,
    )
}

/// Set a variant's price in one currency (admin). Honours If-Match.
#[utoipa::path(
    put, path = "/v1/admin/products/{id}/variants/{sku}/price", tag = "admin",
    request_body = MoneyDto,
    params(
        ("id" = uuid::Uuid, Path, description = "Product id"),
        ("sku" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "Variant SKU"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = AdminProductDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/admin/products/{id}/variants/{sku}/price")]
pub async fn change_price(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (raw_id, sku) = path.into_inner();
        let id = path_id(&raw_id, "id")?;
        let price: MoneyDto = json_body(&request, &body)?;
        let command = ProductCommand::ChangeVariantPrice {
            sku,
            price: price.to_money("price")?,
        };
        product_command(&state, &request, id, command).await
    })
    .await
}

/// Set the weight of one unit of a variant, in whole grams, or make it unknown with `null`
/// (admin). Carts keep the weight their lines captured. Honours If-Match.
#[utoipa::path(
    put, path = "/v1/admin/products/{id}/variants/{sku}/weight", tag = "admin",
    request_body = WeightRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Product id"),
        ("sku" = String, Path, pattern = "^[A-Za-z0-9._-]{1,64}$", description = "Variant SKU"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = AdminProductDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/admin/products/{id}/variants/{sku}/weight")]
pub async fn change_weight(
    state: web::Data<ApiState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let (raw_id, sku) = path.into_inner();
        let id = path_id(&raw_id, "id")?;
        let input: WeightRequest = json_body(&request, &body)?;
        let command = ProductCommand::ChangeVariantWeight {
            sku,
            weight_grams: input.weight_grams,
        };
        product_command(&state, &request, id, command).await
    })
    .await
}

/// Set the product's tax class, or tax it at the standard rate with `null` (admin). Carts
/// keep the class their lines captured. Honours If-Match.
#[utoipa::path(
    put, path = "/v1/admin/products/{id}/tax-class", tag = "admin",
    request_body = TaxClassRequest,
    params(
        ("id" = uuid::Uuid, Path, description = "Product id"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|\"[0-9]{1,19}\")$", description = "Expected ETag"),
    ),
    responses(
        (status = 200, body = AdminProductDto, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/v1/admin/products/{id}/tax-class")]
pub async fn change_tax_class(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        let input: TaxClassRequest = json_body(&request, &body)?;
        let command = ProductCommand::ChangeTaxClass {
            tax_class: input.tax_class,
        };
        product_command(&state, &request, id, command).await
    })
    .await
}

/// Publish a product so that shoppers can see and buy it (admin).
#[utoipa::path(
    post, path = "/v1/admin/products/{id}/publish", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses((status = 200, body = AdminProductDto), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/v1/admin/products/{id}/publish")]
pub async fn publish(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        product_command(&state, &request, id, ProductCommand::PublishProduct).await
    })
    .await
}

/// Withdraw a product from the storefront (admin).
#[utoipa::path(
    post, path = "/v1/admin/products/{id}/unpublish", tag = "admin",
    params(("id" = uuid::Uuid, Path, description = "Product id")),
    responses((status = 200, body = AdminProductDto), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/v1/admin/products/{id}/unpublish")]
pub async fn unpublish(
    state: web::Data<ApiState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    idempotent(&state, &request, &body, || async {
        let id = path_id(&id, "id")?;
        product_command(&state, &request, id, ProductCommand::UnpublishProduct).await
    })
    .await
}

async fn product_command(
    state: &ApiState,
    request: &HttpRequest,
    id: uuid::Uuid,
    command: ProductCommand,
) -> Result<Reply, ApiError> {
    let products = state.catalog.products().as_ref();
    let id = id.to_string();
    command_reply(
        products,
        request,
        ADMIN,
        &id,
        command,
        AdminProductDto::from_product,
    )
    .await
}
