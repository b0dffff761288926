// The storefront's first steps with the typed client: list the published products, create a
// guest cart and add an item, sending the cart token in `X-Cart-Token`. `tests/client.sh`
// compiles it with `tsc --strict` and runs it against a server.
import { cartToken, createStorefrontClient } from "./src/index";

export async function runExample(baseUrl: string): Promise<string> {
  const client = createStorefrontClient(baseUrl);

  const { data: products, error: listError } = await client.GET("/v1/products", {
    params: { query: { limit: 10 } },
  });
  if (listError) throw new Error(`listing products: ${listError.code}`);
  const variant = products.data
    .flatMap((product) => product.variants)
    .find((v) => v.in_stock);
  if (!variant) throw new Error("no product in stock");

  const { data: cart, error: cartError } = await client.POST("/v1/carts", {
    body: { currency: "EUR" },
  });
  if (cartError) throw new Error(`creating a cart: ${cartError.code}`);
  // Answered once, when the cart is created: every later call on the cart sends it.
  const token = cart.cart_token;
  if (!token) throw new Error("the new cart came without its token");

  const { data: filled, error: addError } = await client.POST("/v1/carts/{id}/items", {
    params: { path: { id: cart.id } },
    headers: cartToken(token),
    body: { sku: variant.sku, quantity: 2 },
  });
  if (addError) throw new Error(`adding ${variant.sku}: ${addError.code}`);

  const line = filled.lines[0];
  return `cart ${filled.id}: ${line?.quantity} x ${line?.title} (${variant.sku}), total ${filled.total.amount} ${filled.total.currency}`;
}
