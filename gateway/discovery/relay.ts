import type { EndpointConfig } from "../config/types.js";
import { createProvider } from "./create-provider.js";
import { keyOf, type ProviderFactory } from "./discovery-manager.js";
import type { EndpointProvider, ProviderSink } from "./provider.js";

/** One provider's latest answer, for the processes that follow it. */
export interface DiscoveredList {
  cluster: string;
  /** The discovery settings that found it (keyOf): a list from other settings is not this provider's answer. */
  key: string;
  endpoints: EndpointConfig[];
  skipped: string[];
}

/**
 * The side that runs discovery (the primary, with workers): real providers,
 * each answer also handed to `onList`; `latest()` is what a process that
 * starts now needs to catch up.
 */
export class DiscoveryTap {
  private readonly answers = new Map<string, DiscoveredList>();

  constructor(
    private readonly onList: (list: DiscoveredList) => void,
    private readonly create: (d: Parameters<ProviderFactory>[1]) => EndpointProvider = createProvider,
  ) {}

  readonly factory: ProviderFactory = (cluster, d) => {
    const inner = this.create(d);
    const key = keyOf(d);
    return {
      description: inner.description,
      start: (sink) =>
        inner.start({
          list: (endpoints, skipped = []) => {
            const answer = { cluster, key, endpoints, skipped };
            this.answers.set(cluster, answer);
            sink.list(endpoints, skipped);
            this.onList(answer);
          },
          error: (err) => sink.error(err),
        }),
      stop: () => {
        if (this.answers.get(cluster)?.key === key) this.answers.delete(cluster);
        return inner.stop();
      },
      nudge: inner.nudge && (() => inner.nudge!()),
    };
  };

  latest(): DiscoveredList[] {
    return [...this.answers.values()];
  }
}

/**
 * The side that follows (a worker): its DiscoveryManager runs these
 * providers, which find nothing themselves and pass on the lists the other
 * side found for the same settings. A worker thus keeps the endpoint-set
 * logic (what stays, what drains) while one process asks DNS, etcd or the
 * API server for all of them. `nudge` goes back to the side that runs the
 * real provider.
 */
export class DiscoveryRelay {
  private readonly answers = new Map<string, DiscoveredList>();
  private readonly sinks = new Map<string, { key: string; sink: ProviderSink }>();

  constructor(private readonly onNudge: (cluster: string) => void = () => {}) {}

  readonly factory: ProviderFactory = (cluster, d) => {
    const key = keyOf(d);
    const entry = { key, sink: undefined as unknown as ProviderSink };
    return {
      description: `${d.kind} (run by the primary)`,
      start: (sink) => {
        entry.sink = sink;
        this.sinks.set(cluster, entry);
        const known = this.answers.get(cluster);
        if (known?.key === key) sink.list(known.endpoints, known.skipped);
      },
      stop: async () => {
        if (this.sinks.get(cluster) === entry) this.sinks.delete(cluster);
      },
      nudge: () => this.onNudge(cluster),
    };
  };

  /** A list the other side found; it reaches the provider running with the same settings, now or when it starts. */
  list(answer: DiscoveredList): void {
    this.answers.set(answer.cluster, answer);
    const s = this.sinks.get(answer.cluster);
    if (s?.key === answer.key) s.sink.list(answer.endpoints, answer.skipped);
  }
}
