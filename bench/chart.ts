// A horizontal bar chart of benchmark results as SVG (log scale: the figures span five orders
// of magnitude), one group of bars per suite, for the README.
import type { Result } from './harness.js';
import { si } from './harness.js';

const palette = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#475569'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function barChart(title: string, results: Result[]): string {
  const suites = [...new Set(results.map((r) => r.suite))];
  const names = [...new Set(results.map((r) => r.name))];
  const color = new Map(names.map((n, i) => [n, palette[i % palette.length]!]));
  const lo = Math.floor(Math.log10(Math.min(...results.map((r) => r.min))));
  const hi = Math.ceil(Math.log10(Math.max(...results.map((r) => r.max))));
  const left = 300, width = 560, bar = 14, gap = 4, head = 40;
  const x = (v: number) => left + ((Math.log10(v) - lo) / (hi - lo)) * width;
  let y = head;
  const parts: string[] = [];
  for (const suite of suites) {
    parts.push(`<text x="8" y="${y + 12}" font-weight="600">${esc(suite)}</text>`);
    y += 18;
    for (const r of results.filter((q) => q.suite === suite)) {
      const c = color.get(r.name)!;
      parts.push(`<text x="${left - 6}" y="${y + 11}" text-anchor="end">${esc(r.name)}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${(x(r.median) - left).toFixed(1)}" height="${bar}" fill="${c}" rx="2"/>`);
      // The spread: slowest to fastest sample.
      parts.push(`<line x1="${x(r.min).toFixed(1)}" x2="${x(r.max).toFixed(1)}" y1="${y + bar / 2}" y2="${y + bar / 2}" stroke="#111" stroke-width="1.5"/>`);
      parts.push(`<text x="${(x(r.max) + 6).toFixed(1)}" y="${y + 11}">${si(r.median)}/s</text>`);
      y += bar + gap;
    }
    y += 10;
  }
  const grid: string[] = [];
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p).toFixed(1);
    grid.push(`<line x1="${gx}" x2="${gx}" y1="${head - 6}" y2="${y}" stroke="#e5e7eb"/>`);
    grid.push(`<text x="${gx}" y="${head - 10}" text-anchor="middle" fill="#6b7280">${si(10 ** p)}</text>`);
  }
  const h = y + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${h}" font-family="system-ui, sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="18" font-size="14" font-weight="700">${esc(title)}</text>
${grid.join('\n')}
${parts.join('\n')}
</svg>
`;
}
