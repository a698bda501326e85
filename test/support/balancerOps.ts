// Random operation sequences for the balancers that count in-flight cost by slot (p2c, swrr),
// and the endpoints they run on; each property test checks them against its own model.
import fc from 'fast-check';
import type { Endpoint } from '../../src/mesh/endpoints.js';

export const endpoint = (i: number, capacity: number, maxInflight: number): Endpoint => ({ id: `e${i}`, capacity, maxInflight }) as unknown as Endpoint;

export type Op =
  | { kind: 'pick'; cost: number; odd: boolean }
  | { kind: 'release'; at: number; bySlot: boolean }
  | { kind: 'join'; id: number; capacity: number; limit: number }
  | { kind: 'leave'; id: number }
  | { kind: 'carry'; id: number; cost: number };

/** Picks (half of them only to odd-numbered endpoints), releases by slot or id, joins (new or re-weighted, some with limits), leaves, carries. */
export const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('pick' as const), cost: fc.integer({ min: 0, max: 4 }), odd: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('release' as const), at: fc.nat(), bySlot: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('join' as const), id: fc.integer({ min: 0, max: 7 }), capacity: fc.integer({ min: 1, max: 8 }), limit: fc.constantFrom(Infinity, 3, 6) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), id: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('carry' as const), id: fc.integer({ min: 0, max: 7 }), cost: fc.integer({ min: 0, max: 3 }) }) },
);

/** The filter of an 'odd' pick. */
export const oddOnly = (e: Endpoint) => Number(e.id.slice(1)) % 2 === 1;

interface Counting {
  release(id: string, cost: number, slot?: number): void;
  carry(id: string, cost: number): void;
  load(id: string): number;
}

/** The model's in-flight cost, by id in a map, and the picks still held (to release later). */
export class LoadModel {
  readonly load = new Map<string, number>();
  readonly #held: { id: string; cost: number; slot?: number }[] = [];

  get(id: string): number {
    return this.load.get(id) ?? 0;
  }

  picked(id: string, cost: number, slot: number | undefined): void {
    if (cost > 0) this.load.set(id, this.get(id) + cost);
    this.#held.push({ id, cost, slot });
  }

  /** Releases held pick number `at` (modulo) on both, by its slot or by id. */
  release(balancer: Counting, at: number, bySlot: boolean): void {
    if (this.#held.length === 0) return;
    const [h] = this.#held.splice(at % this.#held.length, 1);
    balancer.release(h!.id, h!.cost, bySlot ? h!.slot : undefined);
    if (this.load.has(h!.id)) this.load.set(h!.id, Math.max(0, this.get(h!.id) - h!.cost));
  }

  /** Carries cost on both; it counts only on an endpoint the balancer has. */
  carry(balancer: Counting, id: string, cost: number, present: boolean): void {
    balancer.carry(id, cost);
    if (present && cost > 0) this.load.set(id, this.get(id) + cost);
  }

  /** Every listed endpoint's cost is the model's. */
  check(balancer: Counting, ids: Iterable<string>, equal: (a: number, b: number, id: string) => void): void {
    for (const id of ids) equal(balancer.load(id), this.get(id), id);
  }
}
