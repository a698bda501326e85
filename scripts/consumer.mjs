// The package as a consumer installs it: the tarball npm would publish (packed from the current
// build, as `npm publish` would), installed into an empty project. Used by the package test and
// the package bench.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Packs `root` into `dir` and installs the tarball there; what it brought in. */
export function installTarball(root, dir) {
  const [{ filename, size, entryCount }] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: root, encoding: 'utf8' }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync('npm', ['install', `./${filename}`, '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: 'ignore' });
  const modules = join(dir, 'node_modules');
  const packages = readdirSync(modules).filter((d) => !d.startsWith('.')).flatMap((d) => (d.startsWith('@') ? readdirSync(join(modules, d)).map((s) => `${d}/${s}`) : [d]));
  const bytes = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((n, e) => n + bytes(join(p, e)), 0) : statSync(p).size);
  return { filename, size, entryCount, packages, bytes: bytes(modules) };
}
