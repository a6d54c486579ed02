import { existsSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";

/** How long a list may take before it counts as failed. */
const LIST_TIMEOUT_MS = 30_000;

/** An answer from the API server other than 200, e.g. 403 (RBAC) or 410 (resourceVersion expired). */
export class KubeApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One line of a watch: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (object is then a Status). */
export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

/**
 * Where the API server is and how to authenticate, found the way kubectl and
 * client-go do: the files KUBECONFIG names; else the pod's service account
 * (in-cluster); else ~/.kube/config. None of these is an error, not a guess
 * at localhost. @kubernetes/client-node is loaded on first use, so gateways
 * that do not follow Kubernetes never load it.
 */
export async function loadKubeConfig(): Promise<KubeConfig> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  const home = join(homedir(), ".kube", "config");
  if (process.env.KUBECONFIG) kc.loadFromDefault();
  else if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else if (existsSync(home)) kc.loadFromFile(home);
  else
    throw new Error(
      "no Kubernetes config: set KUBECONFIG, run in a pod (in-cluster service account), or write ~/.kube/config",
    );
  if (!kc.getCurrentCluster())
    throw new Error(
      `the Kubernetes config names no current cluster (context ${JSON.stringify(kc.getCurrentContext())})`,
    );
  return kc;
}

/**
 * GETs on the API server with a KubeConfig's credentials, applied afresh to
 * every request (an in-cluster token is rotated on disk).
 */
export class KubeApi {
  constructor(private readonly kc: KubeConfig) {}

  get server(): string {
    return this.kc.getCurrentCluster()?.server ?? "";
  }

  /** The JSON at `path`, e.g. a list. */
  async get(path: string, signal: AbortSignal): Promise<Record<string, unknown>> {
    const res = await this.open(path, AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
    const body = await readAll(res);
    try {
      return JSON.parse(body) as Record<string, unknown>;
    } catch {
      throw new Error(`GET ${path}: the answer is not JSON`);
    }
  }

  /**
   * Streams the watch at `path` (which asks for watch=1) into `onEvent` and
   * resolves when the server ends it (timeoutSeconds, or shutting down);
   * rejects when it cannot be opened, breaks, or `onEvent` throws.
   * `onOpen` runs once the server has said 200.
   */
  async watch(path: string, signal: AbortSignal, onOpen: () => void, onEvent: (e: WatchEvent) => void): Promise<void> {
    const inner = new AbortController();
    const abort = () => inner.abort();
    signal.addEventListener("abort", abort, { once: true });
    try {
      const res = await this.open(path, inner.signal);
      res.socket?.setKeepAlive(true, 30_000);
      onOpen();
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      await new Promise<void>((resolve, reject) => {
        let over = false;
        const fail = (err: unknown) => {
          over = true;
          inner.abort();
          reject(err instanceof Error ? err : new Error(String(err)));
        };
        const lost = (err?: NodeJS.ErrnoException) =>
          fail(new Error(`watch ${this.server}: connection lost${err ? ` (${err.code ?? err.message})` : ""}`));
        res.on("error", lost);
        // readline re-emits its input's errors: unheard, one would crash the process.
        lines.on("error", lost);
        res.on("close", () => {
          if (!res.complete) lost();
        });
        lines.on("line", (line) => {
          // Lines already read when the watch failed (an ERROR, say) are not applied.
          if (over || line.trim() === "") return;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            return fail(new Error(`watch ${this.server}: a line that is not JSON`));
          }
          try {
            onEvent(event);
          } catch (err) {
            fail(err);
          }
        });
        lines.on("close", () => (res.complete ? resolve() : lost()));
      });
    } finally {
      signal.removeEventListener("abort", abort);
      inner.abort();
    }
  }

  private async open(path: string, signal: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(this.server.replace(/\/+$/, "") + path);
    const opts: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        url,
        { ...opts, method: "GET", signal, headers: { ...opts.headers, accept: "application/json" } },
        resolve,
      );
      req.on("error", (err) =>
        reject(new Error(`GET ${url.origin}${url.pathname}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)),
      );
      req.end();
    });
    if (res.statusCode === 200) return res;
    const body = await readAll(res).catch(() => "");
    let message = body.trim().slice(0, 300);
    try {
      message = (JSON.parse(body) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    throw new KubeApiError(
      res.statusCode ?? 0,
      `GET ${url.pathname}: ${res.statusCode} ${res.statusMessage ?? ""}${message ? `: ${message}` : ""}`,
    );
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
