// Fleets the simulator runs: endpoints by accelerator, each one replica of the served model.
import { WasmeshError } from '../core/WasmeshError.js';
import type { DeviceSpec } from './costModel.js';

/** One replica: its id and device; `kvTokens` overrides the KV capacity computed from memory. */
export interface SimEndpoint extends DeviceSpec {
  readonly id: string;
  readonly kvTokens?: number;
}

export interface Fleet {
  readonly name: string;
  readonly model: string;
  readonly endpoints: readonly SimEndpoint[];
  readonly description: string;
}

const many = (n: number, accelerator: string, extra: Partial<SimEndpoint> = {}): SimEndpoint[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${accelerator.toLowerCase()}-${i + 1}`, accelerator, ...extra }));

export const kFleets: Readonly<Record<string, Fleet>> = Object.freeze({
  homogeneous: { name: 'homogeneous', model: 'llama-3.1-8b', endpoints: many(8, 'A100'), description: '8 x A100 80GB, Llama-3.1-8B' },
  mixed: {
    name: 'mixed',
    model: 'llama-3.1-8b',
    // CPU boxes serve from host memory: 256 GiB each.
    endpoints: [...many(2, 'H100'), ...many(4, 'A100'), ...many(4, 'L4'), ...many(2, 'cpu', { memoryGiB: 256 })],
    description: '2 x H100 + 4 x A100 + 4 x L4 + 2 CPU servers, Llama-3.1-8B',
  },
  'b2b-73': { name: 'b2b-73', model: 'llama-3.1-8b', endpoints: many(8, 'H100', { kvTokens: 307_328 }), description: "8 x H100 of 307,328 KV tokens each (llm-d's benchmark)" },
});

export function fleetOf(name: string): Fleet {
  const fleet = kFleets[name];
  if (!fleet) throw new WasmeshError('INVALID_ARGUMENT', `unknown fleet ${JSON.stringify(name)}; known: ${Object.keys(kFleets).join(', ')}`);
  return fleet;
}
