// Server processes the tests start (etcd, Redis): free loopback ports, liveness by PID, and a
// kill of whatever is left when the runner exits.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PIDs of servers started and not yet stopped: killed when the runner exits. */
export const running = new Set<number>();
process.on('exit', () => running.forEach((pid) => alive(pid) && process.kill(pid, 'SIGKILL')));

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  running.delete(pid);
}
