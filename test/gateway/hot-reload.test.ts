import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { loadConfigFile } from "../../gateway/config/load.js";
import { formatReload } from "../../gateway/snapshot/reload.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { logLines } from "../helpers/log-lines.js";
import { generateTestPki, issueServerCert, type KeyPair, type TestPki } from "../helpers/tls-certs.js";

// Issue 12: the gateway reloads its own config (POST /reload, SIGHUP,
// --watch), over real sockets: calls follow the new config, calls in flight
// finish on the old one, an invalid config changes nothing, listeners open
// and drain, and a rotated certificate reaches new handshakes only.

const grpc = CLIENT_KINDS[0];
const connectH1 = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
let replicas: Replica[] = [];
let gateway: Gateway | undefined;
let cli: CliProcess | undefined;
let dir: string;
let logs: string[] = [];

afterEach(async () => {
  cli?.kill();
  cli = undefined;
  await gateway?.close();
  gateway = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  logs = [];
});

type Endpoints = Array<Replica | [Replica, number]>;

/** A config as a YAML user writes it (JSON is YAML): clusters of replicas, every Echo call routed to `route`. */
function configObject(
  route: string,
  clusters: Record<string, Endpoints>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    admin: { port: 0, host: "127.0.0.1" },
    drainTimeout: "5s",
    clusters: Object.fromEntries(
      Object.entries(clusters).map(([name, eps]) => [
        name,
        {
          protocol: "grpc",
          healthCheck: false,
          slowStart: "0s",
          endpoints: eps.map((e) => (Array.isArray(e) ? { address: e[0].address, weight: e[1] } : e.address)),
        },
      ]),
    ),
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: route }],
    ...extra,
  };
}

/** Writes the way editors and config managers do: a new file renamed over the old. */
function write(name: string, content: string): void {
  const tmp = join(dir, `${name}.tmp`);
  writeFileSync(tmp, content);
  renameSync(tmp, join(dir, name));
}
const writeConfig = (obj: unknown) => write("gateway.yaml", JSON.stringify(obj, null, 2));

async function start(obj: unknown): Promise<{ url: string; admin: string }> {
  writeConfig(obj);
  const path = join(dir, "gateway.yaml");
  gateway = await startGateway(await loadConfigFile(path), {
    descriptors: demoDescriptors,
    loadConfig: () => loadConfigFile(path),
    onReload: (r, trigger) => logs.push(formatReload(r, trigger)),
  });
  return { url: `http://127.0.0.1:${gateway.ports[0]}`, admin: `http://127.0.0.1:${gateway.adminPort}` };
}

async function postReload(
  admin: string,
): Promise<{ code: number; body: { status: string; changed: string[]; problems: string[]; notes: string[] } }> {
  const res = await fetch(`${admin}/reload`, { method: "POST" });
  return { code: res.status, body: await res.json() };
}

async function repliesFrom(url: string, n: number): Promise<Map<string, number>> {
  const client = echoClient(grpc, url);
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const r = (await client.echo({ message: "x" })).replica;
    seen.set(r, (seen.get(r) ?? 0) + 1);
  }
  return seen;
}

/** "connected", or the error code a fresh TCP connection gets. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs a Count stream of `count` messages; resolves with the replicas that sent them, rejects on error. */
function countStream(url: string, count: number, seen: string[]): Promise<void> {
  return (async () => {
    for await (const m of echoClient(grpc, url).count({ count, intervalMs: 40 })) seen.push(m.replica);
  })();
}

function newDir(): void {
  dir = mkdtempSync(join(tmpdir(), "switchyard-reload-"));
}

describe("POST /reload", () => {
  it("a changed file: the route moves, weights change, an endpoint goes; calls follow and a stream in flight finishes", async () => {
    newDir();
    replicas = await Promise.all(["r1", "r2", "r3"].map((name) => startReplica({ name })));
    const [r1, r2, r3] = replicas;
    const { url, admin } = await start(configObject("a", { a: [r1], b: [r2, r3] }));
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r1"]);

    const seen: string[] = [];
    const stream = countStream(url, 10, seen);
    await expect.poll(() => seen.length).toBeGreaterThan(1);

    // The route moves to b, and r3 gets three times r2's share.
    writeConfig(configObject("b", { a: [r1], b: [r2, [r3, 3]] }));
    const moved = await postReload(admin);
    expect(moved.code).toBe(200);
    expect(moved.body.status).toBe("reloaded");
    expect(moved.body.changed).toEqual(["clusters.b", "routes"]);
    expect(gateway!.clusters.endpointSet("b")!.get(r3.address)!.weight).toBe(3);
    const after = await repliesFrom(url, 40);
    expect(after.has("r1")).toBe(false);
    expect(after.get("r3")!).toBeGreaterThan(after.get("r2") ?? 0);

    // The stream that started before the reload finished on r1, whole.
    await stream;
    expect(seen).toEqual(Array(10).fill("r1"));

    // r2 leaves b while streams run on it and on r3: every one finishes whole.
    const streams = Array.from({ length: 4 }, () => [] as string[]);
    const running = streams.map((seen) => countStream(url, 10, seen));
    await expect.poll(() => streams.every((s) => s.length > 0)).toBe(true);
    expect(streams.some((s) => s[0] === "r2")).toBe(true);
    writeConfig(configObject("b", { a: [r1], b: [[r3, 3]] }));
    expect((await postReload(admin)).body).toMatchObject({ status: "reloaded", changed: ["clusters.b"] });
    expect([...(await repliesFrom(url, 10)).keys()]).toEqual(["r3"]);
    expect(gateway!.clusters.endpointSet("b")!.get(r2.address)).toBeUndefined();
    await Promise.all(running);
    for (const s of streams) expect(s).toEqual(Array(10).fill(s[0]));
    expect(r2.stats.cancelled).toBe(0);
    expect(gateway!.reloads).toEqual({ reloaded: 2, unchanged: 0, rejected: 0 });
  });

  it("an invalid config: 400 with every problem and its path; the old config keeps serving", async () => {
    newDir();
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    const { url, admin } = await start(configObject("a", { a: [r1], b: [r2] }));
    const before = gateway!.current();

    const bad = configObject("nope", { a: [r1], b: [r2] }) as { clusters: Record<string, { endpoints: unknown[] }> };
    bad.clusters.b.endpoints = ["127.0.0.1"];
    writeConfig(bad);
    const res = await postReload(admin);
    expect(res.code).toBe(400);
    expect(res.body.status).toBe("rejected");
    expect(res.body.problems).toHaveLength(2);
    expect(res.body.problems.join("\n")).toMatch(/^routes\[0\]\.cluster: .*"nope"/m);
    expect(res.body.problems.join("\n")).toMatch(/^clusters\.b\.endpoints\[0\]: "127\.0\.0\.1" is not host:port/m);
    expect(gateway!.current()).toBe(before);
    expect([...(await repliesFrom(url, 5)).keys()]).toEqual(["r1"]);
    expect(logs.at(-1)).toContain("rejected, the old config keeps serving (2 problems)");
    expect(logs.at(-1)).toContain("  - clusters.b.endpoints[0]:");

    // Not YAML at all, then a file that is gone: rejected too.
    write("gateway.yaml", "listeners: [\n");
    expect((await postReload(admin)).code).toBe(400);
    rmSync(join(dir, "gateway.yaml"));
    const gone = await postReload(admin);
    expect(gone.body.problems[0]).toMatch(/cannot read config file .*ENOENT/);
    expect(gateway!.current()).toBe(before);

    // Fixed: it applies.
    writeConfig(configObject("b", { a: [r1], b: [r2] }));
    expect((await postReload(admin)).body).toMatchObject({ status: "reloaded", changed: ["routes"] });
    expect([...(await repliesFrom(url, 5)).keys()]).toEqual(["r2"]);
    expect(gateway!.reloads).toEqual({ reloaded: 1, unchanged: 0, rejected: 3 });
  });

  it("a reload that changes nothing is a no-op; GET is refused", async () => {
    newDir();
    replicas = [await startReplica({ name: "r1" })];
    const obj = configObject("a", { a: replicas });
    const { url, admin } = await start(obj);
    await repliesFrom(url, 2);
    const snapshot = gateway!.current();
    const endpoint = gateway!.clusters.endpointSet("a")!.get(replicas[0].address);

    expect(await postReload(admin)).toEqual({
      code: 200,
      body: { status: "unchanged", changed: [], problems: [], notes: [] },
    });
    // The same config written again, keys in another order and another layout: still the same.
    write(
      "gateway.yaml",
      JSON.stringify({
        routes: obj.routes,
        clusters: obj.clusters,
        admin: obj.admin,
        listeners: obj.listeners,
        drainTimeout: "5000ms",
      }),
    );
    expect((await postReload(admin)).body.status).toBe("unchanged");
    expect(gateway!.current()).toBe(snapshot);
    expect(gateway!.clusters.endpointSet("a")!.get(replicas[0].address)).toBe(endpoint);
    expect(logs).toEqual([
      "reload (POST /reload): config unchanged, nothing to do",
      "reload (POST /reload): config unchanged, nothing to do",
    ]);

    const get = await fetch(`${admin}/reload`);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
    expect(gateway!.reloads).toEqual({ reloaded: 0, unchanged: 2, rejected: 0 });
  });

  it("listeners: one added opens, one removed drains (its stream finishes), a changed port moves", async () => {
    newDir();
    replicas = [await startReplica({ name: "r1" })];
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const at = (...ports: number[]) => ({ listeners: ports.map((port) => ({ port, host: "127.0.0.1" })) });
    const { admin } = await start(configObject("a", { a: replicas }, at(p1)));
    const url = (p: number) => `http://127.0.0.1:${p}`;
    expect(await tcpConnect(p2)).toBe("ECONNREFUSED");

    writeConfig(configObject("a", { a: replicas }, at(p1, p2)));
    expect((await postReload(admin)).body).toMatchObject({
      status: "reloaded",
      changed: [`listeners[1] 127.0.0.1:${p2} (added)`],
    });
    expect(gateway!.ports).toEqual([p1, p2]);
    expect([...(await repliesFrom(url(p2), 2)).keys()]).toEqual(["r1"]);

    // A stream over p1, then p1 goes: the port closes, the stream finishes.
    const seen: string[] = [];
    const h1Seen: string[] = [];
    const stream = countStream(url(p1), 10, seen);
    const h1Stream = (async () => {
      for await (const m of echoClient(connectH1, url(p1)).count({ count: 10, intervalMs: 40 })) h1Seen.push(m.replica);
    })();
    await expect.poll(() => seen.length > 1 && h1Seen.length > 1).toBe(true);
    writeConfig(configObject("a", { a: replicas }, at(p2)));
    expect((await postReload(admin)).body).toMatchObject({
      status: "reloaded",
      changed: [`listeners: 127.0.0.1:${p1} (removed)`, `listeners[0] 127.0.0.1:${p2} (was listeners[1])`],
    });
    expect(await tcpConnect(p1)).toBe("ECONNREFUSED");
    expect(gateway!.ports).toEqual([p2]);
    await Promise.all([stream, h1Stream]);
    expect(seen).toHaveLength(10);
    expect(h1Seen).toHaveLength(10);

    // A port change is a removal and an addition.
    writeConfig(configObject("a", { a: replicas }, at(p3)));
    expect((await postReload(admin)).body.changed).toEqual([
      `listeners: 127.0.0.1:${p2} (removed)`,
      `listeners[0] 127.0.0.1:${p3} (added)`,
    ]);
    await expect.poll(() => tcpConnect(p2)).toBe("ECONNREFUSED");
    expect([...(await repliesFrom(url(p3), 2)).keys()]).toEqual(["r1"]);

    // A port that cannot be bound: rejected, nothing changes.
    const squatter = net.createServer();
    const p4 = await freePort();
    await new Promise<void>((r) => squatter.listen(p4, "127.0.0.1", r));
    try {
      writeConfig(configObject("a", { a: replicas }, at(p3, p4)));
      const res = await postReload(admin);
      expect(res.code).toBe(400);
      expect(res.body.problems).toEqual([`listeners[1]: cannot listen on 127.0.0.1:${p4}: EADDRINUSE`]);
      expect(gateway!.ports).toEqual([p3]);
      expect(gateway!.current().config.listeners).toHaveLength(1);
    } finally {
      await new Promise((r) => squatter.close(r));
    }
  });
});

describe("TLS certificate rotation", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = generateTestPki();
  });
  afterAll(() => pki?.cleanup());

  const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

  /** What a fresh TLS handshake is shown. */
  function presented(port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = tls.connect(
        { host: "127.0.0.1", port, servername: "localhost", ca: pki.ca, ALPNProtocols: ["h2"] },
        () => {
          const fp = s.getPeerX509Certificate()!.fingerprint256;
          s.end();
          resolve(fp);
        },
      );
      s.on("error", reject);
    });
  }

  /** A Connect JSON Echo on an HTTP/2 session that is already up. */
  function h2Echo(session: http2.ClientHttp2Session): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = session.request({
        ":method": "POST",
        ":path": "/acme.echo.v1.EchoService/Echo",
        "content-type": "application/json",
      });
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (c: string) => (body += c));
      req.on("end", () => resolve(JSON.parse(body).replica));
      req.on("error", reject);
      req.end(JSON.stringify({ message: "hi" }));
    });
  }

  const writePair = (pair: KeyPair) => {
    write("server.pem", pair.cert);
    write("server.key", pair.key);
  };

  it("a new certificate reaches new handshakes; a connection already up keeps working; a key that does not match is refused", async () => {
    newDir();
    replicas = [await startReplica({ name: "r1" })];
    writePair(pki.server);
    const port = await freePort();
    const tlsListener = { listeners: [{ port, host: "127.0.0.1", tls: { cert: "server.pem", key: "server.key" } }] };
    const { admin } = await start(configObject("a", { a: replicas }, tlsListener));
    expect(await presented(port)).toBe(fingerprint(pki.server.cert));
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: pki.ca, servername: "localhost" });
    try {
      expect(await h2Echo(session)).toBe("r1");
      // Read once the connection is up: OpenSSL may drop the peer certificate later.
      const oldSerial = (session.socket as tls.TLSSocket).getPeerCertificate().serialNumber;
      const localPort = session.socket.localPort;

      const next = issueServerCert(pki, "server-next");
      writePair(next);
      const res = await postReload(admin);
      expect(res.body).toMatchObject({
        status: "reloaded",
        changed: [`listeners[0] 127.0.0.1:${port} tls (certificates)`],
      });
      expect(await presented(port)).toBe(fingerprint(next.cert));
      expect(new X509Certificate(next.cert).serialNumber).not.toBe(oldSerial);
      expect(new X509Certificate(pki.server.cert).serialNumber).toBe(oldSerial);
      // Same port, same process: the old connection goes on with the old certificate.
      expect(gateway!.ports[0]).toBe(port);
      expect(await h2Echo(session)).toBe("r1");
      expect(session.destroyed).toBe(false);
      expect(session.socket.localPort).toBe(localPort);

      // A certificate with another certificate's key: refused, the current one stays.
      write("server.pem", issueServerCert(pki, "server-third").cert);
      const bad = await postReload(admin);
      expect(bad.code).toBe(400);
      expect(bad.body.problems).toHaveLength(1);
      expect(bad.body.problems[0]).toMatch(
        /^listeners\[0\]\.tls: cannot serve with this certificate and key: .*key values mismatch/,
      );
      expect(await presented(port)).toBe(fingerprint(next.cert));
      expect(await h2Echo(session)).toBe("r1");

      // TLS off on the same port: the TLS listener is replaced, its connections are sent away.
      const goaway = new Promise((r) => session.once("goaway", r));
      writeConfig(configObject("a", { a: replicas }, { listeners: [{ port, host: "127.0.0.1" }] }));
      expect((await postReload(admin)).body.changed).toEqual([
        `listeners: 127.0.0.1:${port} (removed)`,
        `listeners[0] 127.0.0.1:${port} (added)`,
      ]);
      await goaway;
      expect([...(await repliesFrom(`http://127.0.0.1:${port}`, 2)).keys()]).toEqual(["r1"]);
    } finally {
      session.close();
    }
  });
});

describe("the CLI as a process", { timeout: 60_000 }, () => {
  async function launch(args: string[]): Promise<string> {
    cli = spawnCli(["--config", join(dir, "gateway.yaml"), ...args]);
    const [, port] = await cli.waitForStdout(/listening on port (\d+)/, 30_000);
    return `http://127.0.0.1:${port}`;
  }

  it("SIGHUP reloads; an invalid config is logged with its problems and the old one keeps serving", async () => {
    newDir();
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    writeConfig(configObject("a", { a: [r1], b: [r2] }));
    const url = await launch([]);
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r1"]);

    writeConfig(configObject("b", { a: [r1], b: [r2] }));
    cli!.child.kill("SIGHUP");
    await cli!.waitForStdout(/reload \(SIGHUP\): config reloaded; changed: routes/);
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r2"]);

    const bad = configObject("b", { a: [r1], b: [r2] }) as { clusters: Record<string, { endpoints: unknown[] }> };
    bad.clusters.a.endpoints = ["localhost"];
    writeConfig(bad);
    cli!.child.kill("SIGHUP");
    // One structured line, at level error, with the problems as a list.
    const rejected = () => logLines(cli!.stdout()).find((l) => l.event === "reload" && l.status === "rejected");
    await expect.poll(rejected, { timeout: 15_000 }).toBeDefined();
    expect(rejected()).toMatchObject({ level: "error", trigger: "SIGHUP" });
    expect(rejected()!.msg).toContain("reload (SIGHUP) rejected, the old config keeps serving (1 problem)");
    expect(rejected()!.msg).toMatch(/ {2}- clusters\.a\.endpoints\[0\]: "localhost" is not host:port/);
    expect(rejected()!.problems).toEqual([expect.stringMatching(/^clusters\.a\.endpoints\[0\]: "localhost"/)]);
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r2"]);

    writeConfig(configObject("b", { a: [r1], b: [r2] }));
    cli!.child.kill("SIGHUP");
    await cli!.waitForStdout(/reload \(SIGHUP\): config unchanged/);

    cli!.child.kill("SIGTERM");
    expect((await cli!.exited()).code).toBe(0);
  });

  it("--watch reloads when the file is replaced", async () => {
    newDir();
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    writeConfig(configObject("a", { a: [r1], b: [r2] }));
    const url = await launch(["--watch"]);
    await cli!.waitForStdout(/watching .*gateway\.yaml/);
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r1"]);

    writeConfig(configObject("b", { a: [r1], b: [r2] }));
    await cli!.waitForStdout(/reload \(file change\): config reloaded; changed: routes/);
    expect([...(await repliesFrom(url, 3)).keys()]).toEqual(["r2"]);

    cli!.child.kill("SIGTERM");
    expect((await cli!.exited()).code).toBe(0);
  });
});
