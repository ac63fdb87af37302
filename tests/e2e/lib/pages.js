// Page objects: what a person looks at, by role and text where possible.

export class Dashboard {
  constructor(page, baseUrl) {
    this.page = page;
    this.baseUrl = baseUrl;
  }

  async open(path = '/') {
    await this.page.goto(`${this.baseUrl}${path}`);
  }

  brokerCard() {
    return this.page.locator('section.broker');
  }

  async brokerState() {
    return this.brokerCard().getAttribute('data-state');
  }

  async offerCount(provider) {
    const text = await this.page.locator(`tr[data-provider="${provider}"] td.offers`).innerText();
    return Number(text);
  }

  tab(name) {
    return this.page.getByRole('link', { name, exact: true });
  }

  heading() {
    return this.page.locator('main h1');
  }

  sessionRow(sessionId) {
    return this.page.locator(`tr[data-session="${sessionId}"]`);
  }

  /** The session ids of the rows shown, in order. */
  async sessionIds() {
    return this.page.locator('tr[data-session]').evaluateAll((rows) => rows.map((r) => r.dataset.session));
  }

  /** connecting / connected / reconnecting / offline */
  async connection() {
    return this.page.locator('.live').getAttribute('data-conn');
  }

  async waitConnection(state, timeout = 30_000) {
    await this.page.locator(`.live[data-conn="${state}"]`).waitFor({ timeout });
  }

  /** The event seqs this page applied, oldest first. */
  async appliedSeqs() {
    return this.page.evaluate(() => Array.from(window.__gdlLiveSeqs ?? []));
  }
}
