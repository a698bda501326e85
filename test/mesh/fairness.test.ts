import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Mesh, WasmeshError, type Route } from '../../src/index.js';
import { FairQueue, kVtcInputWeight, kVtcOutputWeight, type Waiting } from '../../src/mesh/FairQueue.js';
import { seededRandom } from '../../src/mesh/random.js';

// The admission queue: strict priority bands, virtual token counters between tenants within a band.
const t = suite('fair admission queue (VTC) and priority bands');

interface Job extends Waiting {
  arrived: number;
}

/**
 * One engine serving one request at a time, `serviceS` each (100 tokens in, 100 out), fed by
 * Poisson arrivals per tenant for `seconds`; the queue picks who goes next. Returns each tenant's
 * queueing delays (arrival to start).
 */
function serve(rates: Record<string, number>, fair: boolean, seconds = 2000, serviceS = 1): Map<string, number[]> {
  const random = seededRandom(7);
  const arrivals: { at: number; tenant: string }[] = [];
  for (const [tenant, rate] of Object.entries(rates)) {
    for (let at = -Math.log(1 - random()) / rate; at < seconds; at += -Math.log(1 - random()) / rate) arrivals.push({ at, tenant });
  }
  arrivals.sort((a, b) => a.at - b.at);
  const queue = new FairQueue<Job>();
  const delays = new Map<string, number[]>(Object.keys(rates).map((k) => [k, []]));
  let freeAt = 0, seq = 0, i = 0;
  let running: Job | undefined;
  while (i < arrivals.length || queue.length) {
    // Next event: an arrival before the engine frees, or the engine taking the next waiter.
    if (i < arrivals.length && (arrivals[i]!.at <= freeAt || !queue.length)) {
      const a = arrivals[i++]!;
      queue.push({ tenant: fair ? a.tenant : 'all', priority: 0, seq: seq++, arrived: a.at });
      (queue.all().at(-1) as Job & { who?: string }).who = a.tenant;
      continue;
    }
    if (running) queue.charge(running.tenant, 100 * kVtcOutputWeight);
    const next = queue.peek()!;
    queue.remove(next);
    const start = Math.max(freeAt, next.arrived);
    delays.get((next as Job & { who: string }).who)!.push(start - next.arrived);
    queue.charge(next.tenant, 100 * kVtcInputWeight, true);
    running = next;
    freeAt = start + serviceS;
  }
  return delays;
}

const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]!;

t('a heavy tenant at 10x the light one\'s rate raises the light one\'s p99 queueing delay by less than 2x (FIFO: far more)', () => {
  // Light alone: 10% of the engine. With the heavy one at 10x: 110%, so the engine is never idle.
  const alone = p99(serve({ light: 0.1 }, true).get('light')!);
  const shared = serve({ light: 0.1, heavy: 1 }, true);
  const fair = p99(shared.get('light')!);
  const fifo = p99(serve({ light: 0.1, heavy: 1 }, false).get('light')!);
  console.log(`  light tenant p99 queueing: alone ${alone.toFixed(2)} s, beside a 10x heavy one ${fair.toFixed(2)} s (VTC), ${fifo.toFixed(2)} s (FIFO)`);
  assert.ok(alone > 0, 'the light tenant alone queues a little');
  assert.ok(fair <= 2 * alone, `VTC: light p99 ${fair.toFixed(2)} s against ${alone.toFixed(2)} s alone`);
  assert.ok(fifo > 10 * alone, `FIFO: light p99 ${fifo.toFixed(2)} s`);
  // The heavy tenant still gets the rest of the engine: it is served, not starved.
  assert.ok(shared.get('heavy')!.length > 1500);
});

t('priority bands are strict; a tenant that comes back is lifted to the least counter waiting (no credit for idling)', () => {
  const q = new FairQueue<Job>();
  q.charge('a', 1000);
  q.push({ tenant: 'b', priority: 0, seq: 1, arrived: 0 });
  q.push({ tenant: 'a', priority: 0, seq: 2, arrived: 0 });
  q.push({ tenant: 'c', priority: 1, seq: 3, arrived: 0 });
  assert.is(q.peek()!.tenant, 'c');
  q.remove(q.peek()!);
  // b arrived to an empty queue at the last served counter (1000, a's); a is at 1000 too: FIFO.
  assert.is(q.counter('b'), 1000);
  assert.is(q.peek()!.tenant, 'b');
  q.charge('b', 1);
  assert.is(q.peek()!.tenant, 'a');
  assert.is(q.victim()!.tenant, 'a');
});

const e = (id: string) => ({ id, address: `10.0.0.1:${8000 + id.length}`, resources: { accelerator: 'L4', count: 1 }, maxInflight: 1 });

t('Mesh.routeAsync: waiters served by band, then by fair share; sheddable requests refused at once; a full queue sheds its lowest band for a higher one', async () => {
  const mesh = new Mesh();
  mesh.apply({ services: [{ name: 's', policy: 'p2c', admission: { queue: 3, timeoutMs: 5000 }, endpoints: [e('a')] }] });
  const routes: Route[] = [await mesh.routeAsync({ service: 's', tenant: 'heavy' })];
  const order: string[] = [];
  const wait = (tenant: string, priority = 0) =>
    void mesh.routeAsync({ service: 's', tenant, priority }).then(
      (r) => (order.push(`${tenant}/${priority}`), routes.push(r)),
      (err: WasmeshError) => order.push(`${tenant}/${priority}: ${err.code}`),
    );
  const shed = await mesh.routeAsync({ service: 's', tenant: 'x', priority: -1 }).catch((err: WasmeshError) => err);
  assert.ok(shed instanceof WasmeshError && shed.code === 'OVERLOADED' && /^shed/.test(shed.message));
  wait('heavy');
  wait('heavy');
  wait('light');
  // Full (3): a priority-1 request sheds the newest of band 0 (light, the last to come).
  wait('vip', 1);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(order, ['light/0: OVERLOADED']);
  // Each report frees the one slot: vip first (its band); light, coming back once there is room
  // in the queue, goes before heavy's backlog (heavy has had a request already), then heavy, heavy.
  for (let i = 0; i < 4; i++) {
    mesh.report(routes.at(-1)!);
    await new Promise((r) => setTimeout(r, 5));
    if (i === 0) wait('light');
  }
  assert.equal(order, ['light/0: OVERLOADED', 'vip/1', 'light/0', 'heavy/0', 'heavy/0']);
  mesh.report(routes.at(-1)!);
  assert.is(mesh.inflight('s').requests, 0);
  assert.ok(mesh.fairShare('s', 'heavy') > mesh.fairShare('s', 'light'));
});

t.run();
