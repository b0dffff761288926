// The API docs page in a real browser (issue 13): /docs must render the operations with the
// renderer the server embeds, loading nothing from another origin. Run by tests/browser.sh,
// which starts the server and says where the browser and playwright-core are.
const { chromium } = require('playwright-core');

const base = process.env.BASE_URL;
const shots = process.env.SCREENSHOTS;

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM,
    // The CI runs as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // Anything fetched from another origin (the page's policy should block what Redoc's own
    // branding asks for: a request is made, but no answer reaches the page).
    const elsewhere = [];
    page.on('response', (response) => {
      const url = response.url();
      if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) {
        elsewhere.push(url);
      }
    });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${base}/docs`);
    // Redoc renders every operation as a section headed by its summary; the storefront's
    // first step must be among them.
    const sections = page.locator('[data-section-id*="/operation/"]');
    await sections.first().waitFor({ state: 'attached', timeout: 30000 });
    const operations = await sections.count();
    const createCart = await page.getByRole('heading', { name: /Create a cart/ }).count();
    if (createCart === 0) throw new Error('/docs: no "Create a cart" operation heading');
    await page.screenshot({ path: `${shots}/docs.png` });
    const problems = [];
    if (operations < 20) problems.push(`only ${operations} operations rendered`);
    if (elsewhere.length > 0) problems.push(`answers from other origins: ${elsewhere.join(', ')}`);
    if (errors.length > 0) problems.push(`script errors: ${errors.join('; ')}`);
    if (problems.length > 0) {
      throw new Error(`/docs: ${problems.join('; ')} (screenshot: ${shots}/docs.png)`);
    }
    console.log(`/docs: ${operations} operations rendered; screenshot ${shots}/docs.png`);
  } finally {
    await browser.close();
  }
}

main().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
