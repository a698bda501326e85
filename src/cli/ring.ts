// `wasmesh ring`: the load spread of a ring and the lookup speed of both engines on it.
import { HashRing, type HashName } from '../core/HashRing.js';
import { loadSpread } from '../core/stats.js';
import { bars, histogram } from './chart.js';
import { weightList } from './args.js';

export interface RingCommandOptions {
  nodes: number;
  vnodes: number;
  keys: number;
  hash: HashName;
  weights?: string;
}

const CHUNK = 1 << 16;

export function ringCommand(o: RingCommandOptions): void {
  const weights = o.weights === undefined ? [1] : weightList(o.weights);
  const ids = Array.from({ length: o.nodes }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:8000`);
  const nodes = ids.map((id, i) => [id, { weight: weights[i % weights.length]! }] as const);
  const keys = Array.from({ length: o.keys }, (_, i) => `user:${i}`);
  const chunks: string[][] = [];
  for (let at = 0; at < keys.length; at += CHUNK) chunks.push(keys.slice(at, at + CHUNK));

  const slots = { wasm: new Int32Array(o.keys), ts: new Int32Array(o.keys) };
  const speed: Record<string, number> = {};
  let ring: HashRing | undefined;
  for (const engine of ['wasm', 'ts'] as const) {
    const r = new HashRing({ vnodes: o.vnodes, hash: o.hash, engine }).addMany(nodes);
    ring ??= r;
    const out = slots[engine];
    // One warm-up pass, then the median of three timed ones.
    const rates: number[] = [];
    for (let pass = 0; pass < 4; pass++) {
      const start = performance.now();
      chunks.forEach((chunk, c) => r.getSlots(chunk, out.subarray(c * CHUNK)));
      if (pass > 0) rates.push(o.keys / ((performance.now() - start) / 1000));
    }
    speed[engine] = rates.sort((a, b) => a - b)[1]!;
  }
  const agree = slots.wasm.every((s, i) => s === slots.ts[i]);
  const owners = Array.from(slots.wasm, (s) => ring!.nodeAt(s));
  const spread = loadSpread(owners, ids);
  const pct = (x: number) => `${(x * 100).toFixed(3)}%`;

  console.log(`ring: ${o.nodes} nodes, vnodes ${ring!.options.vnodes}, ${ring!.points} points, hash ${o.hash}, ${o.keys} keys`);
  if (o.weights) console.log(`weights cycled over the nodes: ${weights.join(', ')}`);
  console.log('\nlookup throughput, median of 3 passes (batches of string keys, hashing included):');
  console.log(bars([
    { label: 'wasm', value: speed.wasm!, note: `${(speed.wasm! / 1e6).toFixed(2)} M keys/s` },
    { label: 'ts twin', value: speed.ts!, note: `${(speed.ts! / 1e6).toFixed(2)} M keys/s` },
  ]));
  console.log(`  wasm / ts: ${(speed.wasm! / speed.ts!).toFixed(2)}x; engines ${agree ? 'agree on every key' : 'DISAGREE'}`);
  console.log(`\nload per node (share of keys): min ${pct(spread.minShare)}  mean ${pct(spread.meanShare)}  max ${pct(spread.maxShare)}  max/mean ${spread.maxOverMean.toFixed(3)}`);
  if (weights.length === 1) {
    const counts = new Map<string, number>(ids.map((id) => [id, 0]));
    for (const id of owners) counts.set(id!, counts.get(id!)! + 1);
    const relative = [...counts.values()].map((c) => c / (o.keys / o.nodes));
    console.log('\nnodes by load / mean load:');
    console.log(bars(histogram(relative, Math.min(10, o.nodes), (x) => x.toFixed(2))));
  } else {
    const shares = ring!.shares();
    console.log('\nkey share vs weight share, by weight class:');
    const total = nodes.reduce((s, [, w]) => s + w.weight, 0);
    console.log(bars(weights.filter((w, i) => weights.indexOf(w) === i).map((w) => {
      const cls = nodes.filter(([, n]) => n.weight === w).map(([id]) => id);
      const share = cls.reduce((s, id) => s + shares.get(id)!, 0);
      return { label: `weight ${w}`, value: share, note: `${pct(share)} of keys, ${pct((cls.length * w) / total)} of weight` };
    })));
  }
  if (!agree) process.exitCode = 1;
}
