// Terminal charts: a person would rather look at a distribution than read a column of numbers.

/** A horizontal bar per row, scaled to the largest value. */
export function bars(rows: readonly { label: string; value: number; note?: string }[], width = 40): string {
  const max = Math.max(...rows.map((r) => r.value), 1e-12);
  const pad = Math.max(...rows.map((r) => r.label.length));
  return rows
    .map((r) => {
      const len = (r.value / max) * width;
      const bar = '█'.repeat(Math.floor(len)) + (len % 1 >= 0.5 ? '▌' : '');
      return `  ${r.label.padStart(pad)} │${bar} ${r.note ?? r.value}`;
    })
    .join('\n');
}

/** Counts of `values` in `bins` equal-width bins over [min, max], as chart rows. */
export function histogram(values: readonly number[], bins: number, format: (x: number) => string) {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const step = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / step))]!++;
  return counts.map((count, b) => ({ label: `${format(lo + b * step)}–${format(lo + (b + 1) * step)}`, value: count, note: String(count) }));
}
