// Server processes the tests start (etcd, Redis): free loopback ports, liveness by PID, and a
// kill of whatever is left when the runner exits.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
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

/**
 * Starts a server in its own session (a test's timeout does not take it down with the runner),
 * output appended to `log`, and polls `ready` every `everyMs` until it answers; returns its PID.
 * Throws, naming the log, when it exits first or does not answer within `tries` polls.
 */
export async function launch(name: string, cmd: string, args: string[], log: string, ready: () => Promise<boolean>, tries: number, everyMs: number): Promise<number> {
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
  child.unref();
  const pid = child.pid!;
  running.add(pid);
  for (let i = 0; i < tries; i++) {
    if (!alive(pid)) throw new Error(`${name} exited at start; see ${log}`);
    if (await ready()) return pid;
    await sleep(everyMs);
  }
  throw new Error(`${name} did not answer in ${(tries * everyMs) / 1000} s; see ${log}`);
}
