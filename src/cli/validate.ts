// `wasmesh validate mesh.yaml`: checks a mesh config file and says what it holds.
import { loadConfigFile } from '../mesh/config.js';

export async function validateCommand(file: string): Promise<void> {
  const config = await loadConfigFile(file);
  const endpoints = config.services.reduce((n, s) => n + (s.endpoints?.length ?? 0), 0);
  console.log(`${file}: valid (${config.services.length} services, ${endpoints} endpoints)`);
  for (const s of config.services) console.log(`  ${s.name}: ${s.policy}, ${s.endpoints?.length ?? 0} endpoints`);
}
