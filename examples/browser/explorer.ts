// The ring explorer: a HashRing drawn as arcs, keys that move when nodes change, key share
// against weight share, and the smooth weighted round robin sequence for the same weights.
// Served by `wasmesh explore`; imports the browser bundle through the page's import map.
import { HashRing, SmoothWrr, movedShare, type EngineName, type HashName } from 'wasmesh';

interface NodeSpec {
  id: string;
  weight: number;
  color: string;
}

/** What the page exposes to scripts (and to the browser test). */
export interface ExplorerApi {
  /** Maps keys on a fresh ring built from these inputs: cross-environment determinism checks. */
  map(o: { hash: HashName; engine: EngineName; vnodes: number; nodes: [string, number][]; keys: string[] }): (string | undefined)[];
  /** The first n smooth weighted round robin picks for these weights. */
  picks(o: { engine: EngineName; weights: [string, number][]; n: number }): (string | undefined)[];
  /** The page's ring and the last change's movement. */
  state(): { nodes: [string, number][]; hash: HashName; engine: EngineName; vnodes: number; movedExact: number; movedKeys: number };
}

declare global {
  interface Window {
    explorer: ExplorerApi;
  }
}

const palette = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#475569', '#0d9488', '#9333ea'];
const SAMPLE = 2000;
const keys = Array.from({ length: SAMPLE }, (_, i) => `session-${i}`);
const TAU = 2 * Math.PI;
const R_ARC = 205;
const R_KEYS = 165;

/** Node ids come from the add form: escaped before they reach innerHTML. */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const $ = <T extends HTMLElement | SVGElement>(id: string) => document.getElementById(id) as unknown as T;
const svgNs = 'http://www.w3.org/2000/svg';

const state = {
  hash: 'xxh32' as HashName,
  engine: 'wasm' as EngineName,
  vnodes: 40,
  serial: 0,
  nodes: [] as NodeSpec[],
};
let ring: HashRing;
let owners: (string | undefined)[] = [];
let movedKeys = new Set<number>();
let movedExact = 0;

function addSpec(id: string, weight: number): void {
  state.nodes.push({ id, weight, color: palette[state.serial++ % palette.length]! });
}
[['h100-1', 4], ['h100-2', 4], ['a100-1', 2], ['l4-1', 1], ['cpu-1', 0.25]].forEach(([id, w]) => addSpec(id as string, w as number));

function build(): HashRing {
  return new HashRing({ hash: state.hash, engine: state.engine, vnodes: state.vnodes }).addMany(state.nodes.map((n) => [n.id, { weight: n.weight }] as const));
}

/** Applies a change, then reports exactly how much of the key space moved and which keys. */
function change(label: string, mutate: () => void): void {
  const before = ring;
  const beforeOwners = owners;
  mutate();
  ring = build();
  owners = ring.getBatch(keys);
  movedKeys = new Set(owners.flatMap((id, i) => (id !== beforeOwners[i] ? [i] : [])));
  movedExact = movedShare(before, ring);
  before.dispose();
  const status = $<HTMLElement>('moved');
  status.dataset.movedExact = String(movedExact);
  status.dataset.movedKeys = String(movedKeys.size);
  status.innerHTML = `${esc(label)}: <b>${(movedExact * 100).toFixed(3)}%</b> of the key space moved (exact, from the arcs) · ` +
    `${movedKeys.size.toLocaleString('en')} of ${SAMPLE.toLocaleString('en')} sample keys moved (highlighted)`;
  render();
}

function reset(): void {
  ring?.dispose();
  ring = build();
  owners = ring.getBatch(keys);
  movedKeys = new Set();
  movedExact = 0;
  const status = $<HTMLElement>('moved');
  status.dataset.movedExact = '0';
  status.dataset.movedKeys = '0';
  status.textContent = `${state.hash} ring, ${state.engine} engine: change a node to see which keys move.`;
  render();
}

const angle = (pos: number) => (pos / 2 ** 32) * TAU - TAU / 4;
const at = (r: number, a: number) => `${(r * Math.cos(a)).toFixed(2)} ${(r * Math.sin(a)).toFixed(2)}`;

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(svgNs, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function arc(from: number, to: number, color: string): SVGElement {
  // An arc of the ring from position `from` to `to` (clockwise, to >= from).
  const a0 = angle(from), a1 = angle(to);
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return el('path', { d: `M ${at(R_ARC, a0)} A ${R_ARC} ${R_ARC} 0 ${large} 1 ${at(R_ARC, a1)}`, stroke: color, 'stroke-width': 26, fill: 'none' });
}

function renderRing(): void {
  const svg = $<SVGSVGElement>('ring');
  svg.replaceChildren();
  const color = new Map(state.nodes.map((n) => [n.id, n.color]));
  const points = ring.pointList();
  svg.append(el('circle', { r: R_ARC, fill: 'none', stroke: '#e5e7eb', 'stroke-width': 26 }));
  // Each point owns the arc from the previous point to itself; runs of one owner are one path.
  for (let k = 0; k < points.length; ) {
    const owner = points[k]![1];
    let end = k;
    while (end + 1 < points.length && points[end + 1]![1] === owner) end++;
    const from = k === 0 ? 0 : points[k - 1]![0];
    svg.append(arc(from, points[end]![0], color.get(owner)!));
    k = end + 1;
  }
  if (points.length) svg.append(arc(points[points.length - 1]![0], 2 ** 32 - 1, color.get(points[0]![1])!));
  for (const [p] of points) {
    const a = angle(p);
    svg.append(el('line', { x1: (R_ARC - 13) * Math.cos(a), y1: (R_ARC - 13) * Math.sin(a), x2: (R_ARC - 19) * Math.cos(a), y2: (R_ARC - 19) * Math.sin(a), stroke: '#9ca3af', 'stroke-width': 0.6 }));
  }
  keys.forEach((key, i) => {
    const a = angle(ring.hashKey(key));
    const moved = movedKeys.has(i);
    const jitter = R_KEYS - (i % 7) * 6;
    svg.append(el('circle', {
      cx: (jitter * Math.cos(a)).toFixed(2),
      cy: (jitter * Math.sin(a)).toFixed(2),
      r: moved ? 3.6 : 1.8,
      fill: color.get(owners[i] ?? '') ?? '#9ca3af',
      stroke: moved ? '#111827' : 'none',
      'stroke-width': moved ? 1.2 : 0,
      opacity: moved || movedKeys.size === 0 ? 1 : 0.45,
    }));
  });
  svg.append(el('text', { 'text-anchor': 'middle', y: -6, 'font-size': 20, 'font-weight': 700, fill: '#1f2937' }, `${ring.size} nodes`));
  svg.append(el('text', { 'text-anchor': 'middle', y: 16, 'font-size': 13, fill: '#6b7280' }, `${ring.points.toLocaleString('en')} points · ${state.hash}`));
  svg.append(el('text', { 'text-anchor': 'middle', y: 34, 'font-size': 12, fill: '#6b7280' }, `${SAMPLE.toLocaleString('en')} keys as dots`));
}

function renderNodes(): void {
  const list = $<HTMLUListElement>('nodes');
  list.replaceChildren(
    ...state.nodes.map((n) => {
      const li = document.createElement('li');
      li.innerHTML = `<span class="swatch" style="background:${n.color}"></span><span>${esc(n.id)}</span>` +
        `<input type="range" min="0.25" max="8" step="0.25" value="${n.weight}" aria-label="weight of ${esc(n.id)}">` +
        `<output>${n.weight}</output><button aria-label="remove ${esc(n.id)}" title="remove">×</button>`;
      const slider = li.querySelector('input')!;
      slider.addEventListener('input', () => (li.querySelector('output')!.textContent = slider.value));
      slider.addEventListener('change', () => change(`weight of ${n.id} ${n.weight} → ${slider.value}`, () => (n.weight = Number(slider.value))));
      li.querySelector('button')!.addEventListener('click', () => {
        if (state.nodes.length > 1) change(`removed ${n.id}`, () => state.nodes.splice(state.nodes.indexOf(n), 1));
      });
      return li;
    }),
  );
  ($<HTMLInputElement>('add-name')).value = `gpu-${state.serial + 1}`;
}

function renderShares(): void {
  const shares = ring.shares();
  const total = state.nodes.reduce((s, n) => s + n.weight, 0);
  const rows = state.nodes.map((n) => {
    const key = shares.get(n.id) ?? 0;
    const weight = n.weight / total;
    return `<div class="bar"><span>${esc(n.id)}</span><span class="track"><span class="key" style="width:${(key * 100).toFixed(2)}%;background:${n.color}"></span>` +
      `<span class="weight" style="width:${(weight * 100).toFixed(2)}%"></span></span><span>${(key * 100).toFixed(1)}% / ${(weight * 100).toFixed(1)}%</span></div>`;
  });
  $<HTMLElement>('shares').innerHTML = rows.join('') + '<div class="legend">coloured: share of the key space (exact, from the arcs) · dark: share of the weight</div>';
}

/** A cell label: first letter and trailing number, 'h100-2' -> 'h2'. */
const short = (id: string) => id.replace(/^(.).*?(\d*)$/, '$1$2').slice(0, 4);

function renderWrr(): void {
  const wrr = new SmoothWrr({ engine: state.engine });
  state.nodes.forEach((n) => wrr.set(n.id, n.weight));
  const color = new Map(state.nodes.map((n) => [n.id, n.color]));
  $<HTMLElement>('wrr').innerHTML = wrr
    .pickBatch(50)
    .map((id) => `<span style="background:${color.get(id!)}" title="${esc(id!)}">${esc(short(id!))}</span>`)
    .join('');
  wrr.dispose();
}

function render(): void {
  renderRing();
  renderNodes();
  renderShares();
  renderWrr();
}

$<HTMLFormElement>('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const id = ($<HTMLInputElement>('add-name')).value.trim();
  const weight = Number(($<HTMLInputElement>('add-weight')).value);
  if (!id || state.nodes.some((n) => n.id === id) || !(weight > 0)) return;
  change(`added ${id}`, () => addSpec(id, weight));
});
$<HTMLFormElement>('options').addEventListener('input', () => {
  state.hash = ($<HTMLSelectElement>('hash')).value as HashName;
  state.engine = ($<HTMLSelectElement>('engine')).value as EngineName;
  state.vnodes = Number(($<HTMLInputElement>('vnodes')).value);
  $<HTMLOutputElement>('vnodes-out').textContent = String(state.vnodes);
  reset();
});

window.explorer = {
  map(o) {
    const r = new HashRing({ hash: o.hash, engine: o.engine, vnodes: o.vnodes }).addMany(o.nodes.map(([id, weight]) => [id, { weight }] as const));
    const out = r.getBatch(o.keys);
    r.dispose();
    return out;
  },
  picks(o) {
    const w = new SmoothWrr({ engine: o.engine });
    o.weights.forEach(([id, weight]) => w.set(id, weight));
    return w.pickBatch(o.n);
  },
  state: () => ({ nodes: state.nodes.map((n) => [n.id, n.weight]), hash: state.hash, engine: state.engine, vnodes: state.vnodes, movedExact, movedKeys: movedKeys.size }),
};

reset();
document.body.dataset.ready = 'true';
