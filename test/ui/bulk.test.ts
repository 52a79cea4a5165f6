// The UI's lists with many items and the storage page's webhooks, end to end in Chromium against a real registry:
// untagging several selected tags in one confirmed action, paging the storage page past its 200 repositories, and
// a real webhook receiver whose failing deliveries become dead letters that the admin retries from the page.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../support/wait.js';
import { UiBrowser } from './support/browser.js';
import { fastWebhooks, startReceiver, type HookReceiver } from './support/receiver.js';
import { pushImage, pushManyRepositories, startUiRegistry, users, type UiRegistry } from './support/seed.js';

const screenshots = process.env.UI_SCREENSHOTS;

describe('web UI in Chromium: multi-select, storage paging, webhook dead letters', () => {
  let r: UiRegistry;
  let receiver: HookReceiver;
  let browser: UiBrowser;

  before(async () => {
    receiver = await startReceiver(500);
    r = await startUiRegistry({}, {}, fastWebhooks(receiver.url, ['team-a/hooked']));
    await pushImage(r, 'team-a/bulk', ['a', 'b', 'c', 'd'], { layerSizes: [100] });
    await pushImage(r, 'team-a/bulk', ['e'], { layerSizes: [200] });
    await pushManyRepositories(r, 'many', 205);
    browser = await UiBrowser.launch(r.url);
  });
  after(async () => {
    await browser?.close();
    await r?.close();
    await receiver?.close();
  });

  const rowNames = (page: Awaited<ReturnType<UiBrowser['open']>>) =>
    page.locator('tbody tr[data-tag]').evaluateAll((rows) => rows.map((x) => x.getAttribute('data-tag')));

  test('select several tags and untag them in one confirmed action: only those go', async () => {
    const page = await browser.open();
    await browser.login(page, users.alice);
    await page.goto(`${r.url}/#/r/team-a/bulk`);
    await page.locator('tr[data-tag="e"]').waitFor();
    assert.deepEqual(await rowNames(page), ['a', 'b', 'c', 'd', 'e']);
    const untagSelected = page.getByRole('button', { name: /^Untag selected/ });
    assert.equal(await untagSelected.isDisabled(), true, 'nothing selected yet');
    await page.getByLabel('Select b').check();
    await page.getByLabel('Select e').check();
    await page.getByLabel('Select d').check();
    await page.getByLabel('Select d').uncheck();
    await page.getByLabel('Select d').check();
    assert.equal(await untagSelected.textContent(), 'Untag selected (3)');
    await untagSelected.click();
    const dialog = page.getByRole('dialog', { name: 'Remove tags' });
    await dialog.getByText('Remove the tags b, d, e?').waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.deepEqual(await rowNames(page), ['a', 'b', 'c', 'd', 'e'], 'cancel removes nothing');
    await untagSelected.click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Untagged b, d, e' }).waitFor();
    assert.deepEqual(await rowNames(page), ['a', 'c']);
    assert.equal(await untagSelected.textContent(), 'Untag selected (0)');
    const tags = await fetch(`${r.url}/v2/team-a/bulk/tags/list`, { headers: { Authorization: r.admin } });
    assert.deepEqual(((await tags.json()) as { tags: string[] }).tags, ['a', 'c'], 'the registry agrees');
    // Select all, then the header checkbox clears the selection again.
    await page.getByLabel('Select all tags').check();
    assert.equal(await untagSelected.textContent(), 'Untag selected (2)');
    await page.getByLabel('Select all tags').uncheck();
    assert.equal(await untagSelected.textContent(), 'Untag selected (0)');
    assert.deepEqual(page.errors, []);
  });

  test('a user without delete rights sees no selection boxes and no selection actions', async () => {
    const page = await browser.open();
    await browser.login(page, users.bob);
    await page.goto(`${r.url}/#/r/team-a/bulk`);
    await page.locator('tr[data-tag="a"]').waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 0);
    assert.equal(await page.getByRole('button', { name: /Untag|Delete/ }).count(), 0);
  });

  test('the storage page pages through more than 200 repositories', async () => {
    const page = await browser.open();
    await browser.login(page, users.admin);
    await page.goto(`${r.url}/#/storage`);
    const usage = page.getByRole('table', { name: 'Usage per repository' });
    const names = () => usage.locator('tbody td:first-child').allTextContents();
    await usage.waitFor();
    const total = 205 + 1; // many/* and team-a/bulk
    const first = await names();
    assert.equal(first.length, 200);
    assert.equal(first[0], 'many/r000');
    assert.equal(first[199], 'many/r199');
    const pager = page.getByRole('navigation', { name: 'Repository pages' });
    await pager.getByText(`Repositories 1–200 of ${total}`).waitFor();
    assert.equal(await pager.getByRole('button', { name: 'Previous' }).isDisabled(), true);
    await pager.getByRole('button', { name: 'Next' }).click();
    await pager.getByText(`Repositories 201–${total} of ${total}`).waitFor();
    assert.deepEqual(await names(), ['many/r200', 'many/r201', 'many/r202', 'many/r203', 'many/r204', 'team-a/bulk']);
    assert.equal(await pager.getByRole('button', { name: 'Next' }).isDisabled(), true);
    await pager.getByRole('button', { name: 'Previous' }).click();
    await pager.getByText(`Repositories 1–200 of ${total}`).waitFor();
    assert.equal((await names())[0], 'many/r000');
    assert.deepEqual(page.errors, []);
  });

  test('a failing webhook dead-letters; the admin retries it from the storage page and sees it delivered', async () => {
    await pushImage(r, 'team-a/hooked', ['v1'], { layerSizes: [100] });
    await waitFor('two failed attempts', () => receiver.hits.length >= 2);
    const page = await browser.open();
    await browser.login(page, users.admin);
    await page.goto(`${r.url}/#/storage`);
    const row = page.locator('tr[data-endpoint="ci"]');
    await row.locator('td.state', { hasText: 'dead letters' }).waitFor();
    assert.deepEqual(await row.locator('td').allTextContents(), ['ci', '0', '1', 'dead letters', 'Retry']);
    const dead = page.getByRole('table', { name: 'Dead letters' });
    const letter = await dead.locator('tbody tr').evaluateAll((rows) => rows.map((x) => [...x.querySelectorAll('td')].map((c) => c.textContent)));
    assert.equal(letter.length, 1);
    assert.deepEqual([letter[0]![0], letter[0]![1], letter[0]![3], letter[0]![4]], ['ci', 'team-a/hooked', '2', 'HTTP 500']);
    assert.equal(receiver.accepted.length, 0);
    assert.equal(receiver.hits.length, 2, 'no attempts after the dead letter');
    if (screenshots) {
      const section = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Webhook deliveries' }) });
      await section.screenshot({ path: join(screenshots, 'storage-webhooks-light-desktop.png') });
    }

    receiver.status = 200;
    await page.getByRole('button', { name: 'Retry dead letters of ci' }).click();
    await page.getByRole('status').filter({ hasText: 'Requeued 1 delivery' }).waitFor();
    await row.locator('td.state', { hasText: 'all delivered' }).waitFor();
    assert.deepEqual(await row.locator('td').allTextContents(), ['ci', '0', '0', 'all delivered', '']);
    assert.equal(await dead.count(), 0, 'no dead letters left');
    assert.deepEqual(receiver.accepted, [{ action: 'push', repository: 'team-a/hooked', tag: 'v1' }]);
    assert.deepEqual(page.errors, []);
  });
});
