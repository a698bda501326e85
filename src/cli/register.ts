// `wasmesh register`: a backend announces itself in etcd under a lease and keeps it alive until
// it is stopped (SIGINT/SIGTERM revoke the lease, so the endpoint leaves at once; a crash lets
// the lease run out after its TTL).
import { messageOf, show, WasmeshError } from '../core/WasmeshError.js';
import { kAcceleratorCatalog } from '../mesh/catalog.js';
import { validateEndpoint } from '../mesh/config.js';
import { etcdClient, registerEndpoint } from '../mesh/etcd.js';

export interface RegisterCommandOptions {
  etcd: string;
  service: string;
  id: string;
  address: string;
  accelerator: string;
  count: number;
  zone?: string;
  ttl: number;
  prefix: string;
}

export async function registerCommand(o: RegisterCommandOptions): Promise<void> {
  const endpoint = { id: o.id, address: o.address, ...(o.zone ? { zone: o.zone } : {}), resources: { accelerator: o.accelerator, count: o.count } };
  // An endpoint every mesh would refuse is not registered: checked here, before etcd is asked.
  validateEndpoint(endpoint, '--id/--address/--accelerator');
  if (!kAcceleratorCatalog[o.accelerator]) {
    throw new WasmeshError('INVALID_ARGUMENT', `--accelerator ${show(o.accelerator)} is not in the catalog; known: ${Object.keys(kAcceleratorCatalog).join(', ')} (a mesh config can add types in catalog:)`);
  }
  const client = etcdClient(o.etcd);
  let registration;
  try {
    registration = await registerEndpoint({
      client,
      service: o.service,
      endpoint,
      prefix: o.prefix,
      ttlSeconds: o.ttl,
      onRenew: (error) => console.error(`lease lost (${messageOf(error)}); registering again with a new lease`),
    });
  } catch (error) {
    client.close();
    throw error;
  }
  console.log(`registered ${registration.key} (lease ttl ${o.ttl} s); Ctrl-C to deregister`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await registration.close();
  client.close();
  console.log(`deregistered ${registration.key}`);
}
