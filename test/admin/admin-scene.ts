import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { loadConfigFile } from "../../gateway/config/load.js";
import { AdminService, type Endpoint } from "../../gen/switchyard/admin/v1/admin_pb.js";

export type AdminClient = Client<typeof AdminService>;

/** A gateway started from a config file in a temporary folder, its admin listener on an ephemeral port. */
export interface AdminScene {
  gateway: Gateway;
  dir: string;
  /** The proxy listener, http://127.0.0.1:port */
  url: string;
  /** The admin listener, http://127.0.0.1:port */
  admin: string;
  /** AdminService over gRPC (HTTP/2, h2c). */
  grpc: AdminClient;
  /** AdminService over Connect JSON (HTTP/1.1), as curl and the dashboard speak it. */
  connect: AdminClient;
  /** The gateway's cluster events (health, breaker, ejection, drain), with the ms since the scene started. */
  events: string[];
  /** Adds a line of the test's own to `events`, on the same clock. */
  mark(what: string): void;
  /** Rewrites a file in the folder the way config managers do: a new file renamed over the old. */
  write(name: string, content: string): void;
  close(): Promise<void>;
}

export async function startAdminScene(config: Record<string, unknown>): Promise<AdminScene> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-admin-"));
  const write = (name: string, content: string) => {
    const tmp = join(dir, `${name}.tmp`);
    writeFileSync(tmp, content);
    renameSync(tmp, join(dir, name));
  };
  write("gateway.yaml", JSON.stringify(config, null, 2));
  const path = join(dir, "gateway.yaml");
  let gateway: Gateway;
  const events: string[] = [];
  const t0 = performance.now();
  try {
    gateway = await startGateway(await loadConfigFile(path), {
      descriptors: demoDescriptors,
      onClusterEvent: (m) => events.push(`+${Math.round(performance.now() - t0)} ms ${m}`),
      loadConfig: () => loadConfigFile(path),
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const admin = `http://127.0.0.1:${gateway.adminPort}`;
  return {
    gateway,
    dir,
    url: `http://127.0.0.1:${gateway.ports[0]}`,
    admin,
    grpc: createClient(AdminService, createGrpcTransport({ baseUrl: admin })),
    connect: createClient(AdminService, createConnectTransport({ baseUrl: admin, httpVersion: "1.1" })),
    events,
    mark: (what) => events.push(`+${Math.round(performance.now() - t0)} ms (test) ${what}`),
    write,
    close: async () => {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster "echo" of these addresses as a user writes it, health checks and slow start off unless `extra` says otherwise. */
export function echoConfig(
  addresses: string[],
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    admin: { port: 0, host: "127.0.0.1" },
    drainTimeout: "3s",
    clusters: {
      echo: { protocol: "grpc", healthCheck: false, slowStart: "0s", endpoints: addresses, ...extra },
    },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    ...top,
  };
}

/** The endpoint at `address` of cluster `cluster`, as ListClusters shows it now. */
export async function endpointOf(client: AdminClient, address: string, cluster = "echo"): Promise<Endpoint> {
  const r = await client.listClusters({});
  const c = r.clusters.find((x) => x.name === cluster);
  const e = c?.endpoints.find((x) => x.address === address);
  if (!e)
    throw new Error(`ListClusters has no ${cluster}/${address}: ${JSON.stringify(c?.endpoints.map((x) => x.address))}`);
  return e;
}

/** Polls `check` every 100 ms until it returns true, at most `timeoutMs`; then fails with `what` and the last value seen. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (performance.now() > until)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
