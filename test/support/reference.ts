// A deliberately slow ring built straight from the published construction (README), with hashes from
// independent implementations (xxhashjs from npm, node:crypto): the oracle the engines are
// checked against. It shares no code with src/.
import { createHash } from 'node:crypto';
import XXH from 'xxhashjs';

export type RefMode = 'xxh32' | 'sha1';

export function refHash(mode: RefMode, text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  if (mode === 'xxh32') return XXH.h32(bytes, 0).toNumber() >>> 0;
  return createHash('sha1').update(bytes).digest().readUInt32BE(0);
}

export class ReferenceRing {
  private nodes = new Map<string, number>();
  private points: { pos: number; id: string; i: number }[] = [];

  constructor(readonly mode: RefMode = 'xxh32', readonly vnodes = 160) {}

  add(id: string, weight = 1): void {
    this.nodes.set(id, weight);
    this.rebuild();
  }

  remove(id: string): void {
    this.nodes.delete(id);
    this.rebuild();
  }

  private rebuild(): void {
    const sep = this.mode === 'xxh32' ? '_' : ':';
    this.points = [];
    for (const [id, weight] of this.nodes) {
      const count = Math.max(1, Math.round(this.vnodes * weight));
      for (let i = 0; i < count; i++) this.points.push({ pos: refHash(this.mode, id + sep + i), id, i });
    }
    this.points.sort((a, b) => a.pos - b.pos || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || a.i - b.i);
  }

  private first(key: string): number {
    const h = refHash(this.mode, key);
    const k = this.points.findIndex((p) => p.pos >= h);
    return k < 0 ? 0 : k;
  }

  get(key: string): string | undefined {
    return this.points.length ? this.points[this.first(key)]!.id : undefined;
  }

  getN(key: string, n: number): string[] {
    const out: string[] = [];
    const start = this.first(key);
    for (let s = 0; s < this.points.length && out.length < n; s++) {
      const id = this.points[(start + s) % this.points.length]!.id;
      if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  /** [position, id] in ring order. */
  pointList(): [number, string][] {
    return this.points.map((p) => [p.pos, p.id]);
  }
}
