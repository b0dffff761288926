// The demo storefront in a real browser (issue 13, ADR 0048), as a shopper uses it: the
// products with their prices and stock, a cart filled and changed, a checkout with the
// sandbox's good card ending on the order, a declined card ending on the decline and no
// order, more units than are left ending on the stock message, and, once staff have set up
// shipping zones (through the API, with the key tests/browser.sh makes), an order shipped by
// the option the shopper picked. Every state is screenshotted. Run by tests/browser.sh, which
// starts the server on the demo catalog.
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOTS;

async function shot(page, name) {
  const path = `${shots}/${name}.png`;
  await page.screenshot({ path, fullPage: true });
  console.log(`/demo: screenshot ${path}`);
  return path;
}

function check(condition, message) {
  if (!condition) throw new Error(`/demo: ${message}`);
}

/** Adds one unit of the SKU from the product list and waits for its cart line. */
async function add(page, sku) {
  await page.locator(`.variant[data-sku="${sku}"] button`).click();
  await page.locator(`#cart-lines tr[data-sku="${sku}"]`).waitFor({ timeout: 10000 });
}

/** Sets a cart line's quantity as a shopper does (type, then leave the field). */
async function quantity(page, sku, units, lineTotal) {
  const input = page.locator(`#cart-lines tr[data-sku="${sku}"] input[type="number"]`);
  await input.fill(String(units));
  await input.dispatchEvent('change');
  await page
    .locator(`#cart-lines tr[data-sku="${sku}"]`, { hasText: lineTotal })
    .waitFor({ timeout: 10000 });
}

async function placeOrder(page, card) {
  await page.locator('select[name="card"]').selectOption(card);
  await page.locator('#pay').click();
  // Done when the button is back (the page has waited for the checkout to finish).
  await page.locator('#pay', { hasText: 'Place order' }).waitFor({ timeout: 60000 });
  await page.waitForFunction(() => !document.body.classList.contains('busy'), null, {
    timeout: 60000,
  });
}

async function notice(page) {
  const box = page.locator('#notice');
  return (await box.isVisible()) ? (await box.innerText()).trim() : '';
}

/** A message a shopper reads: no JSON, no problem codes. */
function readable(text) {
  return !/[{}]|"code"|problem|_/.test(text);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    // The CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const elsewhere = [];
    const refused = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) elsewhere.push(request.url());
    });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => {
      // A policy violation is reported on the console.
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });

    try {
      await shop(page);
    } catch (error) {
      await shot(page, 'demo-failure').catch(() => {});
      throw error;
    }
    const problems = [];
    if (elsewhere.length > 0) problems.push(`requests to other origins: ${elsewhere.join(', ')}`);
    if (refused.length > 0) problems.push(`refused by the page's policy: ${refused.join('; ')}`);
    if (errors.length > 0) problems.push(`script errors: ${errors.join('; ')}`);
    check(problems.length === 0, problems.join('; '));
    console.log('/demo: listed, filled a cart, ordered, was declined, ran out of stock and chose shipping as a shopper');
  } finally {
    await browser.close();
  }
}

async function shop(page) {
  // 1. The products, with price and stock.
  await page.goto(`${base}/demo`);
  await page.locator('.variant[data-sku="TEE-BLACK-M"]').waitFor({ timeout: 30000 });
  const tee = await page.locator('.variant[data-sku="TEE-BLACK-M"]').innerText();
  check(/€24\.00/.test(tee) && /In stock \(40\)/.test(tee), `the tee shows "${tee}"`);
  const navy = page.locator('.variant[data-sku="BEANIE-NAVY"]');
  check(/Out of stock/.test(await navy.innerText()), 'the sold-out beanie is not "Out of stock"');
  check(await navy.locator('button').isDisabled(), 'a sold-out variant can be added');
  check(
    (await page.locator('.variant[data-sku="HOODIE-LTD"]').count()) === 0,
    'a draft product is listed',
  );
  await shot(page, 'demo-products');

  // 2. A cart: add, change the quantity.
  await add(page, 'TEE-BLACK-M');
  await add(page, 'BEANIE-GREY');
  await quantity(page, 'TEE-BLACK-M', 3, '€72.00');
  const cart = await page.locator('#cart').innerText();
  check(/€91\.90/.test(cart), `the cart's total is not €91.90: ${cart}`);
  await shot(page, 'demo-cart');

  // 3. Checkout with the good card: the order, its number, lines, totals and status.
  await placeOrder(page, 'tok_visa');
  const said = await notice(page);
  check(await page.locator('#order').isVisible(), `no order shown (notice: "${said}")`);
  const order = await page.locator('#order').innerText();
  check(/Order #\d+ is confirmed/.test(order), `no order number: ${order}`);
  check(/Organic Cotton T-Shirt\s+× 3/.test(order), `the tee line is missing: ${order}`);
  check(/Merino Wool Beanie\s+× 1/.test(order), `the beanie line is missing: ${order}`);
  check(/Total paid\s+€91\.90/.test(order), `the total is wrong: ${order}`);
  check(/Status: Paid/.test(order), `the order is not paid: ${order}`);
  check(/Your cart is empty/.test(await page.locator('#cart').innerText()), 'the cart was kept');
  await page.locator('.variant[data-sku="TEE-BLACK-M"]', { hasText: 'In stock (37)' }).waitFor();
  await shot(page, 'demo-order');

  // 4. A declined card: the decline as a shopper reads it, and no order.
  await add(page, 'TOTE-NATURAL');
  await placeOrder(page, 'tok_declined');
  const declined = await notice(page);
  check(
    (declined.match(/Your card was declined/g) || []).length === 1,
    `no decline message, or said twice: "${declined}"`,
  );
  check(readable(declined), `the decline reads like an API answer: "${declined}"`);
  check(!(await page.locator('#order').isVisible()), 'an order is shown after a decline');
  check(
    (await page.locator('#cart-lines tr[data-sku="TOTE-NATURAL"]').count()) === 1,
    'the cart is gone after a decline',
  );
  // The unit the checkout had reserved is back on sale (the listing is asked again).
  await page.locator('.variant[data-sku="TOTE-NATURAL"]', { hasText: 'In stock (60)' }).waitFor();
  await shot(page, 'demo-declined');

  // 5. More units than are left (12 drippers): the shopper's stock message.
  await add(page, 'DRIPPER-WHITE');
  await quantity(page, 'DRIPPER-WHITE', 13, '€422.50');
  await placeOrder(page, 'tok_visa');
  const short = await notice(page);
  check(/no longer available/.test(short), `no stock message: "${short}"`);
  check(readable(short), `the stock message reads like an API answer: "${short}"`);
  const line = await page.locator('#cart-lines tr[data-sku="DRIPPER-WHITE"]').innerText();
  check(/Only 12 left/.test(line), `the line does not say what is left: "${line}"`);
  check(!(await page.locator('#order').isVisible()), 'an order is shown without the stock');
  await shot(page, 'demo-out-of-stock');

  // 6. A shop with shipping zones: the shopper picks how the order ships, and pays for it.
  await quantity(page, 'DRIPPER-WHITE', 1, '€32.50');
  await shippingZone('United Kingdom', ['GB'], [
    ['Royal Mail', '4.90'],
    ['Express courier', '9.90'],
  ]);
  await placeOrder(page, 'tok_visa');
  const options = page.locator('#shipping-options label');
  check((await options.count()) === 2, `the two shipping options are not offered`);
  check(!(await page.locator('#order').isVisible()), 'an order was placed without a shipping choice');
  await options.filter({ hasText: 'Express courier: €9.90' }).locator('input').check();
  await shot(page, 'demo-shipping');
  await placeOrder(page, 'tok_visa');
  const shipped = await page.locator('#order').innerText();
  check(/Shipping\s+€9\.90/.test(shipped), `the order's shipping is not €9.90: ${shipped}`);
  check(/Total paid\s+€54\.40/.test(shipped), `the order's total is not €54.40: ${shipped}`);
  await shot(page, 'demo-order-shipped');
}

/** Staff's side, through the API with a key: a zone and its flat-rate options. */
async function shippingZone(name, countries, options) {
  const headers = {
    Authorization: `Bearer ${process.env.API_KEY}`,
    'Content-Type': 'application/json',
  };
  const post = async (path, body) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (!response.ok) check(false, `POST ${path}: ${response.status} ${await response.text()}`);
    return { body: await response.json(), position: response.headers.get('commerce-position') };
  };
  const zone = await post('/v1/admin/shipping-zones', { name, countries });
  let position = zone.position;
  for (const [option, amount] of options) {
    const added = await post(`/v1/admin/shipping-zones/${zone.body.id}/options`, {
      name: option,
      prices: [{ type: 'flat', amount: { amount, currency: 'EUR' } }],
    });
    position = added.position;
  }
  // Read our own writes: carts find zones in a read model (ADR 0040).
  const caught = await fetch(`${base}/v1/products?limit=1`, {
    headers: { 'Commerce-Min-Position': position },
  });
  check(caught.ok, `the read models did not reach the zone's position: ${caught.status}`);
}

main().catch(async (error) => {
  console.error(error.message || error);
  process.exit(1);
});
