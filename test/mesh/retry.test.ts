import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, seededRandom, type MeshConfig } from '../../src/index.js';
import { backoffMs, kDefaultRetrySettings } from '../../src/mesh/retry.js';
import { ENGINES } from '../support/engines.js';

const config = (policy: 'ring-hash' | 'swrr', retry: object = {}, circuit: object = {}): MeshConfig => ({
  services: [{ name: 's', policy, retry, circuit, endpoints: ['a', 'b', 'c'].map((id) => ({ id, address: '127.0.0.1:9000', resources: { accelerator: 'L4', count: 1 } })) }],
});

const b = suite('backoff');
b('full jitter: each delay within [0, min(250, 25 * 2^(attempt-1))) ms, and seeded', () => {
  const random = seededRandom(3);
  for (let attempt = 1; attempt <= 8; attempt++) {
    const cap = Math.min(250, 25 * 2 ** (attempt - 1));
    const delays = Array.from({ length: 500 }, () => backoffMs(attempt, kDefaultRetrySettings, random));
    assert.ok(delays.every((d) => d >= 0 && d < cap), `attempt ${attempt}`);
    assert.ok(Math.max(...delays) > cap * 0.9 && Math.min(...delays) < cap * 0.1, 'the whole range is used');
  }
  const again = seededRandom(3);
  assert.is(backoffMs(1, kDefaultRetrySettings, again), backoffMs(1, kDefaultRetrySettings, seededRandom(3)));
});
b.run();

for (const engine of ENGINES) {
  const t = suite(`retries (${engine})`);

  t('a retry never goes back to the endpoint that failed, and stops after maxRetries', () => {
    for (const policy of ['ring-hash', 'swrr'] as const) {
      const mesh = new Mesh({ engine });
      mesh.apply(config(policy));
      const first = mesh.route({ service: 's', key: 'session-1' });
      const r1 = mesh.retry(first, { status: 503 })!;
      assert.is.not(r1.route.endpoint.id, first.endpoint.id);
      assert.is(r1.route.attempt, 1);
      const r2 = mesh.retry(r1.route, { connectFailure: true })!;
      assert.is.not(r2.route.endpoint.id, r1.route.endpoint.id);
      assert.is(mesh.retry(r2.route, { status: 503 }), undefined, 'maxRetries 2');
      assert.ok(mesh.endpoints('s').every((e) => e.load === 0), 'every try was reported');
    }
  });

  t('only retryable failures are retried (retryOn)', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config('swrr', { retryOn: ['429'] }));
    assert.is(mesh.retry(mesh.route({ service: 's' }), { status: 503 }), undefined);
    assert.ok(mesh.retry(mesh.route({ service: 's' }), { status: 429 }));
  });

  t('the retry budget: retries in flight at most 20% of active requests, at least 3', async () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config('swrr'));
    const active = Array.from({ length: 20 }, () => mesh.route({ service: 's' }));
    const retries = [];
    for (let i = 0; i < 6; i++) retries.push(mesh.retry(active[i]!, { status: 500 }));
    // A retry replaces its failed request, so 20 stay active: the budget is max(3, 20% of 20) = 4.
    assert.is(retries.filter(Boolean).length, 4);
    assert.match(await mesh.metrics(), 'wasmesh_retries_total{service="s",result="budget_exhausted"} 2');
    mesh.report(retries[0]!.route);
    assert.ok(mesh.retry(active[10]!, { status: 500 }), 'a finished retry makes room');
  });

  t('circuit.maxRetries caps concurrent retries', () => {
    const mesh = new Mesh({ engine });
    mesh.apply(config('swrr', { minConcurrent: 100 }, { maxRetries: 1 }));
    assert.ok(mesh.retry(mesh.route({ service: 's' }), { status: 500 }));
    assert.is(mesh.retry(mesh.route({ service: 's' }), { status: 500 }), undefined);
  });

  t.run();
}
