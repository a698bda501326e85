import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { HashRing, SmoothWrr, movedShare, type EngineName, type HashName } from '../../src/index.js';
import { startExplorer, type Explorer } from '../../src/explore/server.js';
import type { ExplorerApi } from '../../examples/browser/explorer.js';

// The ring explorer in a real headless Chromium (the Debian package; never a downloaded one):
// the same inputs give the same answers as Node, and the page reports exact movement.
const CHROMIUM = '/usr/bin/chromium';
const t = suite('browser: ring explorer in Chromium');

declare const window: { explorer: ExplorerApi };

if (!existsSync(CHROMIUM)) {
  if (process.env.CI) {
    t('Chromium is installed (CI never skips the browser test)', () => {
      assert.unreachable(`${CHROMIUM} is missing; .ci/run installs the Debian package chromium`);
    });
  } else {
    console.log(`SKIP browser tests: ${CHROMIUM} not found (apt-get install chromium); under CI they fail instead.`);
  }
} else {
  let explorer: Explorer;
  let browser: Browser;
  let page: Page;
  t.before(async () => {
    explorer = await startExplorer({ port: 0 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(explorer.url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 }).catch(() => {
      throw new Error(`the explorer did not start: ${errors.join('; ') || 'no page error'}`);
    });
  });
  t.after(async () => {
    await browser?.close();
    await explorer?.close();
  });

  t('the page renders the ring, the shares and the round-robin strip', async () => {
    assert.ok((await page.locator('#ring path').count()) >= 5);
    assert.is(await page.locator('#ring circle').count(), 2001, 'the ring and 2,000 key dots');
    assert.is(await page.locator('#shares .bar').count(), 5);
    assert.is(await page.locator('#wrr span').count(), 50);
  });

  const nodes: [string, number][] = [['10.0.0.1:8000', 1], ['gpu-h100', 4], ['cpu-1', 0.25], ['ü-node', 1.5], ['a', 2]];
  const keys = [...Array.from({ length: 9996 }, (_, i) => `user:${i}`), 'ключ', '🔑', 'é', ''];

  for (const hash of ['xxh32', 'ketama', 'sha1'] as HashName[]) {
    t(`${hash}: 10,000 keys map in the browser exactly as in Node, on both engines`, async () => {
      const expected = new HashRing({ hash, vnodes: 100 }).addMany(nodes.map(([id, weight]) => [id, { weight }] as const)).getBatch(keys);
      for (const engine of ['wasm', 'ts'] as EngineName[]) {
        const got = await page.evaluate((o) => window.explorer.map(o), { hash, engine, vnodes: 100, nodes, keys });
        assert.equal(got, expected, `${hash} ${engine}`);
      }
    });
  }

  t('smooth weighted round robin picks the same in the browser as in Node', async () => {
    const weights: [string, number][] = [['a', 5], ['b', 1], ['c', 1], ['gpu', 2.5], ['cpu', 0.25]];
    const node = new SmoothWrr();
    weights.forEach(([id, w]) => node.set(id, w));
    const expected = node.pickBatch(500);
    for (const engine of ['wasm', 'ts'] as EngineName[]) {
      assert.equal(await page.evaluate((o) => window.explorer.picks(o), { engine, weights, n: 500 }), expected);
    }
  });

  t('an add-node click reports the exact share of the key space that moved', async () => {
    const before = await page.evaluate(() => window.explorer.state());
    const name = await page.inputValue('#add-name');
    await page.click('#add-node');
    await page.waitForFunction((n) => window.explorer.state().nodes.length === n, before.nodes.length + 1);
    const exact = Number(await page.getAttribute('#moved', 'data-moved-exact'));
    const sampled = Number(await page.getAttribute('#moved', 'data-moved-keys'));
    // The same change in Node: the moved share is exact, and an add moves exactly the new node's arcs.
    const build = (list: [string, number][]) => new HashRing({ hash: before.hash, vnodes: before.vnodes }).addMany(list.map(([id, weight]) => [id, { weight }] as const));
    const a = build(before.nodes);
    const b = build([...before.nodes, [name, 1]]);
    assert.is(exact, movedShare(a, b));
    assert.is(exact, b.shares().get(name));
    assert.ok(exact > 0 && exact < 0.5);
    const sample = Array.from({ length: 2000 }, (_, i) => `session-${i}`);
    const ka = a.getBatch(sample), kb = b.getBatch(sample);
    assert.is(sampled, ka.filter((id, i) => id !== kb[i]).length);
    assert.match(await page.textContent('#moved') ?? '', `added ${name}: ${(exact * 100).toFixed(3)}% of the key space moved`);
  });

  t('a screenshot of the explorer at 1280x800 is saved to test/artifacts/explorer.png', async () => {
    const dir = new URL('../artifacts/', import.meta.url);
    mkdirSync(dir, { recursive: true });
    const file = new URL('explorer.png', dir).pathname;
    const png = await page.screenshot({ path: file });
    assert.ok(png.length > 20_000, 'a real picture, not a blank page');
  });
}

t.run();
