// `wasmesh wrr`: the nginx smooth weighted round robin sequence for a set of weights.
import { SmoothWrr } from '../core/SmoothWrr.js';
import type { EngineName } from '../core/options.js';
import { WasmeshError } from '../core/WasmeshError.js';
import { bars } from './chart.js';
import { nameList, weightList } from './args.js';

export interface WrrCommandOptions {
  weights: string;
  picks: number;
  names?: string;
  engine: EngineName;
}

export function wrrCommand(o: WrrCommandOptions): void {
  const weights = weightList(o.weights);
  const names = o.names ? nameList(o.names) : weights.map((_, i) => (i < 26 ? String.fromCharCode(97 + i) : `p${i}`));
  if (names.length !== weights.length) {
    throw new WasmeshError('INVALID_ARGUMENT', `--names has ${names.length} names for ${weights.length} weights`);
  }
  const wrr = new SmoothWrr({ engine: o.engine });
  names.forEach((name, i) => wrr.set(name, weights[i]!));
  const seq = wrr.pickBatch(o.picks) as string[];
  console.log(`smooth weighted round robin (nginx), ${names.map((n, i) => `${n}=${weights[i]}`).join(' ')}, ${o.picks} picks:`);
  console.log(`  ${seq.join(' ')}\n`);
  const total = weights.reduce((a, b) => a + b, 0);
  const counts = new Map<string, number>(names.map((n) => [n, 0]));
  for (const id of seq) counts.set(id, counts.get(id)! + 1);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log('share of picks (weight share in brackets):');
  console.log(bars(names.map((n, i) => ({ label: n, value: counts.get(n)!, note: `${counts.get(n)} picks, ${pct(counts.get(n)! / o.picks)} (${pct(weights[i]! / total)})` }))));
}
