import type { Mesh } from '../../src/index.js';

/** Where each key is routed now, each request reported at once so none stays in flight. */
export function routedTo(mesh: Mesh, service: string, keys: readonly string[]): string[] {
  return keys.map((key) => {
    const r = mesh.route({ service, key, cost: 1e-9 });
    mesh.report(r);
    return r.endpoint.id;
  });
}
