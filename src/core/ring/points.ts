// How many points each node owns, per hash mode.
import { WasmeshError } from '../WasmeshError.js';

/** Most points one node may own (a weight that asks for more is refused). */
export const MAX_NODE_POINTS = 1 << 24;
/** Most points one ring may hold: 64 Mi points are 512 MiB of table. */
export const MAX_RING_POINTS = 1 << 26;

/**
 * Points of a node in the 'xxh32' and 'sha1' modes (README, "Ring construction"): max(1, round(vnodes * weight)),
 * so a weight-0.25 node on a 160-vnode ring owns 40 points.
 */
export function pointCount(vnodes: number, weight: number): number {
  return Math.max(1, Math.round(vnodes * weight));
}

/**
 * md5 digests per node in the 'ketama' mode, each giving 4 points, exactly as the npm hashring
 * package computes them (HashRing.prototype.continuum): the weights summed left to right from
 * 0, then Math.floor(weight / total * vnodes * nodes) in that evaluation order, so the
 * floating-point rounding is the same. A node may get 0 digests there, and so it does here.
 */
export function ketamaDigests(vnodes: number, weights: readonly number[]): number[] {
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map((w) => Math.floor((w / total) * vnodes * weights.length));
}

/** Throws CAPACITY unless a ring of `points` points fits. */
export function checkRingPoints(points: number): void {
  if (points > MAX_RING_POINTS) {
    throw new WasmeshError('CAPACITY', `a ring holds at most ${MAX_RING_POINTS} points; this change needs ${points}`);
  }
}
