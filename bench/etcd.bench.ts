// etcd discovery against a real etcd (Debian etcd-server): how long an endpoint whose
// registrant died stays in the balancer, and how many discovery events a mesh absorbs per second
// while it routes (churn of 1,000 endpoints).
//   npm run bench:etcd      npm run bench:etcd -- --quick
// Not benny: these are latencies of a distributed system, measured over repeated trials and
// reported with their spread (min / median / max).
import cliProgress from 'cli-progress';
import { Mesh, type DiscoveryEvent } from '../src/index.js';
import { EtcdDiscovery, endpointKey, etcdClient } from '../src/mesh/etcd.js';
import { startEtcd } from '../test/support/etcd.js';
import { machine, quick, save } from './harness.js';

const TRIALS = quick ? 2 : 5;
const CHURN = 1000;
const TTL = 2;
const spread = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s.at(-1)!, trials: s.length };
};
const endpoint = (id: string, i: number) => ({ id, address: `127.0.0.1:${10000 + (i % 50000)}`, resources: { accelerator: i % 4 ? 'L4' : 'H100', count: 1 + (i % 8) } });

const etcd = await startEtcd();
const client = etcdClient(etcd.endpoint);
const bar = new cliProgress.SingleBar({ format: ' {phase} |{bar}| {value}/{total}', noTTYOutput: true, notTTYSchedule: 2000 }, cliProgress.Presets.shades_classic);
try {
  // ---- 1. a dead registrant: lease released (no more keep-alives) → endpoint out of the ring ----
  const expiry: number[] = [];
  bar.start(TRIALS, 0, { phase: 'lease expiry' });
  for (let t = 0; t < TRIALS; t++) {
    const prefix = `/bench-expiry-${t}`;
    const mesh = new Mesh();
    mesh.apply({ services: [{ name: 'llm', policy: 'ring-hash', endpoints: [] }] });
    const source = new EtcdDiscovery({ client, prefix });
    mesh.attach(source);
    await source.ready();
    const lease = client.lease(TTL);
    await lease.put(endpointKey('llm', 'gpu-x', prefix)).value(JSON.stringify(endpoint('gpu-x', 1))).exec();
    while (mesh.endpoints('llm').length === 0) await new Promise((r) => setTimeout(r, 5));
    const released = performance.now();
    lease.release();
    while (mesh.endpoints('llm').length !== 0) await new Promise((r) => setTimeout(r, 5));
    expiry.push(performance.now() - released);
    await source.close();
    bar.increment();
  }
  bar.stop();

  // ---- 2. churn: 1,000 endpoints join, then leave, while the mesh routes ----
  const churn: { eventsPerSecond: number; routesPerSecondDuring: number }[] = [];
  bar.start(TRIALS, 0, { phase: 'churn of 1,000' });
  for (let t = 0; t < TRIALS; t++) {
    const prefix = `/bench-churn-${t}`;
    const mesh = new Mesh();
    // Discovery-fed, with the ring unit set to the fleet's typical endpoint (as the README advises).
    mesh.apply({ services: [{ name: 'llm', policy: 'ring-hash', ring: { unit: 2048 }, endpoints: [endpoint('static-0', 0)] }] });
    const source = new EtcdDiscovery({ client, prefix });
    let events = 0;
    mesh.attach(source);
    source.watch((_: DiscoveryEvent) => void events++);
    await source.ready();
    let routes = 0;
    let routing = true;
    const router = (async () => {
      while (routing) {
        for (let i = 0; i < 200; i++) mesh.report(mesh.route({ service: 'llm', key: `session-${routes++}` }), { status: 200, latencyMs: 1 });
        await new Promise((r) => setImmediate(r));
      }
    })();
    const start = performance.now();
    for (let i = 0; i < CHURN; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.put(endpointKey('llm', `gpu-${i + j}`, prefix)).value(JSON.stringify(endpoint(`gpu-${i + j}`, i + j))).exec()));
    for (let i = 0; i < CHURN; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.delete().key(endpointKey('llm', `gpu-${i + j}`, prefix)).exec()));
    while (events < 2 * CHURN) await new Promise((r) => setTimeout(r, 2));
    const seconds = (performance.now() - start) / 1000;
    routing = false;
    await router;
    if (mesh.endpoints('llm').length !== 1) throw new Error(`churn left ${mesh.endpoints('llm').length} endpoints`);
    churn.push({ eventsPerSecond: (2 * CHURN) / seconds, routesPerSecondDuring: routes / seconds });
    await source.close();
    bar.increment();
  }
  bar.stop();

  const result = {
    machine: machine(),
    ttlSeconds: TTL,
    expiryMs: spread(expiry),
    churnEventsPerSecond: spread(churn.map((c) => c.eventsPerSecond)),
    churnRoutesPerSecond: spread(churn.map((c) => c.routesPerSecondDuring)),
  };
  console.log(`\nlease TTL ${TTL} s; registrant stops → endpoint out of the balancer: median ${result.expiryMs.median.toFixed(0)} ms (min ${result.expiryMs.min.toFixed(0)}, max ${result.expiryMs.max.toFixed(0)}, ${TRIALS} trials)`);
  console.log(`churn of ${CHURN} endpoints (join then leave): median ${result.churnEventsPerSecond.median.toFixed(0)} events/s absorbed (min ${result.churnEventsPerSecond.min.toFixed(0)}, max ${result.churnEventsPerSecond.max.toFixed(0)}), while routing ${result.churnRoutesPerSecond.median.toFixed(0)} requests/s`);
  console.log(`\nwrote ${save('etcd', result)}`);
} finally {
  client.close();
  await etcd.destroy();
}
