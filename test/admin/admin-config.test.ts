// Issue 13: the admin API's view of the config (ListRoutes, GetConfig) and
// its ReloadConfig, against a real gateway started from a config file.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { startReplica, type Replica } from "../../services/replica.js";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { generateTestPki } from "../helpers/tls-certs.js";
import { type AdminScene, echoConfig, startAdminScene } from "./admin-scene.js";

let replicas: Replica[] = [];
let scene: AdminScene | undefined;

afterEach(async () => {
  await scene?.close();
  scene = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
});

async function start(n: number, extra: Record<string, unknown> = {}): Promise<AdminScene> {
  replicas = await Promise.all(Array.from({ length: n }, (_, i) => startReplica({ name: `r${i + 1}` })));
  scene = await startAdminScene(
    echoConfig(
      replicas.map((r) => r.address),
      extra,
    ),
  );
  return scene;
}

/** Which replicas answered `n` Echo calls, and how often. */
async function answers(s: AdminScene, n: number): Promise<Map<string, number>> {
  const client = createClient(EchoService, createGrpcTransport({ baseUrl: s.url }));
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = (await client.echo({ message: "x" })).replica;
    seen.set(r, (seen.get(r) ?? 0) + 1);
  }
  return seen;
}

async function refused(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call succeeded");
}

describe("ListRoutes and GetConfig", () => {
  it("lists the routes in order", async () => {
    replicas = [await startReplica({ name: "r1" })];
    scene = await startAdminScene(
      echoConfig(
        [replicas[0]!.address],
        {},
        {
          routes: [
            { match: { method: "/acme.echo.v1.EchoService/Echo" }, cluster: "echo", timeout: "2s" },
            { match: { prefix: "/" }, cluster: "echo" },
          ],
        },
      ),
    );
    const r = await scene.connect.listRoutes({});
    expect(r.routes.map((x) => [x.match.case, x.match.value, x.cluster, x.timeoutMs])).toEqual([
      ["method", "/acme.echo.v1.EchoService/Echo", "echo", 2000n],
      ["prefix", "/", "echo", 0n],
    ]);
  });
});

describe("GetConfig", () => {
  it("gives the effective config as JSON with TLS keys, credentials and URL user info redacted", async () => {
    const pki = generateTestPki();
    try {
      const file = (name: string, pem: string) => {
        writeFileSync(join(pki.dir, name), pem);
        return join(pki.dir, name);
      };
      replicas = [await startReplica({ name: "r1" })];
      scene = await startAdminScene(
        echoConfig(
          [replicas[0]!.address],
          {},
          {
            listeners: [
              {
                port: 0,
                host: "127.0.0.1",
                tls: { cert: file("server.pem", pki.server.cert), key: file("server-key.pem", pki.server.key) },
              },
            ],
            clusters: {
              echo: { protocol: "grpc", endpoints: [replicas[0]!.address] },
              secure: {
                protocol: "grpc",
                tls: {
                  ca: file("ca.pem", pki.ca),
                  cert: file("client.pem", pki.client.cert),
                  key: file("client-key.pem", pki.client.key),
                },
                discovery: {
                  etcd: { endpoints: ["http://operator:hunter2@127.0.0.1:1"], prefix: "/services/secure/" },
                },
              },
            },
          },
        ),
      );
      const r = await scene.grpc.getConfig({});
      expect(r.json).not.toContain("PRIVATE KEY");
      expect(r.json).not.toContain("hunter2");
      expect(r.json).not.toContain("operator");
      expect(r.redacted.sort()).toEqual([
        "clusters.secure.discovery.endpoints[0]",
        "clusters.secure.tls.key",
        "listeners[0].tls.key",
      ]);
      const config = JSON.parse(r.json);
      expect(config.listeners[0].tls.key).toBe("[REDACTED]");
      expect(config.listeners[0].tls.cert).toBe(pki.server.cert);
      expect(config.clusters.secure.discovery.endpoints).toEqual(["http://[REDACTED]@127.0.0.1:1"]);
      // The effective config: defaults filled in.
      expect(config.clusters.echo.resilience.retryPolicy.maxAttempts).toBe(3);
      expect(config.admin).toEqual({ port: 0, host: "127.0.0.1" });
    } finally {
      pki.cleanup();
    }
  });
});

describe("ReloadConfig", () => {
  it("takes the path of POST /reload: reloaded, unchanged, or rejected with every problem while the old config serves", async () => {
    const s = await start(1);
    const a = replicas[0]!.address;
    expect((await s.grpc.reloadConfig({})).status).toBe("unchanged");

    s.write("gateway.yaml", JSON.stringify(echoConfig([a, "127.0.0.1"])));
    const bad = await refused(s.connect.reloadConfig({}));
    expect(bad.code).toBe(Code.FailedPrecondition);
    expect(bad.rawMessage).toContain("reload rejected, the old config keeps serving (1 problem)");
    expect(bad.rawMessage).toContain('clusters.echo.endpoints[1]: "127.0.0.1" is not host:port');
    expect(await answers(s, 2)).toEqual(new Map([["r1", 2]]));

    s.write("gateway.yaml", JSON.stringify(echoConfig([a], { timeout: "7s" })));
    const ok = await s.grpc.reloadConfig({});
    expect(ok.status).toBe("reloaded");
    expect(ok.changed).toEqual(["clusters.echo"]);
    expect(s.gateway.reloads).toEqual({ reloaded: 1, unchanged: 1, rejected: 1 });
  });
});
