// Under tsx (tests, benchmarks), worker threads do not get its loader (privatenumber/tsx#653),
// so this bootstrap registers it before loading the TypeScript worker. The compiled package
// runs dist/pool/worker.js directly and never loads this file.
import { register } from 'tsx/esm/api';

register();
const { default: route } = await import('./worker.ts');
export default route;
