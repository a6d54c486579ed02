import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { callError } from "../helpers/clients.js";
import { generateTestPki, type KeyPair, type TestPki } from "../helpers/tls-certs.js";
import { collect, echoGrpcJsClient, grpc, metadata, unary, type EchoGrpcJsClient } from "../helpers/grpc-js.js";
import { EchoService, type EchoResponse } from "../../gen/acme/echo/v1/echo_pb.js";

// Certificates are made fresh for every run with the openssl CLI; a missing
// openssl fails the suite (generateTestPki throws) rather than skipping it.
let pki: TestPki;
beforeAll(() => {
  pki = generateTestPki();
});
afterAll(() => pki?.cleanup());

const ECHO_PATH = "/acme.echo.v1.EchoService/Echo";

/** TLS handshake only: what ALPN settled on, and what the server presented. */
function handshake(
  port: number,
  ALPNProtocols: string[],
  clientCert?: KeyPair,
): Promise<{ alpn: string | false; authorized: boolean; cn: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: "127.0.0.1", port, servername: "localhost", ca: pki.ca, ALPNProtocols, ...clientCert },
      () => {
        const result = {
          alpn: socket.alpnProtocol ?? false,
          authorized: socket.authorized,
          cn: socket.getPeerCertificate().subject?.CN,
        };
        socket.end();
        resolve(result);
      },
    );
    socket.on("error", reject);
  });
}

/** A raw HTTP/1.1 Connect JSON Echo; resolves with the outcome instead of rejecting. */
function h1Echo(
  url: string,
  opts: https.RequestOptions = {},
): Promise<{ status?: number; httpVersion?: string; body?: string; error?: string }> {
  const mod = url.startsWith("https:") ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(
      `${url}${ECHO_PATH}`,
      { method: "POST", headers: { "content-type": "application/json" }, agent: false, timeout: 3000, ...opts },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, httpVersion: res.httpVersion, body }));
        res.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(JSON.stringify({ message: "over h1" }));
  });
}

function grpcJs(port: number, creds: grpc.ChannelCredentials): EchoGrpcJsClient {
  // Dial the IP but verify the certificate's DNS name, as a client behind a resolver would.
  return echoGrpcJsClient(`127.0.0.1:${port}`, creds, {
    "grpc.ssl_target_name_override": "localhost",
    "grpc.default_authority": "localhost",
  });
}

function grpcJsEcho(client: EchoGrpcJsClient, message: string) {
  return unary<EchoResponse>((cb) => client.Echo({ message }, metadata(), { deadline: Date.now() + 5000 }, cb));
}

describe("TLS listener", () => {
  let f: Fixture;
  const clients: EchoGrpcJsClient[] = [];
  beforeAll(async () => {
    f = await startFixture({ listenerTls: { ...pki.server, requireClientCert: false } });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await f?.close();
  });

  it("ALPN negotiates h2 for a client offering h2 and http/1.1", async () => {
    const hs = await handshake(f.port, ["h2", "http/1.1"]);
    expect(hs.alpn).toBe("h2");
    expect(hs.authorized).toBe(true);
    expect(hs.cn).toBe("localhost");

    const session = http2.connect(f.url, { ca: pki.ca, ALPNProtocols: ["h2", "http/1.1"] });
    try {
      await new Promise<void>((resolve, reject) => {
        session.once("connect", () => resolve());
        session.once("error", reject);
      });
      expect(session.alpnProtocol).toBe("h2");
      expect(session.encrypted).toBe(true);
    } finally {
      session.close();
    }
  });

  it("ALPN negotiates http/1.1 for a client offering only http/1.1", async () => {
    const hs = await handshake(f.port, ["http/1.1"]);
    expect(hs.alpn).toBe("http/1.1");
    expect(hs.authorized).toBe(true);
  });

  it("the certificate verifies for both localhost and 127.0.0.1", async () => {
    // No servername: Node checks the IP SAN against the address dialled.
    await new Promise<void>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: f.port, ca: pki.ca }, () => {
        expect(s.authorized).toBe(true);
        s.end();
        resolve();
      });
      s.on("error", reject);
    });
    expect((await handshake(f.port, ["h2"])).authorized).toBe(true);
  });

  it("gRPC over TLS (connect-node, h2): unary and server streaming", async () => {
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca } }));
    const res = await client.echo({ message: "over tls" });
    expect(res).toMatchObject({ message: "over tls", replica: "r1" });
    const ns: number[] = [];
    for await (const m of client.count({ count: 3 })) ns.push(m.n);
    expect(ns).toEqual([1, 2, 3]);
  });

  it("Connect over HTTPS/1.1", async () => {
    const client = createClient(
      EchoService,
      createConnectTransport({ baseUrl: f.url, httpVersion: "1.1", nodeOptions: { ca: pki.ca } }),
    );
    expect(await client.echo({ message: "connect h1 tls" })).toMatchObject({
      message: "connect h1 tls",
      replica: "r1",
    });
    // And a raw request, to see the HTTP version actually spoken.
    const raw = await h1Echo(f.url, { ca: pki.ca });
    expect(raw.error).toBeUndefined();
    expect(raw.httpVersion).toBe("1.1");
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body!)).toEqual({ message: "over h1", replica: "r1" });
  });

  it("grpc-js with grpc.credentials.createSsl(ca)", async () => {
    const client = grpcJs(f.port, grpc.credentials.createSsl(Buffer.from(pki.ca)));
    clients.push(client);
    const r = await grpcJsEcho(client, "grpc-js tls");
    expect(r.error).toBeUndefined();
    expect(r.response?.message).toBe("grpc-js tls");
    const { messages, status } = await collect(client.Count({ count: 3 }, metadata(), {}));
    expect(status.code).toBe(grpc.status.OK);
    expect(messages.map((m) => m.n)).toEqual([1, 2, 3]);
  });

  it("cleartext HTTP/1.1 and h2c are not served on the TLS port", async () => {
    const before = f.replicas[0].stats.calls.Echo;
    const h1 = await h1Echo(`http://127.0.0.1:${f.port}`);
    expect(h1.status, `cleartext HTTP/1.1 got ${JSON.stringify(h1)}`).toBeUndefined();
    expect(h1.error).toBeDefined();
    const h2c = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${f.port}` }));
    await callError(h2c.echo({ message: "h2c" }, { timeoutMs: 3000 }));
    expect(f.replicas[0].stats.calls.Echo).toBe(before);
  });
});

describe("mutual TLS listener (clientCa + requireClientCert)", () => {
  let f: Fixture;
  const clients: EchoGrpcJsClient[] = [];
  beforeAll(async () => {
    f = await startFixture({ listenerTls: { ...pki.server, clientCa: pki.ca, requireClientCert: true } });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await f?.close();
  });

  it("a client with a certificate from clientCa is served (connect-node gRPC, Connect h1, grpc-js)", async () => {
    const grpcClient = createClient(
      EchoService,
      createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca, ...pki.client } }),
    );
    expect((await grpcClient.echo({ message: "mtls grpc" })).message).toBe("mtls grpc");
    const connectClient = createClient(
      EchoService,
      createConnectTransport({ baseUrl: f.url, httpVersion: "1.1", nodeOptions: { ca: pki.ca, ...pki.client } }),
    );
    expect((await connectClient.echo({ message: "mtls connect" })).message).toBe("mtls connect");
    const gj = grpcJs(
      f.port,
      grpc.credentials.createSsl(Buffer.from(pki.ca), Buffer.from(pki.client.key), Buffer.from(pki.client.cert)),
    );
    clients.push(gj);
    const r = await grpcJsEcho(gj, "mtls grpc-js");
    expect(r.error).toBeUndefined();
    expect(r.response?.message).toBe("mtls grpc-js");
    expect((await handshake(f.port, ["h2"], pki.client)).alpn).toBe("h2");
  });

  it("a client without a certificate is refused (connect-node gRPC, Connect h1, raw https, grpc-js)", async () => {
    const before = f.replicas[0].stats.calls.Echo;
    const grpcClient = createClient(EchoService, createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca } }));
    const e1 = await callError(grpcClient.echo({ message: "no cert" }, { timeoutMs: 3000 }));
    expect(e1.message).toMatch(/certificate required/i);
    const connectClient = createClient(
      EchoService,
      createConnectTransport({ baseUrl: f.url, httpVersion: "1.1", nodeOptions: { ca: pki.ca } }),
    );
    await callError(connectClient.echo({ message: "no cert" }, { timeoutMs: 3000 }));
    const raw = await h1Echo(f.url, { ca: pki.ca });
    expect(raw.status).toBeUndefined();
    expect(raw.error).toBeDefined();
    const gj = grpcJs(f.port, grpc.credentials.createSsl(Buffer.from(pki.ca)));
    clients.push(gj);
    const r = await grpcJsEcho(gj, "no cert");
    expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(f.replicas[0].stats.calls.Echo).toBe(before);
  });

  it("a client certificate from another CA is refused", async () => {
    const before = f.replicas[0].stats.calls.Echo;
    const client = createClient(
      EchoService,
      createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca, ...pki.strangerClient } }),
    );
    await callError(client.echo({ message: "stranger" }, { timeoutMs: 3000 }));
    const raw = await h1Echo(f.url, { ca: pki.ca, ...pki.strangerClient });
    expect(raw.status).toBeUndefined();
    expect(f.replicas[0].stats.calls.Echo).toBe(before);
  });

  it("cleartext connections cannot bypass client authentication", async () => {
    const before = f.replicas[0].stats.calls.Echo;
    const h1 = await h1Echo(`http://127.0.0.1:${f.port}`);
    expect(h1.status, `cleartext HTTP/1.1 got ${JSON.stringify(h1)}`).toBeUndefined();
    const h2c = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${f.port}` }));
    await callError(h2c.echo({ message: "h2c" }, { timeoutMs: 3000 }));
    expect(f.replicas[0].stats.calls.Echo).toBe(before);
  });
});

describe("TLS listener with clientCa but no requireClientCert", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture({ listenerTls: { ...pki.server, clientCa: pki.ca, requireClientCert: false } });
  });
  afterAll(() => f?.close());

  it("client certificates are optional", async () => {
    const without = createClient(EchoService, createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca } }));
    expect((await without.echo({ message: "no cert" })).message).toBe("no cert");
    const withCert = createClient(
      EchoService,
      createGrpcTransport({ baseUrl: f.url, nodeOptions: { ca: pki.ca, ...pki.client } }),
    );
    expect((await withCert.echo({ message: "cert" })).message).toBe("cert");
  });
});

describe("cleartext listener (sanity)", () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f?.close());

  it("h2c gRPC and HTTP/1.1 Connect still work", async () => {
    expect(f.url).toBe(`http://127.0.0.1:${f.port}`);
    const grpcClient = createClient(EchoService, createGrpcTransport({ baseUrl: f.url }));
    expect((await grpcClient.echo({ message: "h2c" })).message).toBe("h2c");
    const raw = await h1Echo(f.url);
    expect(raw.httpVersion).toBe("1.1");
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body!).message).toBe("over h1");
  });
});
