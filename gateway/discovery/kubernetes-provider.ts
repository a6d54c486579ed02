import type { EndpointConfig } from "../config/types.js";
import type { EndpointProvider, ProviderSink } from "./provider.js";
import { KubeApi, KubeApiError, loadKubeConfig, type WatchEvent } from "./kubernetes-api.js";
import { sliceEndpoints, type EndpointSlice } from "./endpoint-slices.js";
import { retryDelayMs } from "./retry-delay.js";

export interface KubernetesDiscovery {
  namespace: string;
  service: string;
  /** The port's name in the slices, or its number. */
  port: string | number;
}

export interface KubernetesProviderOptions {
  /** How long the server keeps one watch open (it then ends it and the provider opens the next); default 5 to 6 minutes. */
  watchSeconds?: () => number;
  /** Each step (listed, watch opened, expired, ...), for tests and debugging. */
  trace?: (line: string) => void;
}

/** A watch the server ended because its resourceVersion is no longer served: list again. */
class Expired extends Error {}

/**
 * The ready endpoints of a Service, followed through its discovery.k8s.io/v1
 * EndpointSlices (label kubernetes.io/service-name) the way client-go's
 * reflector does: list them, then watch from the list's resourceVersion
 * (with bookmarks, so it stays fresh). A watch the server ends is reopened
 * from where it was; one that breaks (the API server restarts, the network
 * drops) is reopened from there too after a backoff, and the server either
 * replays what was missed or says 410 Gone, upon which the provider lists
 * again. Every failure goes to the sink (the last list stays in service).
 */
export class KubernetesProvider implements EndpointProvider {
  readonly description: string;
  private readonly stopping = new AbortController();
  private running: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(
    private readonly d: KubernetesDiscovery,
    private readonly options: KubernetesProviderOptions = {},
  ) {
    this.description = `kubernetes ${d.namespace}/${d.service} port ${d.port}`;
    const selector = encodeURIComponent(`kubernetes.io/service-name=${d.service}`);
    this.path = `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(d.namespace)}/endpointslices?labelSelector=${selector}`;
  }

  start(sink: ProviderSink): void {
    this.running = this.run(sink).catch((err: unknown) => {
      if (!this.stopping.signal.aborted) sink.error(err as Error);
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private trace(line: string): void {
    this.options.trace?.(line);
  }

  private async run(sink: ProviderSink): Promise<void> {
    const signal = this.stopping.signal;
    let api: KubeApi | undefined;
    const slices = new Map<string, EndpointSlice>();
    let version: string | undefined; // where the next watch starts; undefined: list first
    let published: string | undefined; // the last list sent, as JSON
    let failing = false;
    let failures = 0;
    let listed = false; // the watch starts from a list just made

    const publish = (force: boolean) => {
      const endpoints: EndpointConfig[] = sliceEndpoints(slices.values(), this.d.port, this.description);
      const json = JSON.stringify(endpoints);
      if (!force && json === published) return;
      published = json;
      failing = false;
      sink.list(endpoints);
    };
    const onEvent = (e: WatchEvent) => {
      const object = e.object as EndpointSlice & { code?: number; message?: string };
      if (e.type === "ERROR") {
        if (object.code === 410) throw new Expired(object.message ?? "410 Gone");
        throw new KubeApiError(object.code ?? 0, `watch: ${object.message ?? JSON.stringify(object)}`);
      }
      version = object.metadata?.resourceVersion ?? version;
      listed = false;
      const name = object.metadata?.name;
      if (e.type === "BOOKMARK" || name === undefined) return;
      if (e.type === "DELETED") slices.delete(name);
      else slices.set(name, object);
      this.trace(`${e.type} ${name}`);
      publish(false);
    };

    while (!signal.aborted) {
      try {
        api ??= new KubeApi(await loadKubeConfig());
        if (version === undefined) {
          const list = (await api.get(this.path, signal)) as {
            metadata?: { resourceVersion?: string };
            items?: EndpointSlice[];
          };
          slices.clear();
          for (const s of list.items ?? []) if (s.metadata?.name) slices.set(s.metadata.name, s);
          version = list.metadata?.resourceVersion;
          this.trace(`listed ${slices.size} slice(s) at ${version}`);
          publish(true);
          listed = true;
          if (version === undefined)
            throw new Error(`${api.server}: the list of EndpointSlices has no resourceVersion`);
        }
        const seconds = this.options.watchSeconds?.() ?? 300 + Math.floor(Math.random() * 60);
        const from = version;
        const watchPath = `${this.path}&watch=1&allowWatchBookmarks=true&resourceVersion=${from}&timeoutSeconds=${seconds}`;
        // The server ends the watch after `seconds`; one it leaves hanging is a failure.
        const deadline = AbortSignal.any([signal, AbortSignal.timeout((seconds + 30) * 1000)]);
        const opened = Date.now();
        const onOpen = () => {
          this.trace(`watching from ${from}`);
          failures = 0;
          if (failing) publish(true);
        };
        await api.watch(watchPath, deadline, onOpen, onEvent).catch((err: unknown) => {
          if (deadline.aborted && !signal.aborted)
            throw new Error(`watch ${api?.server}: not ended by the server after ${seconds} s`);
          throw err;
        });
        if (signal.aborted) break;
        this.trace("watch ended");
        listed = false;
        // A server that ends every watch at once would otherwise be asked again in a tight loop.
        if (Date.now() - opened < 1000) await sleep(1000, signal);
      } catch (err) {
        if (signal.aborted) break;
        const expired = err instanceof Expired || (err instanceof KubeApiError && err.code === 410);
        const fresh = listed;
        listed = false;
        // Expired from a list just made is not progress: back off like any failure.
        if (expired && !fresh) {
          this.trace(`expired (410 Gone), listing again: ${err.message}`);
          version = undefined;
          continue;
        }
        // Anything else (refused, 403 while a restarted server's RBAC warms up, 5xx) is tried
        // again from the same resourceVersion: the server replays what was missed, or says 410.
        if (expired) version = undefined;
        failures++;
        failing = true;
        this.trace(`failed: ${(err as Error).message}`);
        sink.error(err as Error);
        await sleep(retryDelayMs(failures), signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
