/**
 * What an operator sees in the Temporal Web UI (2.x) of a running rotation, through a real browser
 * (Chromium from scripts/provide-binaries.sh, driven by playwright-core): the live "Current Details"
 * the workflow publishes with `setCurrentDetails` (User Metadata tab; the UI asks a running worker for
 * them), the static summary, and the `MeshName` / `RotationStep` search attributes.
 */
import type { WorkflowHandle } from '@temporalio/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { prepareTarget, type LocalStack } from '../../src/cli/stack';
import { startRotation } from '../../src/cli/start-rotation';
import { abortUpdate, approveUpdate, pauseUpdate } from '../../src/workflows/messages';
import { CHROMIUM_MISSING, chromiumPath } from '../harness/chromium';
import { testServers } from '../harness/env';
import { describeWhenAvailable } from '../harness/requirements';
import { startTestStack, waitForStatus } from './support';

const CHROMIUM = chromiumPath();
const PROXIES = 10;
const SCREENSHOTS = path.join(os.tmpdir(), 'temporal-ui-test');

/** Polls `read` until `accept` holds (bounded); returns the last value read. */
async function eventually<T>(what: string, read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} within ${timeoutMs} ms; last seen: ${JSON.stringify(last)}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
}

/**
 * The UI renders Markdown with typographic fractions: `10/10` becomes `<sup>10</sup>⁄<sub>10</sub>`,
 * whose text reads `10⁄10` (U+2044). Counts are compared as the operator reads them.
 */
function normalize(text: string): string {
  return text.replace(/\u2044/g, '/').replace(/[ \t]+/g, ' ');
}

describeWhenAvailable('the Temporal Web UI of a running rotation', CHROMIUM ? undefined : CHROMIUM_MISSING, () => {
  let stack: LocalStack;
  let handle: WorkflowHandle;
  let browser: Browser;
  let page: Page;
  let workflowUrl: string;

  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startTestStack({ proxies: PROXIES });
    const target = await prepareTarget(stack, 'provided');
    handle = await startRotation(stack.client, { mesh: stack.mesh, from: 'ca-1', target, taskQueue: stack.taskQueue, options: { approval: 'manual' } });
    workflowUrl = `${testServers().temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(`ca-rotation/${stack.mesh}`)}`;

    // A fresh temporary profile each launch; never a downloaded browser.
    browser = await chromium.launch({
      executablePath: CHROMIUM as string,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close().catch(() => {});
    // If a test failed before the abort, end the rotation anyway.
    await handle?.terminate('temporal-ui test cleanup').catch(() => {});
    await stack?.stop();
  });

  /** The User Metadata tab of the workflow's page, freshly loaded. */
  async function openUserMetadata(): Promise<void> {
    await page.goto(workflowUrl, { waitUntil: 'load' });
    // The UI redirects to the latest run's history page.
    await page.waitForURL(/\/history$/);
    await page.getByRole('tab', { name: 'User Metadata' }).click();
    await page.waitForURL(/\/user-metadata$/);
  }

  /** The rendered Markdown of one section ("Summary", "Details", "Current Details"): an iframe under its heading. */
  async function sectionText(heading: string): Promise<string> {
    const section = page
      .locator('div')
      .filter({ has: page.getByRole('heading', { name: heading, exact: true }) })
      .filter({ has: page.locator('iframe') })
      .last();
    const frame = section.locator('iframe').first().contentFrame();
    return normalize(await frame.locator('main').innerText({ timeout: 5_000 }));
  }

  it('shows the current step and counts of a rotation waiting for approval at step 2, and follows it live', async () => {
    await waitForStatus(handle, (s) => s.step === 'add-backend' && s.waitingForApproval, 30_000);
    expect(await handle.executeUpdate(approveUpdate)).toBe('approved step add-backend');
    await waitForStatus(handle, (s) => s.step === 'switch-enabled' && s.waitingForApproval, 60_000);

    await openUserMetadata();
    const details = await eventually(
      'the Current Details show step 2 waiting for approval',
      () => sectionText('Current Details'),
      (text) => text.includes('Step: switch-enabled'),
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'current-details.png') });
    expect(details).toContain('ca-1 → ca-2 · Phase: rotating · Step: switch-enabled · waiting for approval');
    // The table: one row a step, with its state and how many proxies acknowledged it.
    const rows = details.split('\n').filter((line) => /^(add-backend|switch-enabled|remove-old)\b/.test(line));
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(new RegExp(`^add-backend\\s+done\\s+\\S+ ${PROXIES} of ${PROXIES} proxies$`));
    expect(rows[1]).toMatch(/^switch-enabled\s+waiting for approval\s/);
    expect(rows[2]).toMatch(/^remove-old\s+pending\s/);

    // The details are live: a pause shows up after the R key asks the worker again.
    await handle.executeUpdate(pauseUpdate, { args: [{ reason: 'ui test freeze' }] });
    const pausedDetails = await eventually(
      'the Current Details show the pause after pressing R',
      async () => {
        await page.keyboard.press('r');
        await page.waitForTimeout(1_000);
        return sectionText('Current Details');
      },
      (text) => text.includes('PAUSED: ui test freeze'),
    );
    expect(pausedDetails).toContain('Step: switch-enabled');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'current-details-paused.png') });
  });

  it('shows the static summary and details of the rotation', async () => {
    await openUserMetadata();
    const summary = await eventually('the Summary section is rendered', () => sectionText('Summary'), (text) => text.length > 0);
    expect(summary.trim()).toBe(`CA rotation of mesh ${stack.mesh}: ca-1 → ca-2`);
    const staticDetails = await sectionText('Details');
    expect(staticDetails).toContain('Adds backend ca-2, switches enabledBackend to it once every proxy trusts it, then removes ca-1');
  });

  it('shows the MeshName and RotationStep search attributes', async () => {
    await page.getByRole('tab', { name: 'Search Attributes' }).click();
    await page.waitForURL(/\/search-attributes$/);
    const text = await eventually('the search attributes are shown', () => page.locator('main').innerText(), (t) => t.includes('RotationStep'));
    await page.screenshot({ path: path.join(SCREENSHOTS, 'search-attributes.png') });
    // Rendered as the JSON of `indexedFields`.
    const json = text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
    const attributes = (JSON.parse(json) as { indexedFields: Record<string, unknown> }).indexedFields;
    expect(attributes.MeshName).toEqual([stack.mesh]);
    expect(attributes.RotationStep).toEqual(['switch-enabled']);
  });

  it('aborts the rotation: the new backend is removed again', async () => {
    expect(await handle.executeUpdate(abortUpdate)).toBe('aborting: the new backend "ca-2" is removed again');
    const result = (await handle.result()) as { status: string };
    expect(result.status).toBe('ABORTED');
    const mesh = await stack.cp.getMesh(stack.mesh);
    expect(mesh?.mesh.mtls?.enabledBackend).toBe('ca-1');
    expect(mesh?.mesh.mtls?.backends?.map((b) => b.name)).toEqual(['ca-1']);
  });
});
