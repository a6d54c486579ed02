import { Code, type Status } from "../call/status.js";

/**
 * One call's place in its cluster's books: who holds it (the downstream
 * connection), how to shed it, and when the call is over.
 */
export class Ticket {
  private inBooks = true;
  private ended = false;
  private waiters: Array<() => void> | undefined;

  constructor(
    readonly share: ClusterShare,
    readonly connection: object,
    /** Ends the call (it was shed); end() follows when it is over. */
    readonly shed: (status: Status) => void,
  ) {}

  /** The call is over: its place is free, and whoever waits for it goes on. Idempotent. */
  end(): void {
    this.drop();
    if (this.ended) return;
    this.ended = true;
    const w = this.waiters;
    this.waiters = undefined;
    if (w) for (const resolve of w) resolve();
  }

  /** Out of the books (its place given away) while the call winds down. */
  drop(): void {
    if (!this.inBooks) return;
    this.inBooks = false;
    this.share.remove(this);
  }

  /** Resolves once end() has run. */
  whenEnded(): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }
}

/** One cluster's calls in flight, by downstream connection, in the order they came. */
export class ClusterShare {
  total = 0;
  readonly byConnection = new Map<object, Set<Ticket>>();

  constructor(readonly name: string) {}

  add(t: Ticket): void {
    let held = this.byConnection.get(t.connection);
    if (!held) this.byConnection.set(t.connection, (held = new Set()));
    held.add(t);
    this.total++;
  }

  remove(t: Ticket): void {
    const held = this.byConnection.get(t.connection);
    if (!held?.delete(t)) return;
    this.total--;
    if (held.size === 0) this.byConnection.delete(t.connection);
  }

  held(connection: object): number {
    return this.byConnection.get(connection)?.size ?? 0;
  }

  /** The connection holding the most calls, and that many. */
  heaviest(): [object, Set<Ticket>] | undefined {
    let best: [object, Set<Ticket>] | undefined;
    for (const entry of this.byConnection) if (!best || entry[1].size > best[1].size) best = entry;
    return best;
  }
}

export interface Admission {
  ticket: Ticket;
  /** Set when a heavier connection's call was shed to make room: go on once it has let go. */
  after?: Promise<void>;
}

/**
 * Fair shares of a cluster's capacity (the sum of its endpoints'
 * maxInFlight) among downstream connections. Below capacity every call is
 * admitted. At capacity, a call from a connection that holds fewer calls
 * than the heaviest one (by more than one) takes the place of that
 * connection's newest call, which ends with RESOURCE_EXHAUSTED; otherwise
 * it goes on and meets the endpoints' own cap. So a few greedy connections
 * (streams opened and left idle) are pushed down towards an equal share and
 * never lock everyone else out, and the work shed first is the newest of
 * whoever holds the most, as Envoy's overload actions and nginx's
 * per-connection limits aim for.
 */
export class FairShare {
  private readonly clusters = new Map<string, ClusterShare>();

  admit(cluster: string, capacity: number, connection: object, shed: (status: Status) => void): Admission {
    let share = this.clusters.get(cluster);
    if (!share) this.clusters.set(cluster, (share = new ClusterShare(cluster)));
    const ticket = new Ticket(share, connection, shed);
    if (share.total < capacity) {
      share.add(ticket);
      return { ticket };
    }
    const heaviest = share.heaviest();
    const own = share.held(connection);
    let after: Promise<void> | undefined;
    if (heaviest && heaviest[0] !== connection && heaviest[1].size > own + 1) {
      let newest: Ticket | undefined;
      for (const t of heaviest[1]) newest = t;
      after = newest!.whenEnded();
      newest!.shed({
        code: Code.RESOURCE_EXHAUSTED,
        message: `shed: this connection holds ${heaviest[1].size} of the ${capacity} calls cluster "${cluster}" takes at once, and another client is waiting (fair share)`,
        details: [],
      });
      // Its place is the new call's from now on, whenever it actually lets go.
      newest!.drop();
    }
    share.add(ticket);
    return after ? { ticket, after } : { ticket };
  }

  /** How many calls to `cluster` each downstream connection holds, most first (tests, introspection). */
  holders(cluster: string): number[] {
    const share = this.clusters.get(cluster);
    return share ? [...share.byConnection.values()].map((s) => s.size).sort((a, b) => b - a) : [];
  }
}
