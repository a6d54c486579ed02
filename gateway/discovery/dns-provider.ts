import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import type { EndpointConfig } from "../config/types.js";
import type { EndpointProvider, ProviderSink } from "./provider.js";
import { endpointList } from "./endpoint-list.js";
import { retryDelayMs } from "./retry-delay.js";

export interface DnsProviderOptions {
  /** An A/AAAA name, or an SRV name (starts with "_"). Fully qualified: no search domains are tried. */
  name: string;
  /** The port of every address of an A/AAAA name; SRV records carry their own. */
  port: number | undefined;
  refreshMs: number;
  /** "host:port" or "host"; default the system's (/etc/resolv.conf). */
  servers: string[] | undefined;
  /** Per query and server try (two tries); a server that does not answer fails a resolution after about twice this. */
  queryTimeoutMs?: number;
}

/** Records with a shorter TTL are re-resolved sooner, but never more often than this. */
export const MIN_REFRESH_MS = 1_000;
/** A failed connection to a resolved address re-resolves at once, at most this often. */
export const NUDGE_INTERVAL_MS = 1_000;
const QUERY_TIMEOUT_MS = 2_000;

/** The name does not exist, or has no records of the type asked: an answer, not a failure. */
const NO_RECORDS = new Set(["ENOTFOUND", "ENODATA"]);

interface Resolved {
  endpoints: EndpointConfig[];
  /** The shortest TTL seen, in ms (SRV records' own TTLs are not reported by node:dns). */
  ttlMs: number | undefined;
}

/**
 * A cluster's endpoints from DNS: one endpoint per A/AAAA address of `name`
 * at `port`, or, for an SRV name (starting with "_"), one per address of
 * each record's target at the record's port, with the record's weight, and
 * with SRV priorities mapped by rank to endpoint priorities (the lowest SRV
 * priority is level 0, the next level 1, ... up to 10).
 *
 * Re-resolves every `refreshMs`, sooner when a record's TTL is shorter (not
 * under MIN_REFRESH_MS), and at once (at most once a NUDGE_INTERVAL_MS) when
 * nudge() says a connection to a resolved address failed.
 *
 * NXDOMAIN and "no records" are answers: the set empties, as in grpc-go's
 * and Envoy's DNS resolvers. A name that is deleted, or a headless Service
 * scaled to zero, means no endpoints; a resolver in trouble says SERVFAIL,
 * REFUSED or nothing at all. Those are failures: the last list stays, and
 * the provider tries again after retryDelayMs (capped at `refreshMs`).
 */
export class DnsProvider implements EndpointProvider {
  readonly description: string;
  private readonly resolver: dns.Resolver;
  private readonly srv: boolean;
  private sink: ProviderSink | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** When the timer fires (performance.now()). */
  private dueAt = Infinity;
  private resolving: Promise<void> | undefined;
  private lastStart = -Infinity;
  private nudged = false;
  private failures = 0;
  private stopped = false;

  constructor(private readonly opts: DnsProviderOptions) {
    this.srv = opts.name.startsWith("_");
    if (!this.srv && opts.port === undefined)
      throw new Error(`discovery.dns: ${opts.name} is an A/AAAA name and needs port`);
    this.description = this.srv ? `dns SRV ${opts.name}` : `dns ${opts.name}:${opts.port}`;
    this.resolver = new dns.Resolver({ timeout: opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS, tries: 2 });
    if (opts.servers) this.resolver.setServers(opts.servers);
  }

  start(sink: ProviderSink): void {
    this.sink = sink;
    this.resolveNow();
  }

  /**
   * A connection to an address this provider found failed: the fleet may
   * have moved, so look again now rather than at the next refresh. At most
   * once a NUDGE_INTERVAL_MS; ignored while failing (the backoff decides).
   */
  nudge(): void {
    if (this.stopped || this.failures > 0) return;
    if (this.resolving) {
      this.nudged = true;
      return;
    }
    const wait = this.lastStart + NUDGE_INTERVAL_MS - performance.now();
    if (wait <= 0) this.resolveNow();
    else if (performance.now() + wait < this.dueAt) this.schedule(wait);
  }

  private resolveNow(): void {
    clearTimeout(this.timer);
    this.dueAt = Infinity;
    this.lastStart = performance.now();
    this.nudged = false;
    this.resolving = this.resolveOnce().then((delay) => {
      this.resolving = undefined;
      if (this.stopped) return;
      if (this.nudged && this.failures === 0)
        delay = Math.min(delay, Math.max(0, this.lastStart + NUDGE_INTERVAL_MS - performance.now()));
      this.schedule(delay);
    });
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.dueAt = performance.now() + ms;
    this.timer = setTimeout(() => this.resolveNow(), ms);
    this.timer.unref();
  }

  /** One resolution, reported to the sink; returns how long to wait for the next. */
  private async resolveOnce(): Promise<number> {
    const { refreshMs } = this.opts;
    try {
      const r = await (this.srv ? this.resolveSrv() : this.resolveAddresses());
      if (this.stopped) return refreshMs;
      this.failures = 0;
      this.sink!.list(r.endpoints);
      return Math.max(MIN_REFRESH_MS, Math.min(refreshMs, r.ttlMs ?? refreshMs));
    } catch (err) {
      if (this.stopped) return refreshMs;
      this.failures++;
      const e = err as NodeJS.ErrnoException;
      this.sink!.error(
        new Error(
          `cannot resolve ${this.opts.name}${this.serversNote()}: ${e.code ?? ""} ${e.message}`.replace(/ +/g, " "),
        ),
      );
      return Math.min(refreshMs, retryDelayMs(this.failures));
    }
  }

  private serversNote(): string {
    return this.opts.servers ? ` (servers ${this.opts.servers.join(", ")})` : "";
  }

  private async resolveAddresses(): Promise<Resolved> {
    const { ips, ttlMs } = await this.addresses(this.opts.name);
    const port = this.opts.port!;
    return {
      endpoints: endpointList(
        ips.map((ip) => hostPort(ip, port)),
        this.description,
      ),
      ttlMs,
    };
  }

  private async resolveSrv(): Promise<Resolved> {
    const records = (await noRecordsAsEmpty(this.resolver.resolveSrv(this.opts.name)))
      // A target of "." says the service is decidedly not available there (RFC 2782).
      .filter((r) => r.name !== "" && r.name !== ".");
    const levels = [...new Set(records.map((r) => r.priority))].sort((a, b) => a - b);
    const targets = [...new Set(records.map((r) => r.name))];
    const resolved = new Map(
      await Promise.all(
        targets.map(async (t) => [t, isIP(t) ? { ips: [t], ttlMs: undefined } : await this.addresses(t)] as const),
      ),
    );
    const raw: Array<{ address: string; weight: number; priority: number }> = [];
    for (const r of [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight)) {
      for (const ip of resolved.get(r.name)!.ips) {
        raw.push({
          address: hostPort(ip, r.port),
          weight: Math.min(1000, Math.max(1, r.weight)),
          priority: Math.min(10, levels.indexOf(r.priority)),
        });
      }
    }
    // Two records that lead to one address count once, at the better priority.
    const seen = new Set<string>();
    const unique = raw.filter((e) => !seen.has(e.address) && seen.add(e.address));
    const ttls = [...resolved.values()].map((v) => v.ttlMs).filter((t): t is number => t !== undefined);
    return { endpoints: endpointList(unique, this.description), ttlMs: ttls.length ? Math.min(...ttls) : undefined };
  }

  /** A and AAAA records of `host`, sorted, with the shortest TTL. A failure of either fails the whole. */
  private async addresses(host: string): Promise<{ ips: string[]; ttlMs: number | undefined }> {
    const [v4, v6] = await Promise.all([
      noRecordsAsEmpty(this.resolver.resolve4(host, { ttl: true })),
      noRecordsAsEmpty(this.resolver.resolve6(host, { ttl: true })),
    ]);
    const all = [...v4, ...v6];
    const ips = [...new Set(all.map((r) => r.address))].sort();
    return { ips, ttlMs: all.length ? Math.min(...all.map((r) => r.ttl)) * 1000 : undefined };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
    await this.resolving;
  }
}

function hostPort(ip: string, port: number): string {
  return isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

async function noRecordsAsEmpty<T>(p: Promise<T[]>): Promise<T[]> {
  try {
    return await p;
  } catch (err) {
    if (NO_RECORDS.has((err as NodeJS.ErrnoException).code ?? "")) return [];
    throw err;
  }
}
