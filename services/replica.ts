import type { AddressInfo, Socket } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { createServer } from "@httptoolkit/httpolyglot";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { registerReflection } from "../gateway/local/reflection.js";
import { MethodCatalogue } from "../gateway/route/method-catalogue.js";
import { trackConnections } from "./connection-tracker.js";
import echo from "./echo/service.js";
import { createFaults, type Faults } from "./faults.js";
import { createHealthService } from "./health-service.js";
import type { HostedService } from "./hosted.js";
import { createStats, type EchoStats } from "./stats.js";
import { createStatsFallback } from "./stats-endpoint.js";

// Large enough for the gateway's big-payload tests, small enough that a
// runaway client cannot make a demo replica buffer without bound.
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
// How long close() lets in-flight calls finish before cutting connections.
const CLOSE_GRACE_MS = 500;

export interface ReplicaOptions {
  /** 0 (the default) picks a free ephemeral port. */
  port?: number;
  /** Defaults to 127.0.0.1: a demo upstream has no business on other interfaces. */
  host?: string;
  name: string;
  faults?: Partial<Faults>;
  /** What it serves (services/<name>/service.ts, see hosted.ts); default the echo service. */
  services?: readonly HostedService[];
}

export interface Replica {
  readonly name: string;
  readonly port: number;
  /** host:port, ready for a gateway's upstream list. */
  readonly address: string;
  /** Live: mutate it to change how the running replica misbehaves. */
  readonly faults: Faults;
  readonly stats: EchoStats;
  readonly health: { setServing(serving: boolean): void };
  close(): Promise<void>;
}

/**
 * Starts one demo upstream speaking gRPC, gRPC-Web and Connect (proto and
 * JSON) on a single cleartext port that takes both HTTP/1.1 and
 * prior-knowledge HTTP/2, like the upstreams a gateway meets in practice.
 * Besides its services it serves grpc.health.v1 and server reflection (v1,
 * v1alpha) for them, as a production server would.
 */
export async function startReplica(opts: ReplicaOptions): Promise<Replica> {
  const host = opts.host ?? "127.0.0.1";
  const faults = createFaults(opts.faults);
  const stats = createStats();
  const services = opts.services ?? [echo];
  const health = createHealthService(
    faults,
    services.map((s) => s.service.typeName),
  );
  // The gateway's own reflection answers, from these services' files (and health's).
  const described = {
    methods: new MethodCatalogue(
      [],
      services.map((s) => s.file),
    ),
    routed: () => true,
  };

  const handler = connectNodeAdapter({
    routes(router) {
      for (const s of services) router.service(s.service, s.implement({ replica: opts.name, faults, stats }));
      router.service(Health, health.impl);
      registerReflection(router, () => described);
    },
    fallback: createStatsFallback(opts.name, stats),
    readMaxBytes: MAX_MESSAGE_BYTES,
    writeMaxBytes: MAX_MESSAGE_BYTES,
  });

  // httpolyglot sniffs the HTTP/2 preface, so gRPC clients (h2c) and
  // browser-style HTTP/1.1 clients can share the one port.
  const server = createServer(
    {
      http2: {
        // Many concurrent streams per session: the gateway multiplexes all
        // of its traffic to a replica over one or two sessions.
        settings: { maxConcurrentStreams: 1000 },
        // In MB. Past the limit Node refuses new streams (ENHANCE_YOUR_CALM);
        // its default of 10 is only a few 16 MiB messages in flight.
        maxSessionMemory: 64,
      },
    },
    handler,
  );
  const tracker = trackConnections(server);
  // http.Server disables Nagle on its sockets but the HTTP/2 path does not;
  // without this every small h2c response waits ~40 ms for a delayed ACK,
  // which would swamp the latencies the gateway's hedging tests measure.
  server.on("connection", (socket: Socket) => socket.setNoDelay(true));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    name: opts.name,
    port,
    address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    faults,
    stats,
    health: { setServing: health.setServing },
    // Idempotent, so a test's afterEach and a signal handler can both call it.
    close: () => (closing ??= tracker.drain(CLOSE_GRACE_MS)),
  };
}
