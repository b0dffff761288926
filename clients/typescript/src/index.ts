// A typed storefront client for the commerce REST API: openapi-fetch over the types
// openapi-typescript generates from the served OpenAPI document (`src/schema.d.ts`, never
// edited by hand; `tests/client.sh` regenerates it and fails when it drifts).
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type Product = Schemas["ProductDto"];
export type Variant = Schemas["StorefrontVariantDto"];
export type Cart = Schemas["CartDto"];
export type CartLine = Schemas["CartLineDto"];
export type Address = Schemas["AddressDto"];
export type ShippingQuote = Schemas["ShippingQuoteDto"];
export type Checkout = Schemas["CheckoutDto"];
export type Order = Schemas["OrderDto"];
export type Money = Schemas["MoneyDto"];
/** Every 4xx and 5xx answer: RFC 9457 problem details with a stable `code`. */
export type Problem = Schemas["Problem"];

export type StorefrontClient = Client<paths>;

/**
 * A client for the server at `baseUrl` (empty: the page's own origin, as the demo
 * storefront uses it). Every path, parameter, body and answer is typed from the document.
 */
export function createStorefrontClient(baseUrl = "", fetchImpl?: typeof fetch): StorefrontClient {
  return createClient<paths>(fetchImpl ? { baseUrl, fetch: fetchImpl } : { baseUrl });
}

/** The header that opens a guest's cart and its checkout (ADR 0024). */
export function cartToken(token: string): { "X-Cart-Token": string } {
  return { "X-Cart-Token": token };
}

/** The header that opens a guest's order, answered by the completed checkout. */
export function orderToken(token: string): { "X-Order-Token": string } {
  return { "X-Order-Token": token };
}

/** The `If-Match` value that pins a cart at the version it was seen at. */
export function ifMatch(version: number): string {
  return `"${version}"`;
}

/** A fresh `Idempotency-Key`: random, so that only a retry of the same request repeats it. */
export function idempotencyKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
