declare module 'hashring' {
  export default class HashRing {
    constructor(servers: string[] | Record<string, number | { weight?: number }>, algorithm?: string, options?: Record<string, unknown>);
    get(key: string): string | undefined;
    range(key: string, size?: number, unique?: boolean): string[];
    add(servers: string | string[]): this;
    remove(server: string): this;
    ring: { value: number; server: string }[];
  }
}
declare module 'xxhashjs' {
  /** A UINT64 from the cuint package: toString(16) gives the hex digits. */
  interface UInt64 {
    toString(radix?: number): string;
  }
  const XXH: {
    h32(data: Uint8Array | string, seed: number): { toNumber(): number };
    h64(data: ArrayBuffer | string, seed: number | UInt64): UInt64;
  };
  export default XXH;
}
declare module 'consistent-hash' {
  export default class ConsistentHash {
    constructor(options?: Record<string, unknown>);
    add(node: string, weight?: number): this;
    remove(node: string): this;
    get(key: string): string | undefined;
  }
}
declare module 'weighted-round-robin' {
  export default class Peers {
    add(peer: { id?: string; weight?: number }): string;
    get(): { id: string } | null;
  }
}
