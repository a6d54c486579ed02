import { noop } from "cockatiel";
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from "etcd3";
import { normalizeEndpoint } from "../config/normalize.js";
import type { EndpointConfig } from "../config/types.js";
import type { EndpointProvider, ProviderSink } from "./provider.js";
import { endpointProblem } from "./endpoint-list.js";
import { retryDelayMs } from "./retry-delay.js";

/** A list (range) call that takes longer than this counts as a failure. */
const CALL_TIMEOUT_MS = 5_000;
/** How long stop() waits for etcd to confirm a watch is cancelled. */
const CANCEL_WAIT_MS = 1_000;

/**
 * The keys under `prefix` in etcd v3, in the layout grpc-go's etcd resolver
 * (go.etcd.io/etcd/client/v3/naming) reads and writes, so services that
 * register themselves with it need nothing else: key `<prefix><anything>`,
 * value `{"Addr":"host:port","Metadata":{...}}`, usually on a lease that
 * the service keeps alive (it dies, the lease expires, the key goes).
 *
 * It lists the prefix, then watches from the revision after that list, so no
 * change between the two is lost. Any failure (etcd down, the watch broken or
 * cancelled, e.g. compacted) is reported and the whole cycle starts again
 * after a backoff, with a fresh list: what changed while the watch was down
 * is picked up however long that was. The etcd client's own retries and
 * circuit breakers are off; this class owns the retrying.
 */
export class EtcdProvider implements EndpointProvider {
  readonly description: string;
  /** Made when the provider first runs: etcd3 and grpc-js are a third of a gateway's load time, and most configs never use them. */
  private client: Etcd3 | undefined;
  private sink: ProviderSink | undefined;
  /** The prefix's keys and values as last seen. */
  private entries = new Map<string, string>();
  private watcher: Watcher | undefined;
  /** Bumped by every new cycle and by stop(), so a stale cycle's events are ignored. */
  private cycle = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly endpoints: string[],
    private readonly prefix: string,
  ) {
    this.description = `etcd ${endpoints.join(",")} ${prefix}`;
  }

  private async connect(): Promise<Etcd3> {
    const { Etcd3 } = await import("etcd3");
    return new Etcd3({
      hosts: this.endpoints,
      faultHandling: { host: () => noop, global: noop },
      defaultCallOptions: (c) => (c.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
      grpcOptions: {
        // Notice an etcd that went away without closing the connection. etcd
        // refuses pings more often than every 5 s, or without a stream open.
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        "grpc.keepalive_permit_without_calls": 0,
      },
    });
  }

  start(sink: ProviderSink): void {
    this.sink = sink;
    void this.run();
  }

  /** One cycle: list, report, watch from the next revision until something breaks. */
  private async run(): Promise<void> {
    const cycle = ++this.cycle;
    let revision: string;
    let client: Etcd3;
    try {
      client = this.client ??= await this.connect();
      if (this.stopped) return void client.close();
      const res = await client.getAll().prefix(this.prefix).exec();
      if (cycle !== this.cycle) return;
      this.entries = new Map(res.kvs.map((kv) => [kv.key.toString(), kv.value.toString()]));
      revision = res.header.revision;
    } catch (err) {
      this.fail(cycle, err);
      return;
    }
    this.report();
    const watcher = client
      .watch()
      .prefix(this.prefix)
      .startRevision(String(BigInt(revision) + 1n))
      .watcher();
    this.watcher = watcher;
    // Whole responses, not single events: a lease revoked with several keys
    // on it, or a transaction, lands as one change.
    watcher.on("data", (res: IWatchResponse) => {
      if (cycle !== this.cycle || res.events.length === 0) return;
      for (const ev of res.events) this.apply(ev.type, ev.kv);
      this.report();
    });
    watcher.on("connected", () => {
      if (cycle === this.cycle) this.failures = 0;
    });
    watcher.on("disconnected", (err: Error) => {
      // The stream is gone: detach at once, or the client would reconnect it on its own schedule.
      void watcher.cancel().catch(() => {});
      this.fail(cycle, err);
    });
    // Cancelled by etcd (compacted revision, permissions): already detached.
    watcher.on("error", (err: Error) => this.fail(cycle, err));
  }

  private apply(type: string, kv: IKeyValue): void {
    const key = kv.key.toString();
    if (type === "Put") this.entries.set(key, kv.value.toString());
    else this.entries.delete(key);
  }

  private report(): void {
    const { endpoints, skipped } = etcdEndpoints(this.entries);
    this.sink?.list(endpoints, skipped);
  }

  private fail(cycle: number, err: unknown): void {
    if (cycle !== this.cycle || this.stopped) return;
    this.cycle++; // this cycle is over: nothing more from it
    this.watcher = undefined;
    this.failures++;
    this.sink?.error(new Error(`etcd ${this.prefix}: ${describeError(err)}`));
    this.timer = setTimeout(() => void this.run(), retryDelayMs(this.failures));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cycle++;
    clearTimeout(this.timer);
    const watcher = this.watcher;
    this.watcher = undefined;
    if (watcher)
      await Promise.race([watcher.cancel().catch(() => {}), new Promise((r) => setTimeout(r, CANCEL_WAIT_MS).unref())]);
    this.client?.close();
  }
}

/**
 * The endpoints that a prefix's keys and values describe, sorted by key. A
 * value that is not a registration is skipped and named, and the others
 * stand: in a registry each replica writes its own key, so one bad writer
 * must not freeze everyone else's (unlike a file, which fails whole).
 * Metadata's `weight` and `priority` are read (checked as under `endpoints`);
 * its other keys (zone, version, ...) and a Metadata that is not a mapping are
 * the registrant's own business and ignored. Two keys with one address count
 * once, the first (by key) winning.
 */
export function etcdEndpoints(entries: ReadonlyMap<string, string>): {
  endpoints: EndpointConfig[];
  skipped: string[];
} {
  const endpoints: EndpointConfig[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const key of [...entries.keys()].sort()) {
    const parsed = registration(entries.get(key)!);
    if (typeof parsed === "string") {
      skipped.push(`key ${key}: ${parsed}`);
      continue;
    }
    if (seen.has(parsed.address)) continue;
    seen.add(parsed.address);
    endpoints.push(parsed);
  }
  return { endpoints, skipped };
}

/** One value as an endpoint, or what is wrong with it. */
function registration(value: string): EndpointConfig | string {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return `value ${clip(value)} is not JSON; expected {"Addr":"host:port","Metadata":{...}}`;
  }
  if (
    typeof json !== "object" ||
    json === null ||
    Array.isArray(json) ||
    typeof (json as { Addr?: unknown }).Addr !== "string"
  ) {
    return `value ${clip(value)} has no "Addr"; expected {"Addr":"host:port","Metadata":{...}}`;
  }
  const { Addr, Metadata } = json as { Addr: string; Metadata?: unknown };
  const meta =
    typeof Metadata === "object" && Metadata !== null && !Array.isArray(Metadata)
      ? (Metadata as Record<string, unknown>)
      : {};
  const entry = { address: Addr, weight: meta.weight, priority: meta.priority };
  const problem = endpointProblem(Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)));
  if (problem) return problem;
  return normalizeEndpoint(entry as { address: string; weight?: number; priority?: number });
}

function clip(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

function describeError(err: unknown): string {
  const e = err as { message?: string; details?: string };
  // grpc-js ends some messages with an empty "Resolution note:".
  return (e?.message ?? String(err)).replace(/\s+/g, " ").replace(/\s*Resolution note:\s*$/, "");
}
