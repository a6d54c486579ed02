/** What an Endpoint asks of its health: the active checker (health-check.ts) or one that follows a board. */
export interface EndpointHealth {
  readonly healthy: boolean;
  start(): void;
  stop(): void;
}

/** An endpoint that failed its active health checks somewhere else (the primary, with workers). */
export interface UnhealthyEndpoint {
  cluster: string;
  address: string;
}

type OnChange = (healthy: boolean, reason: string) => void;

/**
 * Health decided in another process. With workers, the primary runs every
 * active health check once and hands workers the endpoints that fail them;
 * a worker's endpoints follow this board instead of checking for
 * themselves, so N workers do not send N times the checks.
 *
 * The board holds the whole list, not changes: an endpoint is healthy
 * unless the latest list names it. A worker that starts late, or a set
 * rebuilt by a reload (whose fresh checkers start healthy in the primary
 * too), then needs no history to agree with the primary.
 */
export class HealthBoard {
  private unhealthy = new Set<string>();
  private readonly followers = new Map<string, Set<FollowedHealth>>();

  /** Replaces the list of endpoints failing their checks; followers whose verdict changed hear of it. */
  replace(list: readonly UnhealthyEndpoint[]): void {
    this.unhealthy = new Set(list.map((u) => keyOf(u.cluster, u.address)));
    for (const [key, set] of this.followers) {
      const healthy = !this.unhealthy.has(key);
      for (const f of set) f.set(healthy);
    }
  }

  /** The health of `address` in `cluster`, as the board says now and from now on; `onChange` hears changes. */
  follow(cluster: string, address: string, onChange: OnChange): EndpointHealth {
    const key = keyOf(cluster, address);
    const f = new FollowedHealth(!this.unhealthy.has(key), onChange, (follower) => {
      const set = this.followers.get(key);
      set?.delete(follower);
      if (set?.size === 0) this.followers.delete(key);
    });
    let set = this.followers.get(key);
    if (!set) this.followers.set(key, (set = new Set()));
    set.add(f);
    return f;
  }

  /** How many endpoints follow the board (for tests: stopped ones leave). */
  get size(): number {
    let n = 0;
    for (const s of this.followers.values()) n += s.size;
    return n;
  }
}

class FollowedHealth implements EndpointHealth {
  constructor(
    private isHealthy: boolean,
    private readonly onChange: OnChange,
    private readonly leave: (f: FollowedHealth) => void,
  ) {}

  get healthy(): boolean {
    return this.isHealthy;
  }

  set(healthy: boolean): void {
    if (healthy === this.isHealthy) return;
    this.isHealthy = healthy;
    this.onChange(healthy, healthy ? "the primary's health checks pass again" : "the primary's health checks fail");
  }

  start(): void {}

  stop(): void {
    this.leave(this);
  }
}

function keyOf(cluster: string, address: string): string {
  return `${cluster}\0${address}`;
}
