// Connect conformance "server under test": a Switchyard gateway in front of
// the suite's own reference server (connect-go).
//
//   connectconformance --mode server --conf <mode>.yaml -- node --import tsx test/conformance/server.ts --mode <mode>
//
// The runner starts this program once per server configuration and writes a
// length-prefixed ServerCompatRequest on stdin. We then
//   1. start `referenceserver` (the upstream) as a child process, acting as its
//      runner: it gets a ServerCompatRequest of its own (h2c, no TLS, no limit)
//      and answers with its port;
//   2. start a gateway in this process, configured from the runner's request
//      (HTTP version is served anyway: every listener speaks HTTP/1.1 and h2;
//      TLS from server_creds, client certs from client_tls_cert, the message
//      receive limit as limits.maxMessageBytes) with one cluster pointing at
//      the reference server, its protocol chosen by --mode;
//   3. answer with the gateway's address, and run until SIGTERM.
// stdout carries only the ServerCompatResponse; every log line goes to stderr.
//
// Modes (the cluster's outbound protocol; codec is always `same`):
//   same      the upstream speaks the client's protocol (pass-through)
//   grpc      every call is translated to gRPC
//   connect   every call is translated to Connect
//   grpc-web  every call is translated to gRPC-Web
// With codec `same` the message bytes pass through untouched and only the
// framing, headers, trailers and status are translated: the realistic
// deployment. The conformance descriptors still go into descriptorSets,
// because the gateway needs each method's kind to speak Connect upstream
// (unary and streaming calls are framed differently there) and its
// idempotency level to allow Connect GET.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { create, fromBinary, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  ServerCompatRequestSchema,
  ServerCompatResponseSchema,
  type ServerCompatRequest,
} from "../../gen/connectrpc/conformance/v1/server_compat_pb.js";
import { HTTPVersion, Protocol } from "../../gen/connectrpc/conformance/v1/config_pb.js";
import { file_connectrpc_conformance_v1_service } from "../../gen/connectrpc/conformance/v1/service_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import type { UpstreamProtocol } from "../../gateway/config/types.js";

const MODES = ["same", "grpc", "connect", "grpc-web"] as const;
type Mode = (typeof MODES)[number];

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const REFERENCE_SERVER = process.env.CONFORMANCE_REFERENCE_SERVER ?? resolve(REPO, ".cache/go/bin/referenceserver");

const log = (msg: string) => process.stderr.write(`[switchyard-conformance ${process.pid}] ${msg}\n`);

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function parseMode(argv: string[]): Mode {
  const mode = flag(argv, "--mode") ?? "same";
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new Error(`--mode must be one of ${MODES.join(", ")}, got ${JSON.stringify(mode)}`);
  }
  return mode as Mode;
}

function protocolName(p: Protocol): UpstreamProtocol {
  switch (p) {
    case Protocol.GRPC:
      return "grpc";
    case Protocol.GRPC_WEB:
      return "grpc-web";
    case Protocol.CONNECT:
      return "connect";
    default:
      throw new Error(`unsupported protocol ${Protocol[p] ?? p} in ServerCompatRequest`);
  }
}

const PROTOCOLS: Record<UpstreamProtocol, Protocol> = {
  grpc: Protocol.GRPC,
  "grpc-web": Protocol.GRPC_WEB,
  connect: Protocol.CONNECT,
};

// --- size-delimited messages: 4-byte big-endian length, then the bytes ---

function delimited(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + bytes.byteLength);
  out.writeUInt32BE(bytes.byteLength, 0);
  out.set(bytes, 4);
  return out;
}

/** Reads one size-delimited message; leaves the stream flowing into nothing afterwards. */
function readDelimited(stream: Readable, what: string, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const finish = (err?: Error, msg?: Buffer) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", finish);
      stream.resume();
      if (err) reject(err);
      else resolve(msg!);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.byteLength >= 4) {
        const len = buf.readUInt32BE(0);
        if (buf.byteLength >= 4 + len) finish(undefined, buf.subarray(4, 4 + len));
      }
    };
    const onEnd = () =>
      finish(new Error(`${what}: stream ended after ${buf.byteLength} bytes, before a whole message`));
    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("error", finish);
  });
}

// --- the upstream: the suite's reference server as a child process ---

interface Upstream {
  port: number;
  stop(): void;
}

async function startReferenceServer(protocol: Protocol): Promise<Upstream> {
  // The watcher shell ends the reference server when fd 3 closes, which
  // also happens if this process dies without cleaning up: no orphans.
  // (An asynchronous command's stdin is /dev/null unless redirected from
  // another descriptor, hence fd 4.)
  const script = `exec 4<&0; "$0" <&4 4<&- & pid=$!; exec 4<&-; cat <&3 >/dev/null; kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0`;
  const child: ChildProcess = spawn("sh", ["-c", script, REFERENCE_SERVER], {
    stdio: ["pipe", "pipe", "inherit", "pipe"],
  });
  const lifeline = child.stdio[3] as Writable;
  lifeline.on("error", () => {});
  const stop = () => lifeline.end();
  child.once("exit", (code, signal) => {
    if (!stopping) log(`reference server exited early (code ${code}, signal ${signal})`);
  });
  const req = create(ServerCompatRequestSchema, {
    protocol,
    // h2c: the reference server then also serves HTTP/1.1 on the same port.
    httpVersion: HTTPVersion.HTTP_VERSION_2,
    useTls: false,
    // No limit upstream: the gateway is what must enforce it.
    messageReceiveLimit: 0,
  });
  child.stdin!.end(delimited(toBinary(ServerCompatRequestSchema, req)));
  try {
    const res = fromBinary(
      ServerCompatResponseSchema,
      await readDelimited(child.stdout!, "the reference server's ServerCompatResponse", 15_000),
    );
    return { port: res.port, stop };
  } catch (err) {
    stop();
    throw new Error(`cannot start ${REFERENCE_SERVER} (run test/conformance/install.sh): ${(err as Error).message}`);
  }
}

// --- the gateway ---

/** A FileDescriptorSet for the conformance service and everything it imports. */
function conformanceDescriptorSet(): Uint8Array {
  const files: DescFile[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    files.push(f);
  };
  visit(file_connectrpc_conformance_v1_service);
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files.map((f) => f.proto) }));
}

async function startSwitchyard(
  req: ServerCompatRequest,
  upstreamProtocol: UpstreamProtocol,
  upstreamHttp: "2" | "1.1",
  upstreamPort: number,
): Promise<Gateway> {
  const files = new Map<string, Uint8Array>([["/conformance/conformance.binpb", conformanceDescriptorSet()]]);
  const listener: Record<string, unknown> = { port: 0, host: "127.0.0.1" };
  if (req.useTls) {
    if (!req.serverCreds) throw new Error("use_tls without server_creds: this wrapper uses the runner's certificate");
    files.set("/conformance/server.crt", req.serverCreds.cert);
    files.set("/conformance/server.key", req.serverCreds.key);
    const tls: Record<string, unknown> = { cert: "server.crt", key: "server.key" };
    if (req.clientTlsCert.byteLength > 0) {
      files.set("/conformance/client-ca.crt", req.clientTlsCert);
      tls.clientCa = "client-ca.crt";
      tls.requireClientCert = true;
    }
    listener.tls = tls;
  }
  const config = await validateConfigObject(
    {
      listeners: [listener],
      limits: req.messageReceiveLimit > 0 ? { maxMessageBytes: req.messageReceiveLimit } : undefined,
      drainTimeout: "2s",
      descriptorSets: ["conformance.binpb"],
      clusters: {
        conformance: {
          protocol: upstreamProtocol,
          http: upstreamHttp,
          codec: "same",
          endpoints: [`127.0.0.1:${upstreamPort}`],
          // The suite answers with every status code from one healthy
          // upstream on purpose; features that judge an endpoint by status
          // codes would eject or break on it and turn later cases into
          // UNAVAILABLE. The reference server has no grpc.health.v1 either.
          circuitBreaker: false,
          outlierDetection: false,
          healthCheck: false,
          retryPolicy: false,
          slowStart: 0,
        },
      },
      routes: [{ match: { prefix: "/" }, cluster: "conformance" }],
    },
    "/conformance",
    async (path) => {
      const bytes = files.get(path);
      if (!bytes) throw Object.assign(new Error(`no such in-memory file ${path}`), { code: "ENOENT" });
      return bytes;
    },
  );
  return startGateway(config, { onClusterEvent: (m) => log(m) });
}

// --- main ---

let stopping = false;
const cleanups: Array<() => Promise<void> | void> = [];

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        log(`shutdown: ${(err as Error).message}`);
      }
    }
  }
  process.exit(code);
}

async function main(): Promise<void> {
  // Handlers first: the runner may give up on us at any point.
  process.on("SIGTERM", () => void shutdown(0));
  process.on("SIGINT", () => void shutdown(0));
  const mode = parseMode(process.argv.slice(2));
  const req = fromBinary(
    ServerCompatRequestSchema,
    await readDelimited(process.stdin, "the ServerCompatRequest on stdin", 15_000),
  );
  const upstreamProtocol = mode === "same" ? protocolName(req.protocol) : mode;
  const upstream = await startReferenceServer(PROTOCOLS[upstreamProtocol]);
  cleanups.push(() => upstream.stop());
  // --upstream-http 1.1 (not used by run.sh): Connect and gRPC-Web upstream
  // calls over the HTTP/1.1 pool instead of h2c; the reference server serves both.
  const upstreamHttp = flag(process.argv, "--upstream-http") === "1.1" && upstreamProtocol !== "grpc" ? "1.1" : "2";
  const gateway = await startSwitchyard(req, upstreamProtocol, upstreamHttp, upstream.port);
  cleanups.push(() => gateway.close());
  const res = create(ServerCompatResponseSchema, {
    host: "127.0.0.1",
    port: gateway.ports[0],
    pemCert: req.useTls ? req.serverCreds!.cert : new Uint8Array(0),
  });
  process.stdout.write(delimited(toBinary(ServerCompatResponseSchema, res)));
}

main().catch((err) => {
  log(`failed: ${(err as Error).stack ?? err}`);
  void shutdown(1);
});
