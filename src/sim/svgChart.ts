// Line charts as SVG for simulation results: one panel per figure, offered rate on x, one line
// per policy. Hand-written (about sixty lines) because what is drawn is fixed and a charting
// library would add a dependency many times this size to every install.

/** A series: a policy's value at each rate. */
export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

const kColors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const fmt = (v: number) => (Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : Number.isInteger(v) || v >= 10 ? v.toFixed(0) : v.toFixed(2));

function panel(title: string, yLabel: string, series: readonly Series[], ox: number, w: number, h: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x)), ys = series.flatMap((s) => s.points.map((p) => p.y)).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys, 1e-9) * 1.08;
  const left = ox + 56, right = ox + w - 12, top = 36, bottom = h - 40;
  const sx = (x: number) => (x1 === x0 ? (left + right) / 2 : left + ((x - x0) / (x1 - x0)) * (right - left));
  const sy = (y: number) => bottom - (Math.min(y, y1) / y1) * (bottom - top);
  const out = [`<text x="${ox + w / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4;
    out.push(`<line x1="${left}" x2="${right}" y1="${sy(y)}" y2="${sy(y)}" stroke="#ddd"/><text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  for (const x of [...new Set(xs)]) out.push(`<text x="${sx(x)}" y="${bottom + 16}" text-anchor="middle">${fmt(x)}</text>`);
  out.push(`<text x="${(left + right) / 2}" y="${h - 6}" text-anchor="middle">offered rate (requests/s)</text>`);
  out.push(`<text transform="translate(${ox + 14} ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    const c = kColors[i % kColors.length];
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${c}"/>`);
  });
  return out.join('\n');
}

/** Panels side by side, with one legend for all. */
export function lineCharts(title: string, panels: readonly { title: string; yLabel: string; series: readonly Series[] }[]): string {
  const w = 420, h = 300, legend = 24;
  const names = panels[0]?.series.map((s) => s.name) ?? [];
  const width = w * panels.length;
  const body = panels.map((p, i) => `<g transform="translate(0 ${legend + 20})">${panel(p.title, p.yLabel, p.series, i * w, w, h)}</g>`).join('\n');
  const keys = names.map((n, i) => `<rect x="${12 + i * 110}" y="${legend}" width="12" height="12" fill="${kColors[i % kColors.length]}"/><text x="${28 + i * 110}" y="${legend + 11}">${esc(n)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h + legend + 24}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="12" y="16" font-weight="bold">${esc(title)}</text>
${keys}
${body}
</svg>
`;
}
