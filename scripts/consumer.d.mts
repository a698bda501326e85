/** What installing the packed tarball into an empty project brought in. */
export interface Installed {
  filename: string;
  /** Tarball bytes, and files in it. */
  size: number;
  entryCount: number;
  /** Packages in node_modules (wasmesh included), and their bytes. */
  packages: string[];
  bytes: number;
}
export function installTarball(root: string, dir: string): Installed;
