// Load-spread figures over a key-to-node assignment, used by the CLI and the benchmarks.

/** Keys per node: min, mean and max share of the keys, and max/mean (1 is perfect balance). */
export interface LoadSpread {
  nodes: number;
  keys: number;
  minShare: number;
  meanShare: number;
  maxShare: number;
  maxOverMean: number;
}

/** The spread of an assignment (one owner id per key); undefined owners are not counted. */
export function loadSpread(owners: Iterable<string | undefined>, nodes?: Iterable<string>): LoadSpread {
  const counts = new Map<string, number>();
  for (const id of nodes ?? []) counts.set(id, 0);
  let keys = 0;
  for (const id of owners) {
    if (id === undefined) continue;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    keys++;
  }
  const values = [...counts.values()];
  const mean = keys / Math.max(1, values.length);
  const max = Math.max(0, ...values);
  return {
    nodes: values.length,
    keys,
    minShare: Math.min(...values) / keys,
    meanShare: mean / keys,
    maxShare: max / keys,
    maxOverMean: max / mean,
  };
}
