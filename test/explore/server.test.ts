import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startExplorer, type Explorer } from '../../src/explore/server.js';

// The explorer's static server, over loopback.
const t = suite('explore server');
let explorer: Explorer;
t.before(async () => {
  explorer = await startExplorer({ port: 0 });
});
t.after(() => explorer.close());

t('binds to 127.0.0.1 by default', () => {
  assert.match(explorer.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
});

t('serves the page, its script and the bundle with their types and cross-origin isolation', async () => {
  for (const [path, type] of [['/', 'text/html; charset=utf-8'], ['/explorer.js', 'text/javascript; charset=utf-8'], ['/wasmesh.js', 'text/javascript; charset=utf-8'], ['/style.css', 'text/css; charset=utf-8']]) {
    const res = await fetch(new URL(path!, explorer.url));
    assert.is(res.status, 200, path);
    assert.is(res.headers.get('content-type'), type);
    assert.is(res.headers.get('cross-origin-opener-policy'), 'same-origin');
    assert.is(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
    assert.ok((await res.arrayBuffer()).byteLength > 0);
  }
});

t('answers 404 for anything else (no traversal) and 405 for other methods', async () => {
  for (const path of ['/../package.json', '/src/cli.ts', '/%2e%2e/package.json', '/nope']) {
    assert.is((await fetch(new URL(path, explorer.url))).status, 404, path);
  }
  assert.is((await fetch(explorer.url, { method: 'POST', body: 'x' })).status, 405);
});

t.run();
