// Smooth weighted round robin: Wasm (cycle, v128 and scalar steps) vs the TS twin vs a plain
// JavaScript nginx loop vs the npm weighted-round-robin package, in one run.
//   node --import tsx bench/wrr.bench.ts [--quick]        (npm run bench:wrr)
// Writes bench/results/wrr.json and prints the figures and the ratios against the targets of
// the smooth-WRR issue.
import Peers from 'weighted-round-robin';
import { SmoothWrr } from '../src/index.js';
import { WasmWrrTable } from '../src/core/wrr/WasmWrrTable.js';
import { TsWrrTable } from '../src/core/wrr/TsWrrTable.js';
import { find, machine, measure, quick, ratio, ratioTable, save, table, type Result } from './harness.js';

const BATCH = 1000;
const results: Result[] = [];
const weightOf = (i: number) => 1 + (i % 5);

/** nginx's loop as a JavaScript developer would write it: an array of peer objects. */
class PlainNginx {
  peers: { id: string; weight: number; effective: number; current: number }[] = [];
  add(id: string, weight: number) {
    this.peers.push({ id, weight, effective: weight, current: 0 });
  }
  pick(): string {
    let best = this.peers[0]!;
    let total = 0;
    for (const p of this.peers) {
      p.current += p.effective;
      total += p.effective;
      if (p.effective < p.weight) p.effective++;
      if (p.current > best.current) best = p;
    }
    best.current -= total;
    return best.id;
  }
  pickBatch(n: number): string[] {
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.pick();
    return out;
  }
}

const sizes = [3, 16, 256, 1024];
for (const n of sizes) {
  const ids = Array.from({ length: n }, (_, i) => `10.1.${i >> 8}.${i & 255}:9000`);
  const fill = <T extends { set(id: string, w: number): unknown }>(t: T) => {
    ids.forEach((id, i) => t.set(id, weightOf(i)));
    return t;
  };
  const wasm = fill(new SmoothWrr());
  const ts = fill(new SmoothWrr({ engine: 'ts' }));
  const wasmStep = fill(new SmoothWrr({ cycle: false }));
  const tsStep = fill(new SmoothWrr({ engine: 'ts', cycle: false }));
  const changing = fill(new SmoothWrr());
  const plain = new PlainNginx();
  ids.forEach((id, i) => plain.add(id, weightOf(i)));
  const peers = new Peers();
  ids.forEach((id, i) => peers.add({ id, weight: weightOf(i) }));
  // The step strategies of the Wasm core: its own choice (SIMD_FROM), and forced: v128 from 0
  // peers, or never.
  const engine = new WasmWrrTable(0);
  const simd = new WasmWrrTable(0, 0);
  const scalar = new WasmWrrTable(0, 1 << 30);
  const twin = new TsWrrTable(0);
  ids.forEach((_, i) => [engine, simd, scalar, twin].forEach((t) => t.set(i, weightOf(i))));
  const slots = new Int32Array(BATCH);
  let turn = 0;
  // Same answers, or the comparison means nothing.
  const a = wasm.pickBatch(50), b = plain.pickBatch(50), c = wasmStep.pickBatch(50), d = ts.pickBatch(50), e = tsStep.pickBatch(50);
  if ([b, c, d, e].some((s) => s.join() !== a.join())) throw new Error(`engines disagree at ${n} peers`);
  results.push(
    ...(await measure(`${n} peers`, [
      { name: 'wasm pickBatch', fn: () => wasm.pickBatch(BATCH), items: BATCH },
      { name: 'ts twin pickBatch', fn: () => ts.pickBatch(BATCH), items: BATCH },
      { name: 'plain JS nginx loop', fn: () => plain.pickBatch(BATCH), items: BATCH },
      { name: 'weighted-round-robin get', fn: () => { for (let i = 0; i < BATCH; i++) peers.get(); }, items: BATCH },
      { name: 'wasm pickBatch, no cycle', fn: () => wasmStep.pickBatch(BATCH), items: BATCH },
      { name: 'ts twin pickBatch, no cycle', fn: () => tsStep.pickBatch(BATCH), items: BATCH },
      { name: 'wasm core step', fn: () => engine.pickBatch(slots, BATCH), items: BATCH },
      { name: 'wasm core step, v128', fn: () => simd.pickBatch(slots, BATCH), items: BATCH },
      { name: 'wasm core step, scalar', fn: () => scalar.pickBatch(slots, BATCH), items: BATCH },
      { name: 'ts twin core step', fn: () => twin.pickBatch(slots, BATCH), items: BATCH },
      // A weight changes before every batch: the cycle is never usable.
      { name: 'wasm, a weight change per batch', fn: () => { changing.set(ids[turn++ % n]!, 1 + (turn % 7)); changing.pickBatch(BATCH); }, items: BATCH },
    ])),
  );
}

// Where the v128 step starts to win, for SIMD_FROM (src/core/wrr/WrrTable.ts).
// Quick runs skip it: the crossover needs the full run's samples to mean anything.
for (const n of quick ? [] : [4, 8, 12, 16, 20, 24, 32]) {
  const simd = new WasmWrrTable(0, 0);
  const scalar = new WasmWrrTable(0, 1 << 30);
  for (let i = 0; i < n; i++) [simd, scalar].forEach((t) => t.set(i, weightOf(i)));
  const slots = new Int32Array(BATCH);
  results.push(
    ...(await measure(`step strategy, ${n} peers`, [
      { name: 'v128', fn: () => simd.pickBatch(slots, BATCH), items: BATCH },
      { name: 'scalar', fn: () => scalar.pickBatch(slots, BATCH), items: BATCH },
    ])),
  );
}

const r = (n: number, name: string) => find(results, `${n} peers`, name);
const ratios = [
  ratio('3 peers: wasm pickBatch / plain JS nginx loop', r(3, 'wasm pickBatch'), r(3, 'plain JS nginx loop'), 1),
  ratio('16 peers: wasm pickBatch / plain JS nginx loop', r(16, 'wasm pickBatch'), r(16, 'plain JS nginx loop'), 2),
  ratio('256 peers: wasm pickBatch / plain JS nginx loop', r(256, 'wasm pickBatch'), r(256, 'plain JS nginx loop'), 4),
  ratio('16 peers: wasm pickBatch / weighted-round-robin', r(16, 'wasm pickBatch'), r(16, 'weighted-round-robin get'), 10),
  ratio('3 peers, step path: wasm / ts twin', r(3, 'wasm core step'), r(3, 'ts twin core step')),
  ratio('16 peers, step path: wasm / ts twin', r(16, 'wasm core step'), r(16, 'ts twin core step'), 2),
  ratio('256 peers, step path: wasm / ts twin', r(256, 'wasm core step'), r(256, 'ts twin core step'), 4),
  ratio('1024 peers, step path: wasm / ts twin', r(1024, 'wasm core step'), r(1024, 'ts twin core step')),
  ...(quick ? [] : [4, 8, 12, 16, 20, 24, 32]).map((n) => ratio(`${n} peers: v128 / scalar step`, find(results, `step strategy, ${n} peers`, 'v128'), find(results, `step strategy, ${n} peers`, 'scalar'))),
];

console.log('\n' + table(results) + '\n\n' + ratioTable(ratios));
const file = save('wrr', { machine: machine(), results, ratios });
console.log(`\nwrote ${file}`);
