// Mesh route() end to end: a request routed and reported, per policy, on both engines, against
// the raw core pick on the same table in the same run (what the mesh adds per request). The
// metrics a route records are part of the cost (counters, the route-duration histogram).
//   npm run bench:mesh      npm run bench:mesh -- --quick
import { ensureBuilt } from './built.js';
import { answerPair, find, inFreshProcesses, interleaved, machine, pairWanted, measure, quick, ratio, ratioTable, save, table, type Ratio, type Result } from './harness.js';

// The built package, as users run it (a loader's helpers around closures would be measured too).
const { BoundedLoad, Mesh, SmoothWrr } = (await import(ensureBuilt())) as typeof import('../src/index.js');
type Mesh = InstanceType<typeof Mesh>;

const ENDPOINTS = 100;
const BATCH = 1000;
const results: Result[] = [];
const keys = Array.from({ length: BATCH }, (_, i) => `session-${i}`);
const types = ['H100', 'A100', 'L4', 'cpu'];
const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({ id: `node-${i}`, address: `127.0.0.1:${9000 + i}`, resources: { accelerator: types[i % 4]!, count: i % 4 === 3 ? 2 : 8 } }));
const suiteOf = (policy: string) => `mesh route + report, ${policy}, ${ENDPOINTS} endpoints`;

function meshCase(engine: 'wasm' | 'ts', policy: 'ring-hash' | 'swrr' | 'p2c') {
  const mesh = new Mesh({ engine });
  mesh.apply({ services: [{ name: 'llm', policy, endpoints }] });
  const outcome = { status: 200, latencyMs: 5 };
  return {
    mesh,
    case: {
      name: `${engine} engine`,
      fn: () => {
        for (let i = 0; i < BATCH; i++) mesh.report(mesh.route({ service: 'llm', key: keys[i]! }), outcome);
      },
      items: BATCH,
    },
  };
}

// The raw pick each policy stands on, over the same table: ring.get on the mesh's own ring;
// SmoothWrr.pick over the same weights; p2c as two random draws comparing in-flight counts.
function rawCase(policy: 'ring-hash' | 'swrr' | 'p2c', mesh: Mesh) {
  if (policy === 'ring-hash') {
    const ring = mesh.ring('llm');
    return { name: 'raw ring.get (same ring)', fn: () => { for (let i = 0; i < BATCH; i++) ring.get(keys[i]!); }, items: BATCH };
  }
  if (policy === 'swrr') {
    // The weights the mesh gives them: capacities (accelerator throughput x count), not counts.
    const wrr = new SmoothWrr();
    for (const e of mesh.endpoints('llm')) wrr.set(e.id, e.capacity);
    return { name: 'raw SmoothWrr.pick (same weights)', fn: () => { for (let i = 0; i < BATCH; i++) wrr.pick(); }, items: BATCH };
  }
  const load = new Float64Array(ENDPOINTS);
  let seed = 0x9e3779b9;
  const next = () => ((seed ^= seed << 13), (seed ^= seed >>> 17), (seed ^= seed << 5), (seed >>> 0) / 4294967296);
  return {
    name: 'raw p2c (two draws, typed-array loads)',
    fn: () => {
      for (let i = 0; i < BATCH; i++) {
        const a = (next() * ENDPOINTS) | 0, b = (next() * ENDPOINTS) | 0;
        const at = load[a]! <= load[b]! ? a : b;
        load[at]!++;
        load[at]!--;
      }
    },
    items: BATCH,
  };
}

const TARGET = { "ring-hash": 0.2, swrr: 0.33, p2c: 0.33 } as const;
const POLICIES = ['ring-hash', 'swrr', 'p2c'] as const;
const pairLabel = (policy: (typeof POLICIES)[number], raw: string) => `mesh ${policy} (wasm): route + report / ${raw.replace(/ \(.*/, '')}`;

// A child process: one policy's pair alone (harness.ts, inFreshProcesses).
if (pairWanted !== undefined) {
  const policy = pairWanted as (typeof POLICIES)[number];
  const wasm = meshCase('wasm', policy);
  answerPair(await interleaved('pair', wasm.case, rawCase(policy, wasm.mesh)));
}

const ratios: Ratio[] = [];
const ringHashRates: number[] = [];
// First, route + report against the raw pick in alternating rounds (the ratio with its spread),
// while this process has run the Wasm engine only, as a router's process does: a TS-engine mesh
// run in the same process makes the shared code polymorphic and slows both engines' routes.
for (const policy of POLICIES) {
  const wasm = meshCase('wasm', policy);
  const raw = rawCase(policy, wasm.mesh);
  const paired = await interleaved(`${pairLabel(policy, raw.name)} (interleaved rounds, this process)`, wasm.case, raw);
  ratios.push(paired, await inFreshProcesses(pairLabel(policy, raw.name), import.meta.url, policy, TARGET[policy]));
  if (policy === 'ring-hash') {
    ringHashRates.push(...paired.rates);
    // What bounded loads alone cost on the same ring: the public BoundedLoad, a request's cost
    // counted and released (its pick tests the owner's bound; the get under it is the raw case).
    // The mesh's route and report add the rest: the route object, the counts, health, metrics.
    const ring = wasm.mesh.ring('llm');
    const bounded = new BoundedLoad(ring, { c: 1.25 });
    for (const e of wasm.mesh.endpoints('llm')) bounded.setCapacity(e.id, e.capacity);
    const alone = { name: 'raw BoundedLoad acquireSlot + releaseSlot', fn: () => { for (let i = 0; i < BATCH; i++) bounded.releaseSlot(bounded.acquireSlot(keys[i]!)); }, items: BATCH };
    ratios.push(await interleaved('mesh ring-hash (wasm): route + report / BoundedLoad acquireSlot + releaseSlot, same ring (interleaved rounds)', wasm.case, alone));
    ratios.push(await interleaved('BoundedLoad acquireSlot + releaseSlot / raw ring.get, same ring (interleaved rounds)', alone, raw));
    bounded.dispose();
  }
}
// Then both engines side by side, for the table and the engine ratio.
for (const policy of POLICIES) {
  const wasm = meshCase('wasm', policy), ts = meshCase('ts', policy);
  results.push(...(await measure(suiteOf(policy), [wasm.case, ts.case, rawCase(policy, wasm.mesh)])));
  const s = suiteOf(policy);
  ratios.push(ratio(`mesh ${policy}: wasm / ts engine`, find(results, s, 'wasm engine'), find(results, s, 'ts engine')));
}
// Routes while endpoints stand out: one ejected by outlier detection, or every endpoint with a
// maximum of requests in flight (never reached here, as most of the time in a fleet), or with a
// maximum in-flight cost. The ejected and the full are out of the balancer's table until they
// come back (no filter per route); in-flight cost limits are read per route over typed arrays.
const standingCases = ['one endpoint ejected', 'maxRequests on every endpoint', 'maxInflight on every endpoint'] as const;
function standingMesh(policy: (typeof POLICIES)[number], variant: (typeof standingCases)[number]): Mesh {
  const limited = endpoints.map((e) => (variant === 'maxRequests on every endpoint' ? { ...e, maxRequests: 1e6 } : variant === 'maxInflight on every endpoint' ? { ...e, maxInflight: 1e6 } : e));
  const mesh = new Mesh({ engine: 'wasm', clock: () => 1 });
  mesh.apply({ services: [{ name: 'llm', policy, endpoints: limited, outlier: { consecutiveFailures: 1 } }] });
  // node-4 (an H100, on every ring) fails once: ejected for the rest of the run (the clock stands still).
  for (let i = 0; variant === 'one endpoint ejected' && mesh.ejected('llm').length === 0; i++) {
    if (i > 100_000) throw new Error('node-4 was never routed to');
    const r = mesh.route({ service: 'llm', key: `eject-${i}` });
    mesh.report(r, { status: r.endpoint.id === 'node-4' ? 503 : 200 });
  }
  return mesh;
}
for (const policy of POLICIES) {
  const suite = `mesh route + report, ${policy}, 100 endpoints, standing out`;
  const cases = [meshCase('wasm', policy).case, ...standingCases.map((variant) => {
    const mesh = standingMesh(policy, variant);
    const outcome = { status: 200, latencyMs: 5 };
    return { name: variant, fn: () => { for (let i = 0; i < BATCH; i++) mesh.report(mesh.route({ service: 'llm', key: keys[i]! }), outcome); }, items: BATCH };
  })];
  cases[0]!.name = 'none (as above)';
  results.push(...(await measure(suite, cases)));
  for (const variant of standingCases) ratios.push(ratio(`mesh ${policy}, ${variant}: route + report / with none`, find(results, suite, variant), find(results, suite, 'none (as above)')));
}

// At the limit: maxRequests 1 on every endpoint and 99 of the 100 held, so that an endpoint goes
// out at nearly every route and comes back at every report (a report, then a route, a pair).
{
  const suite = `mesh report + route at the request limit, 99 of ${ENDPOINTS} endpoints full`;
  results.push(
    ...(await measure(
      suite,
      POLICIES.map((policy) => {
        const mesh = new Mesh({ engine: 'wasm' });
        mesh.apply({ services: [{ name: 'llm', policy, endpoints: endpoints.map((e) => ({ ...e, maxRequests: 1 })) }] });
        const held = Array.from({ length: ENDPOINTS - 1 }, (_, i) => mesh.route({ service: 'llm', key: `held-${i}` }));
        let at = 0;
        return {
          name: policy,
          fn: () => {
            for (let i = 0; i < BATCH; i++) {
              mesh.report(held[at]!);
              held[at] = mesh.route({ service: 'llm', key: keys[i]! });
              at = (at + 1) % held.length;
            }
          },
          items: BATCH,
        };
      }),
    )),
  );
}

// Garbage collection while routing (ring-hash, Wasm): steady-state routing allocates nothing but
// the route it returns, so the collector's share of the time stays under 5%.
const { PerformanceObserver } = await import('node:perf_hooks');
let gcMs = 0;
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
observer.observe({ entryTypes: ['gc'] });
const gc = meshCase('wasm', 'ring-hash');
const t0 = performance.now();
for (let i = 0; i < (quick ? 200 : 2000); i++) gc.case.fn();
const wallMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50));
observer.disconnect();
const gcShare = gcMs / wallMs;
console.log(`\nGC while routing (ring-hash, wasm): ${(gcShare * 100).toFixed(1)}% of ${wallMs.toFixed(0)} ms`);
ratios.push({ label: 'mesh ring-hash (wasm): 5% / share of time in GC while routing', value: 0.05 / Math.max(gcShare, 1e-6), target: 1 });
// The absolute floor: 2 M route + report per second on ring-hash (500 ns each), the median of
// the interleaved rounds (10th..90th percentile as the spread).
const q = (p: number) => [...ringHashRates].sort((x, y) => x - y)[Math.floor(p * ringHashRates.length)]! / 2e6;
ratios.push({ label: 'mesh ring-hash (wasm): route + report per second / 2 M (interleaved rounds)', value: q(0.5), low: q(0.1), high: q(0.9), target: 1 });
console.log('\n' + table(results) + '\n\n' + ratioTable(ratios));
console.log(`\nwrote ${save('mesh', { machine: machine(), results, ratios, gcShare })}`);
