// nginx's smooth weighted round robin transcribed from its C source
// (ngx_http_upstream_get_peer and ngx_http_upstream_free_round_robin_peer), integer weights,
// with plain objects: the oracle for SmoothWrr. It shares no code with src/.
interface Peer {
  id: string;
  weight: number;
  effective_weight: number;
  current_weight: number;
  down: boolean;
}

export class NginxRoundRobin {
  peers: Peer[] = [];

  constructor(readonly maxFails = 1) {}

  set(id: string, weight: number): void {
    const p = this.peers.find((x) => x.id === id);
    if (p) {
      p.weight = weight;
      p.effective_weight = weight;
    } else {
      this.peers.push({ id, weight, effective_weight: weight, current_weight: 0, down: false });
    }
  }

  remove(id: string): void {
    this.peers = this.peers.filter((p) => p.id !== id);
  }

  setDown(id: string, down: boolean): void {
    this.peers.find((p) => p.id === id)!.down = down;
  }

  fail(id: string): void {
    const peer = this.peers.find((p) => p.id === id)!;
    if (this.maxFails) peer.effective_weight -= Math.floor(peer.weight / this.maxFails);
    if (peer.effective_weight < 0) peer.effective_weight = 0;
  }

  get(): string | undefined {
    let best: Peer | undefined;
    let total = 0;
    for (const peer of this.peers) {
      if (peer.down) continue;
      peer.current_weight += peer.effective_weight;
      total += peer.effective_weight;
      if (peer.effective_weight < peer.weight) peer.effective_weight++;
      if (best === undefined || peer.current_weight > best.current_weight) best = peer;
    }
    if (best === undefined) return undefined;
    best.current_weight -= total;
    return best.id;
  }
}
