// `wasmesh explore`: serves the ring explorer on loopback and prints its address.
import { startExplorer } from '../explore/server.js';

export interface ExploreCommandOptions {
  host: string;
  port: number;
}

export async function exploreCommand(o: ExploreCommandOptions): Promise<void> {
  const explorer = await startExplorer({ host: o.host, port: o.port });
  console.log(`ring explorer: ${explorer.url}  (Ctrl-C to stop)`);
  const stop = () => void explorer.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
