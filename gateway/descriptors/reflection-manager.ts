import { toBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Cancel } from "../call/cancel.js";
import type { ClusterConfig } from "../config/types.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { ClusterEvent, ClusterEventFacts } from "../cluster/endpoint-set.js";
import type { DescriptorSource } from "./descriptor-merge.js";
import {
  type ReflectionAnswer,
  type ReflectionTarget,
  type ReflectionVersion,
  askReflection,
} from "./reflection-client.js";

/** What one endpoint said, as one source of the method catalogue. */
export interface LearnedSource extends DescriptorSource {
  cluster: string;
  address: string;
}

/** How asking one endpoint is going, for the admin view. */
export interface EndpointReflection {
  cluster: string;
  address: string;
  /** starting: not answered yet; ok: answered; unimplemented: serves no reflection; failing: could not be asked (its last answer stands). */
  state: "starting" | "ok" | "unimplemented" | "failing";
  version?: ReflectionVersion;
  services: string[];
  error?: string;
  /** When it last answered (ISO 8601). */
  answeredAt?: string;
}

// An exchange that takes longer than this is a stuck endpoint, not a big API.
const EXCHANGE_TIMEOUT_MS = 10_000;
// What one answer may weigh: a large API's files with their imports.
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
// Endpoints asked at once per cluster, so a big fleet is asked in waves.
const CONCURRENCY = 4;

interface Answer {
  state: EndpointReflection["state"];
  version?: ReflectionVersion;
  services: string[];
  files: FileDescriptorProto[];
  /** The files' bytes, to tell a changed answer from the same one again. */
  fingerprint: string;
  error?: string;
  answeredAt?: string;
}

/**
 * Learns the API of every cluster that says `descriptors: reflection` from
 * its endpoints' server reflection, and keeps it across snapshots (as
 * DiscoveryManager keeps providers): each endpoint is asked at start, when it
 * joins the set, on reload and every `descriptorRefresh`. Each endpoint's last
 * good answer is kept when asking fails; an endpoint without reflection is
 * said once per cluster and then asked quietly (it may be upgraded). When
 * what the endpoints say changes, `onLearned` runs; the snapshot side then
 * builds a new catalogue from sources() (docs/DESIGN.md, "Descriptors from
 * reflection").
 */
export class ReflectionManager {
  private readonly learners = new Map<string, Learner>();

  constructor(
    private readonly clusters: ClusterManager,
    private readonly onEvent: ClusterEvent,
    private readonly onLearned: () => void,
  ) {
    clusters.onEndpointAdded((cluster, address) => this.learners.get(cluster)?.ask([address]));
  }

  /** A new snapshot's clusters: start, restart or stop learners; every learner asks all its endpoints again (a reload). */
  apply(configs: ReadonlyMap<string, ClusterConfig>): void {
    let dropped = false;
    for (const [name, l] of this.learners) {
      // Settings may change (protocol, refresh); each round reads them afresh.
      const c = configs.get(name);
      if (c?.descriptors) {
        l.config = c;
        continue;
      }
      l.stop();
      this.learners.delete(name);
      dropped ||= l.hasAnswers();
    }
    for (const [name, c] of configs) {
      if (!c.descriptors) continue;
      let l = this.learners.get(name);
      if (!l) {
        l = new Learner(c, this.clusters, this.onEvent, () => this.onLearned());
        this.learners.set(name, l);
      }
      l.ask("all");
    }
    // What a removed cluster taught goes with it; the snapshot being built already leaves it out.
    if (dropped) queueMicrotask(() => this.onLearned());
  }

  /** Asks every endpoint of every learning cluster again (a reload that changed nothing). */
  refresh(): void {
    for (const l of this.learners.values()) l.ask("all");
  }

  /** Every endpoint's last good answer, by cluster name then address: the order the catalogue merges them in. */
  sources(): LearnedSource[] {
    return [...this.learners.keys()].sort().flatMap((name) => this.learners.get(name)!.sources());
  }

  status(): EndpointReflection[] {
    return [...this.learners.keys()].sort().flatMap((name) => this.learners.get(name)!.status());
  }

  /** Resolves once no learner is asking and none has a round waiting: for tests and `--check`-style tools. */
  async settled(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const busy = [...this.learners.values()].filter((l) => l.busy);
      if (busy.length === 0) return;
      await Promise.all(busy.map((l) => l.idle()));
    }
  }

  async close(): Promise<void> {
    for (const l of this.learners.values()) l.stop();
    this.learners.clear();
  }
}

/** One cluster's learning: rounds of asking endpoints, never two at once. */
class Learner {
  private readonly answers = new Map<string, Answer>();
  private readonly cancel = new Cancel();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  /** Addresses asked for since the running round started; "all" after a reload or the refresh timer. */
  private pending: Set<string> | "all" | undefined;
  private saidUnimplemented = false;

  private facts(endpoint: string, state: "failing" | "answering" | "unimplemented"): ClusterEventFacts {
    return { event: "reflection", cluster: this.config.name, endpoint, state };
  }
  private stopped = false;

  constructor(
    public config: ClusterConfig,
    private readonly clusters: ClusterManager,
    private readonly onEvent: ClusterEvent,
    private readonly changed: () => void,
  ) {}

  get busy(): boolean {
    return this.round !== undefined || this.pending !== undefined;
  }

  idle(): Promise<void> {
    return this.round ?? Promise.resolve();
  }

  hasAnswers(): boolean {
    return [...this.answers.values()].some((a) => a.files.length > 0);
  }

  ask(which: string[] | "all"): void {
    if (this.stopped) return;
    if (which === "all" || this.pending === "all") this.pending = "all";
    else this.pending = new Set([...(this.pending ?? []), ...which]);
    // A round that is running picks the rest up when it ends; otherwise start
    // on the next tick, so a burst of new endpoints makes one round.
    if (!this.round) this.round = new Promise((r) => setImmediate(r)).then(() => this.run());
  }

  private async run(): Promise<void> {
    try {
      while (this.pending !== undefined && !this.stopped) {
        const which = this.pending;
        this.pending = undefined;
        const full = which === "all";
        if (full && this.timer) clearTimeout(this.timer);
        const set = this.clusters.endpointSet(this.config.name);
        const endpoints = (set?.list ?? []).filter((e) => full || which.has(e.address));
        const before = this.fingerprint();
        await inWaves(endpoints, CONCURRENCY, async (e) => {
          const target: ReflectionTarget = { transport: e.transport, protocol: this.config.protocol, label: e.label };
          this.record(e.address, await this.askOne(target));
        });
        if (this.stopped) return;
        if (full) this.forgetGone(new Set((set?.list ?? []).map((e) => e.address)));
        if (this.fingerprint() !== before) this.changed();
        if (full) {
          this.timer = setTimeout(() => this.ask("all"), this.config.descriptors?.refreshMs ?? 60_000);
          this.timer.unref();
        }
      }
    } finally {
      this.round = undefined;
    }
  }

  private async askOne(target: ReflectionTarget): Promise<ReflectionAnswer | Error> {
    try {
      return await askReflection(target, {
        timeoutMs: Math.min(EXCHANGE_TIMEOUT_MS, this.config.descriptors?.refreshMs ?? EXCHANGE_TIMEOUT_MS),
        maxBytes: MAX_ANSWER_BYTES,
        cancel: this.cancel,
      });
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  private record(address: string, result: ReflectionAnswer | Error): void {
    if (this.stopped) return;
    const label = `cluster "${this.config.name}" endpoint ${address}`;
    const had = this.answers.get(address);
    if (result instanceof Error) {
      // The transport's messages start with the same label.
      const why = result.message.startsWith(label) ? result.message.slice(label.length).trim() : result.message;
      if (had?.state !== "failing") {
        const kept = had?.files.length ? "keeping what it said last" : "nothing learned from it yet";
        this.onEvent(`${label}: server reflection failing, ${kept}: ${why}`, this.facts(address, "failing"));
      }
      this.answers.set(address, {
        ...(had ?? { services: [], files: [], fingerprint: "" }),
        state: "failing",
        error: why,
      });
      return;
    }
    if (had?.state === "failing")
      this.onEvent(`${label}: server reflection answers again`, this.facts(address, "answering"));
    const answeredAt = new Date().toISOString();
    if (result.kind === "unimplemented") {
      if (!this.saidUnimplemented) {
        this.saidUnimplemented = true;
        this.onEvent(
          `${label} serves no server reflection (grpc.reflection v1 and v1alpha: UNIMPLEMENTED): nothing is learned from endpoints without it, and their calls pass through as before`,
          this.facts(address, "unimplemented"),
        );
      }
      this.answers.set(address, { state: "unimplemented", services: [], files: [], fingerprint: "", answeredAt });
      return;
    }
    this.answers.set(address, {
      state: "ok",
      version: result.version,
      services: result.services,
      files: result.files,
      fingerprint: result.files
        .map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f)).toString("base64"))
        .join(","),
      answeredAt,
    });
  }

  /**
   * Endpoints that left the set take their answers with them, unless no
   * endpoint still in it has one: a cluster whose endpoints all went away
   * for a while keeps what it learned.
   */
  private forgetGone(present: ReadonlySet<string>): void {
    const remaining = [...this.answers].filter(([a, ans]) => present.has(a) && ans.files.length > 0);
    if (remaining.length === 0 && this.hasAnswers()) return;
    for (const a of [...this.answers.keys()]) if (!present.has(a)) this.answers.delete(a);
  }

  private fingerprint(): string {
    return [...this.answers.keys()]
      .sort()
      .map((a) => `${a}:${this.answers.get(a)!.fingerprint}`)
      .join("\n");
  }

  sources(): LearnedSource[] {
    return [...this.answers.keys()]
      .sort()
      .map((address) => ({ address, answer: this.answers.get(address)! }))
      .filter(({ answer }) => answer.files.length > 0)
      .map(({ address, answer }) => ({
        cluster: this.config.name,
        address,
        name: `cluster "${this.config.name}" endpoint ${address}`,
        files: answer.files,
      }));
  }

  status(): EndpointReflection[] {
    const present = new Set((this.clusters.endpointSet(this.config.name)?.list ?? []).map((e) => e.address));
    const addresses = [...new Set([...present, ...this.answers.keys()])].sort();
    return addresses.map((address) => {
      const a = this.answers.get(address);
      const out: EndpointReflection = {
        cluster: this.config.name,
        address,
        state: a?.state ?? "starting",
        services: a?.services ?? [],
      };
      if (a?.version) out.version = a.version;
      if (a?.error) out.error = a.error;
      if (a?.answeredAt) out.answeredAt = a.answeredAt;
      return out;
    });
  }

  stop(): void {
    this.stopped = true;
    this.pending = undefined;
    this.cancel.cancel();
    if (this.timer) clearTimeout(this.timer);
  }
}

/** Runs `fn` over `items`, at most `width` at a time. */
async function inWaves<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}
