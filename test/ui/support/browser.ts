// Headless Chromium for the UI's tests (Debian's chromium driven by playwright-core) and the steps every test
// takes: a fresh context per page, console errors collected, logging in through the login form.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const flags = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export type UiPage = Page & { errors: string[] };

export class UiBrowser {
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    private readonly browser: Browser,
    private readonly url: string,
  ) {}

  static async launch(url: string): Promise<UiBrowser> {
    return new UiBrowser(await chromium.launch({ executablePath: chromiumPath, args: flags }), url);
  }

  /** A page in its own context (its own cookies) at the UI's start page. */
  async open(options: { dark?: boolean; phone?: boolean } = {}): Promise<UiPage> {
    const context = await this.browser.newContext({
      colorScheme: options.dark ? 'dark' : 'light',
      viewport: options.phone ? { width: 390, height: 844 } : { width: 1280, height: 800 },
      ...(options.phone ? { deviceScaleFactor: 1, isMobile: true, hasTouch: true } : {}),
    });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: this.url });
    this.contexts.push(context);
    const page = (await context.newPage()) as UiPage;
    page.errors = [];
    page.on('pageerror', (e) => page.errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) page.errors.push(m.text());
    });
    await page.goto(`${this.url}/`);
    return page;
  }

  async login(page: Page, user: { name: string; password: string }): Promise<void> {
    await page.goto(`${this.url}/#/login`);
    await page.getByLabel('Username').fill(user.name);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close();
    await this.browser.close();
  }
}
