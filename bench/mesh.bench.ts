// Mesh route() end to end: a request routed and reported, per policy, on both engines; the
// metrics a route records are part of the cost (prom-client counters and a histogram).
//   npm run bench:mesh      npm run bench:mesh -- --quick
import { Mesh } from '../src/index.js';
import { find, machine, measure, ratio, ratioTable, save, table, type Result } from './harness.js';

const ENDPOINTS = 32;
const BATCH = 1000;
const results: Result[] = [];
const keys = Array.from({ length: BATCH }, (_, i) => `session-${i}`);
const types = ['H100', 'A100', 'L4', 'cpu'];
const endpoints = Array.from({ length: ENDPOINTS }, (_, i) => ({ id: `node-${i}`, address: `127.0.0.1:${9000 + i}`, resources: { accelerator: types[i % 4]!, count: i % 4 === 3 ? 2 : 8 } }));

for (const policy of ['ring-hash', 'swrr', 'p2c'] as const) {
  const cases = (['wasm', 'ts'] as const).map((engine) => {
    const mesh = new Mesh({ engine });
    mesh.apply({ services: [{ name: 'llm', policy, endpoints }] });
    return {
      name: `${engine} engine`,
      fn: () => {
        for (let i = 0; i < BATCH; i++) mesh.report(mesh.route({ service: 'llm', key: keys[i]! }), { status: 200, latencyMs: 5 });
      },
      items: BATCH,
    };
  });
  results.push(...(await measure(`mesh route + report, ${policy}, ${ENDPOINTS} endpoints`, cases)));
}

const ratios = (['ring-hash', 'swrr', 'p2c'] as const).map((p) => {
  const suite = `mesh route + report, ${p}, ${ENDPOINTS} endpoints`;
  return ratio(`mesh ${p}: wasm / ts engine`, find(results, suite, 'wasm engine'), find(results, suite, 'ts engine'));
});
console.log('\n' + table(results) + '\n\n' + ratioTable(ratios));
console.log(`\nwrote ${save('mesh', { machine: machine(), results, ratios })}`);
