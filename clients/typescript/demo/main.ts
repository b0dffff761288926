// The demo storefront served at /demo: plain DOM code over the typed client. It lists the
// published products, fills a guest cart, sets where it ships, checks out with a sandbox
// card, waits for the checkout to finish and shows the order. Whatever goes wrong is said
// as a shopper would read it, never as the API's JSON. Bundled by esbuild into
// adapters/rest/assets/demo/demo.js (`npm run bundle`; tests/client.sh checks the bundle).
import {
  cartToken,
  createStorefrontClient,
  idempotencyKey,
  ifMatch,
  orderToken,
  type Address,
  type Cart,
  type Checkout,
  type Money,
  type Order,
  type Problem,
  type Product,
  type Variant,
} from "../src/index";

const CURRENCY = "EUR";
/** At or below this many units, a variant says how many are left. */
const FEW_LEFT = 5;

const api = createStorefrontClient();

interface State {
  products: Product[];
  cart: Cart | null;
  token: string | null;
  busy: boolean;
}

const state: State = { products: [], cart: null, token: null, busy: false };

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

/** An element with text content only: nothing the API answers is ever parsed as HTML. */
function make<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function money(value: Money): string {
  const amount = Number(value.amount);
  try {
    return new Intl.NumberFormat("en-IE", { style: "currency", currency: value.currency }).format(
      amount,
    );
  } catch {
    return `${value.amount} ${value.currency}`;
  }
}

function priceOf(variant: Variant): Money | undefined {
  return variant.prices.find((price) => price.currency === CURRENCY);
}

function variantBySku(sku: string): { product: Product; variant: Variant } | undefined {
  for (const product of state.products) {
    const variant = product.variants.find((v) => v.sku === sku);
    if (variant) return { product, variant };
  }
  return undefined;
}

/** What a shopper reads about a variant's stock. */
export function availability(available: number): { text: string; level: "out" | "low" | "ok" } {
  if (available <= 0) return { text: "Out of stock", level: "out" };
  if (available <= FEW_LEFT) return { text: `Only ${available} left`, level: "low" };
  return { text: `In stock (${available})`, level: "ok" };
}

// ---------- messages ----------

/** The sentence a shopper reads for a refused request, by the problem's stable code. */
export function problemMessage(problem: Problem | undefined, doing: string): string {
  if (!problem) return `We could not ${doing}. Please try again.`;
  switch (problem.code) {
    case "validation_failed": {
      const fields = (problem.errors ?? []).map((e) => e.field.replace(/_/g, " "));
      return fields.length > 0
        ? `Please check: ${fields.join(", ")}.`
        : "Please check what you entered.";
    }
    case "not_purchasable":
    case "unknown_sku":
      return "Sorry, that product is not for sale.";
    case "not_allowed":
      return "This cart is being checked out and cannot change now.";
    case "version_mismatch":
      return "Your cart changed in another window; it is shown as it is now. Please try again.";
    case "tax_rate_missing":
      return "Sorry, we do not ship to that country yet.";
    case "shipping_method_not_offered":
      return "Please choose one of the shipping options offered for your address.";
    case "rate_limited":
      return "Too many attempts in a short time. Please wait a moment and try again.";
    default:
      if (problem.status >= 500) return "Something went wrong on our side. Please try again.";
      return `We could not ${doing}. Please try again.`;
  }
}

/** The sentence a shopper reads when the checkout failed, by its failure code. */
export function failureMessage(checkout: Checkout): string {
  const reason = checkout.failure?.message?.trim();
  switch (checkout.failure?.code) {
    case "payment_declined": {
      // The provider's reason, written for shoppers, when it says more than the headline.
      const more = reason && !/^your card was declined\.?$/i.test(reason) ? ` ${reason}` : "";
      return `Your card was declined.${more} No payment was taken; try another card.`;
    }
    case "out_of_stock":
      return `${reason ?? "Some items are no longer available in the quantity you asked for."} Your cart shows what is left.`;
    case "payment_timeout":
      return "We could not reach the payment provider in time. No payment was taken; please try again.";
    default:
      return reason ?? "Your order could not be placed. Please try again.";
  }
}

function notify(message: string | null, kind: "error" | "info" = "error"): void {
  const notice = element("notice");
  notice.hidden = message === null;
  notice.className = kind === "info" ? "info" : "";
  notice.textContent = message ?? "";
}

// ---------- products ----------

async function loadProducts(): Promise<void> {
  const products: Product[] = [];
  let after: string | undefined;
  for (;;) {
    const { data, error } = await api.GET("/v1/products", {
      params: { query: after ? { limit: 100, starting_after: after } : { limit: 100 } },
    });
    if (error || !data) {
      element("products-status").textContent = problemMessage(error, "load the products");
      return;
    }
    products.push(...data.data);
    const last = data.data[data.data.length - 1];
    if (!data.has_more || !last) break;
    after = last.id;
  }
  state.products = products;
  element("products-status").textContent =
    products.length === 0 ? "No products are for sale yet." : "";
  renderProducts();
}

function renderProducts(): void {
  const list = element<HTMLUListElement>("product-list");
  list.replaceChildren();
  for (const product of state.products) {
    const item = make("li", undefined, "product");
    item.append(make("h3", product.title), make("p", product.description));
    for (const variant of product.variants) {
      const row = make("div", undefined, "variant");
      row.dataset.sku = variant.sku;
      const price = priceOf(variant);
      const stock = availability(variant.available);
      const add = make("button", "Add to cart");
      add.type = "button";
      add.disabled = stock.level === "out" || !price;
      add.setAttribute("aria-label", `Add ${product.title} ${variant.name ?? ""} to cart`.trim());
      add.addEventListener("click", () => void addToCart(variant.sku));
      row.append(
        make("span", variant.name ?? variant.sku, "name"),
        make("span", price ? money(price) : "Not sold in EUR", "price"),
        make("span", stock.text, `stock ${stock.level}`),
        add,
      );
      item.append(row);
    }
    list.append(item);
  }
}

// ---------- cart ----------

async function ensureCart(): Promise<boolean> {
  if (state.cart && state.token && state.cart.status === "open") return true;
  const { data, error } = await api.POST("/v1/carts", { body: { currency: CURRENCY } });
  if (error || !data || !data.cart_token) {
    notify(problemMessage(error, "start a cart"));
    return false;
  }
  state.cart = data;
  state.token = data.cart_token;
  return true;
}

/** Runs one change at a time, with the buttons off meanwhile, and shows what it refused. */
async function busy(work: () => Promise<void>): Promise<void> {
  if (state.busy) return;
  state.busy = true;
  document.body.classList.add("busy");
  try {
    await work();
  } catch {
    notify("We could not reach the shop. Check your connection and try again.");
  } finally {
    state.busy = false;
    document.body.classList.remove("busy");
  }
}

function addToCart(sku: string): Promise<void> {
  return busy(async () => {
    notify(null);
    hideOrder();
    if (!(await ensureCart()) || !state.cart || !state.token) return;
    const { data, error } = await api.POST("/v1/carts/{id}/items", {
      params: { path: { id: state.cart.id } },
      headers: cartToken(state.token),
      body: { sku, quantity: 1 },
    });
    if (error || !data) {
      notify(problemMessage(error, "add that to your cart"));
      return;
    }
    state.cart = data;
    renderCart();
  });
}

async function reloadCart(): Promise<void> {
  if (!state.cart || !state.token) return;
  const { data } = await api.GET("/v1/carts/{id}", {
    params: { path: { id: state.cart.id } },
    headers: cartToken(state.token),
  });
  if (data) state.cart = data;
}

function changeQuantity(lineId: string, quantity: number): Promise<void> {
  return busy(async () => {
    notify(null);
    if (!state.cart || !state.token) return;
    if (!Number.isInteger(quantity) || quantity < 1 || quantity > 999) {
      notify("Please choose a quantity from 1 to 999.");
      renderCart();
      return;
    }
    const { data, error } = await api.PATCH("/v1/carts/{id}/items/{line_id}", {
      params: {
        path: { id: state.cart.id, line_id: lineId },
        header: { "If-Match": ifMatch(state.cart.version) },
      },
      headers: cartToken(state.token),
      body: { quantity },
    });
    if (error || !data) {
      notify(problemMessage(error, "change the quantity"));
      await reloadCart();
    } else {
      state.cart = data;
    }
    renderCart();
  });
}

function removeLine(lineId: string): Promise<void> {
  return busy(async () => {
    notify(null);
    if (!state.cart || !state.token) return;
    const { data, error } = await api.DELETE("/v1/carts/{id}/items/{line_id}", {
      params: { path: { id: state.cart.id, line_id: lineId } },
      headers: cartToken(state.token),
    });
    if (error || !data) {
      notify(problemMessage(error, "remove that item"));
      await reloadCart();
    } else {
      state.cart = data;
    }
    renderCart();
  });
}

/** What the shopper should know about a line's stock, from the last product listing. */
function lineWarning(sku: string, quantity: number): string | null {
  const known = variantBySku(sku);
  if (!known || known.variant.available >= quantity) return null;
  return known.variant.available <= 0 ? "Out of stock" : `Only ${known.variant.available} left`;
}

function totalsRow(label: string, value: Money, className?: string): HTMLTableRowElement {
  const row = make("tr", undefined, className);
  const name = make("td", label);
  name.colSpan = 2;
  row.append(name, make("td", money(value), "num"));
  return row;
}

function renderCart(): void {
  const container = element("cart");
  const form = element<HTMLFormElement>("checkout");
  const cart = state.cart;
  if (!cart || cart.lines.length === 0) {
    container.replaceChildren(make("p", "Your cart is empty."));
    form.hidden = true;
    return;
  }
  const table = make("table");
  table.id = "cart-lines";
  const head = make("tr");
  head.append(make("th", "Item"), make("th", "Qty"), make("th", "Total", "num"));
  table.append(head);
  for (const line of cart.lines) {
    const row = make("tr");
    row.dataset.sku = line.sku;
    const item = make("td");
    item.append(make("div", line.title), make("small", line.sku));
    const warning = lineWarning(line.sku, line.quantity);
    if (warning) item.append(make("div", warning, "line-warning"));
    const qty = make("td");
    const input = make("input");
    input.type = "number";
    input.min = "1";
    input.max = "999";
    input.value = String(line.quantity);
    input.setAttribute("aria-label", `Quantity of ${line.title}`);
    input.addEventListener("change", () => void changeQuantity(line.id, Number(input.value)));
    const remove = make("button", "Remove", "link");
    remove.type = "button";
    remove.addEventListener("click", () => void removeLine(line.id));
    qty.append(input, remove);
    row.append(item, qty, make("td", money(line.line_total), "num"));
    table.append(row);
  }
  table.append(totalsRow("Subtotal", cart.subtotal, "totals"));
  if (Number(cart.discount_total.amount) > 0) table.append(totalsRow("Discount", cart.discount_total));
  if (cart.shipping_method) table.append(totalsRow(`Shipping (${cart.shipping_method.name})`, cart.shipping_total));
  if (Number(cart.tax_total.amount) > 0) {
    table.append(totalsRow(cart.taxes_included ? "Tax included" : "Tax", cart.tax_total));
  }
  table.append(totalsRow("Total", cart.total, "total"));
  container.replaceChildren(table);
  form.hidden = false;
}

// ---------- checkout ----------

function field(form: HTMLFormElement, name: string): string {
  const value = new FormData(form).get(name);
  return typeof value === "string" ? value.trim() : "";
}

function addressFrom(form: HTMLFormElement): Address {
  return {
    name: field(form, "name"),
    line1: field(form, "line1"),
    city: field(form, "city"),
    postal_code: field(form, "postal_code"),
    // The select offers only countries the document lists.
    country: field(form, "country") as Address["country"],
  };
}

/**
 * Sets the cart's address, then its shipping: the only option offered is taken; with several,
 * the shopper's pick (asked for first). False when the shopper has something to do.
 */
async function prepareShipping(form: HTMLFormElement): Promise<boolean> {
  if (!state.cart || !state.token) return false;
  const headers = cartToken(state.token);
  const path = { id: state.cart.id };
  const placed = await api.PUT("/v1/carts/{id}/shipping-address", {
    params: { path },
    headers,
    body: addressFrom(form),
  });
  if (placed.error || !placed.data) {
    notify(problemMessage(placed.error, "use that address"));
    return false;
  }
  state.cart = placed.data;
  const offered = await api.GET("/v1/carts/{id}/shipping-options", { params: { path }, headers });
  if (offered.error || !offered.data) {
    notify(problemMessage(offered.error, "find shipping for that address"));
    return false;
  }
  const options = offered.data.data;
  const fieldset = element<HTMLFieldSetElement>("shipping");
  if (options.length === 0) {
    // This shop ships without a method to choose.
    fieldset.hidden = true;
    renderCart();
    return true;
  }
  const chosen = new FormData(form).get("shipping_option");
  const pick =
    options.length === 1 ? options[0]?.option_id : options.find((o) => o.option_id === chosen)?.option_id;
  renderShippingOptions(options.map((o) => ({ id: o.option_id, label: `${o.name}: ${money(o.price)}` })), pick);
  if (!pick) {
    notify("Please choose how your order ships.", "info");
    return false;
  }
  const method = await api.PUT("/v1/carts/{id}/shipping-method", {
    params: { path },
    headers,
    body: { option_id: pick },
  });
  if (method.error || !method.data) {
    notify(problemMessage(method.error, "use that shipping option"));
    return false;
  }
  state.cart = method.data;
  renderCart();
  return true;
}

function renderShippingOptions(options: { id: string; label: string }[], picked: string | undefined): void {
  const fieldset = element<HTMLFieldSetElement>("shipping");
  const list = element("shipping-options");
  list.replaceChildren();
  for (const option of options) {
    const label = make("label");
    const radio = make("input");
    radio.type = "radio";
    radio.name = "shipping_option";
    radio.value = option.id;
    radio.checked = option.id === picked;
    label.append(radio, ` ${option.label}`);
    list.append(label);
  }
  fieldset.hidden = false;
}

/** Long-polls the checkout until it has finished (the server holds each ask up to 10 s). */
async function waitForCheckout(id: string, token: string): Promise<Checkout | null> {
  for (let ask = 0; ask < 12; ask++) {
    const { data, error } = await api.GET("/v1/checkouts/{id}", {
      params: { path: { id }, query: { wait: 10 } },
      headers: cartToken(token),
    });
    if (error || !data) {
      notify(problemMessage(error, "follow your order"));
      return null;
    }
    if (data.status !== "pending") return data;
  }
  notify("Your order is taking longer than usual. Please check again in a moment.", "info");
  return null;
}

function checkout(form: HTMLFormElement): Promise<void> {
  return busy(async () => {
    notify(null);
    hideOrder();
    const cart = state.cart;
    const token = state.token;
    if (!cart || !token) return;
    if (!form.reportValidity()) return;
    if (!(await prepareShipping(form))) return;
    const pay = element<HTMLButtonElement>("pay");
    pay.disabled = true;
    pay.textContent = "Placing your order…";
    try {
      const started = await api.POST("/v1/carts/{id}/checkout", {
        params: { path: { id: cart.id }, header: { "Idempotency-Key": idempotencyKey() } },
        headers: cartToken(token),
        body: { email: field(form, "email"), payment_method_token: field(form, "card") },
      });
      if (started.error || !started.data) {
        notify(problemMessage(started.error, "place your order"));
        return;
      }
      const finished = await waitForCheckout(started.data.id, token);
      if (!finished) return;
      if (finished.status === "completed" && finished.order_id && finished.order_access_token) {
        await showOrder(finished.order_id, finished.order_access_token);
        state.cart = null;
        state.token = null;
        renderCart();
        await loadProducts();
        return;
      }
      // Failed: the cart is open again; show what is left in stock beside each line.
      notify(failureMessage(finished));
      await loadProducts();
      await reloadCart();
      renderCart();
      refreshStockSoon();
    } finally {
      pay.disabled = false;
      pay.textContent = "Place order";
    }
  });
}

/**
 * The listing's stock is a read model: units a failed checkout had reserved show as available
 * again a moment after the checkout reports its failure. Ask once more then.
 */
function refreshStockSoon(): void {
  window.setTimeout(() => {
    void loadProducts().then(() => {
      if (!state.busy) renderCart();
    });
  }, 1500);
}

// ---------- order ----------

function hideOrder(): void {
  const section = element("order");
  section.hidden = true;
  section.replaceChildren();
}

async function showOrder(id: string, token: string): Promise<void> {
  const { data, error } = await api.GET("/v1/orders/{id}", {
    params: { path: { id } },
    headers: orderToken(token),
  });
  if (error || !data) {
    notify(problemMessage(error, "show your order; it was placed all the same"));
    return;
  }
  renderOrder(data);
}

const STATUS_TEXT: Record<string, string> = {
  placed: "Placed",
  paid: "Paid",
  fulfilled: "Shipped",
  completed: "Completed",
  cancelled: "Cancelled",
};

function renderOrder(order: Order): void {
  const section = element("order");
  const title = make("h3", `Thank you! Order ${order.name ?? order.id} is confirmed.`);
  title.id = "order-title";
  const status = make("p", `Status: ${STATUS_TEXT[order.status] ?? order.status}`);
  status.id = "order-status";
  const table = make("table");
  table.id = "order-lines";
  for (const line of order.lines) {
    const row = make("tr");
    row.append(make("td", line.title), make("td", `× ${line.quantity}`), make("td", money(line.line_total), "num"));
    table.append(row);
  }
  table.append(totalsRow("Subtotal", order.subtotal, "totals"));
  if (Number(order.discount_total.amount) > 0) table.append(totalsRow("Discount", order.discount_total));
  table.append(totalsRow("Shipping", order.shipping_total));
  if (Number(order.tax_total.amount) > 0) {
    table.append(totalsRow(order.taxes_included ? "Tax included" : "Tax", order.tax_total));
  }
  const total = totalsRow("Total paid", order.total, "total");
  total.id = "order-total";
  table.append(total);
  const shipTo = order.shipping_address
    ? make("p", `Ships to ${order.shipping_address.name}, ${order.shipping_address.city}`)
    : make("p");
  section.replaceChildren(title, status, table, shipTo);
  section.hidden = false;
}

// ---------- start ----------

function start(): void {
  const form = element<HTMLFormElement>("checkout");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void checkout(form);
  });
  void loadProducts().catch(() => {
    element("products-status").textContent =
      "We could not reach the shop. Check your connection and reload the page.";
  });
}

start();
