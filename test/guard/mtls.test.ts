import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { callError } from "../helpers/clients.js";
import { startRecordingProxy } from "../helpers/recording-proxy.js";
import { generateTestPki, issueClientCert, type KeyPair, type TestPki } from "../helpers/tls-certs.js";

// require: mtls on a route: the listener verifies the client certificate
// against clientCa, the route admits only the SANs it lists and sends the
// identity upstream in x-forwarded-client-cert. Two listeners: one that
// requires a certificate, one that only asks for one.

let pki: TestPki;
let dir: string;
let replica: Replica;
let recorder: Awaited<ReturnType<typeof startRecordingProxy>>;
let gateway: Gateway;
let web: KeyPair; // URI:spiffe://corp/web, DNS:web.test: allowed
let batch: KeyPair; // URI:spiffe://corp/batch: not allowed

beforeAll(async () => {
  pki = generateTestPki();
  web = issueClientCert(pki, "web", ["URI:spiffe://corp/web", "DNS:web.test"]);
  batch = issueClientCert(pki, "batch", ["URI:spiffe://corp/batch"]);
  dir = mkdtempSync(join(tmpdir(), "switchyard-mtls-"));
  for (const [f, pem] of [
    ["ca.pem", pki.ca],
    ["server.pem", pki.server.cert],
    ["server.key", pki.server.key],
  ])
    writeFileSync(join(dir, f), pem);
  replica = await startReplica({ name: "r1" });
  recorder = await startRecordingProxy(replica.address);
  const tls = { cert: "server.pem", key: "server.key", clientCa: "ca.pem" };
  const config = await validateConfigObject(
    {
      listeners: [
        { port: 0, host: "127.0.0.1", tls: { ...tls, requireClientCert: true } },
        { port: 0, host: "127.0.0.1", tls },
      ],
      clusters: { echo: { protocol: "grpc", endpoints: [recorder.address], healthCheck: false } },
      routes: [
        {
          match: { service: "acme.echo.v1.EchoService" },
          cluster: "echo",
          auth: { require: "mtls", subjectAltNames: ["URI:spiffe://corp/web", "DNS:other.test"] },
        },
      ],
    },
    dir,
  );
  gateway = await startGateway(config, { descriptors: demoDescriptors });
});

afterAll(async () => {
  await gateway?.close();
  await recorder?.close();
  await replica?.close();
  pki?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const baseUrl = (i: number) => `https://localhost:${gateway.ports[i]}`;
const clients = (i: number, cert?: KeyPair) => {
  const nodeOptions = { ca: pki.ca, ...cert };
  return [
    createClient(EchoService, createGrpcTransport({ baseUrl: baseUrl(i), nodeOptions })),
    createClient(EchoService, createConnectTransport({ baseUrl: baseUrl(i), httpVersion: "1.1", nodeOptions })),
  ];
};

describe("require: mtls", () => {
  it("admits an allowed SAN over HTTP/2 and HTTP/1.1, with the identity upstream and a client's copy replaced", async () => {
    const before = recorder.seen.length;
    for (const client of clients(0, web)) {
      const r = await client.echo(
        { message: "hi" },
        { headers: { "x-forwarded-client-cert": "URI=spiffe://corp/admin" } },
      );
      expect(r.message).toBe("hi");
    }
    const seen = recorder.seen.slice(before);
    expect(seen.map((s) => s.headers["x-forwarded-client-cert"])).toEqual([
      "URI=spiffe://corp/web;DNS=web.test",
      "URI=spiffe://corp/web;DNS=web.test",
    ]);
  });

  it("answers a verified certificate whose SANs are not listed with PERMISSION_DENIED, and sends nothing", async () => {
    const before = recorder.seen.length;
    for (const cert of [batch, pki.client]) {
      for (const client of clients(0, cert)) {
        const err = await callError(client.echo({ message: "x" }));
        expect([err.code, err.rawMessage]).toEqual([Code.PermissionDenied, "not allowed to call this method"]);
      }
    }
    expect(recorder.seen.length).toBe(before);
  });

  it("answers a connection without a verified certificate with UNAUTHENTICATED (a listener that only asks)", async () => {
    const before = recorder.seen.length;
    for (const cert of [undefined, pki.strangerClient]) {
      for (const client of clients(1, cert)) {
        const err = await callError(client.echo({ message: "x" }));
        expect([err.code, err.rawMessage]).toEqual([Code.Unauthenticated, "missing or invalid credentials"]);
      }
    }
    expect(recorder.seen.length).toBe(before);
    // The same listener admits the allowed certificate.
    for (const client of clients(1, web)) await expect(client.echo({ message: "ok" })).resolves.toBeDefined();
  });
});
