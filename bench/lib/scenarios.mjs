// What the benchmark measures. Each scenario sends one request shape (a wire,
// see wire.mjs) to each of its targets, closed loop (throughput, CPU, memory)
// and, where it has `open`, at a fixed rate (latency).
//
// Targets: direct = the upstream itself; switchyard = the gateway with default
// resilience (breaker, retries, health checks, outlier detection; no hedging);
// switchyard-on and switchyard-off = two more gateways, with the defaults and
// with all four turned off; switchyard-nolimit and switchyard-ratelimit = two
// more, the defaults without and with a rate limit every call passes through
// (key peer, never refused: the cost of taking a token); switchyard-metrics and
// switchyard-metrics-off = two more, with an admin listener and Prometheus
// metrics on and off; node-pipe =
// bench/peers/node-pipe-proxy.mjs; nginx = nginx grpc_pass, one worker;
// haproxy = HAProxy, HTTP/2 on both sides, one thread; caddy = Caddy's
// reverse_proxy to h2c:// (bench/lib/peers.mjs); vanguard =
// bench/peers/vanguard (connectrpc/vanguard-go). Every Node target (the
// gateway and the node:http2 pipe) runs on the harness's Node and again on
// Node 24 as "<target>-node24". `upstream` says whose echo server is behind
// them: "go" (bench/upstream, connect-go) or "node" (services/replica.ts,
// connect-es).

export const TARGET_LABELS = {
  direct: "direct",
  switchyard: "switchyard",
  "switchyard-on": "switchyard, resilience defaults",
  "switchyard-off": "switchyard, resilience off",
  "switchyard-nolimit": "switchyard, no rate limit",
  "switchyard-ratelimit": "switchyard, rate limit (memory, key peer)",
  "switchyard-w2": "switchyard, workers: 2",
  "switchyard-wauto": "switchyard, workers: auto",
  "switchyard-metrics": "switchyard, metrics on",
  "switchyard-metrics-off": "switchyard, metrics off",
  "node-pipe": "node-pipe-proxy",
  nginx: "nginx grpc_pass",
  haproxy: "HAProxy",
  caddy: "Caddy",
  vanguard: "vanguard-go",
};

/** The targets that are Node processes; each also runs on Node 24 as `${target}${NODE24}`. */
export const NODE_TARGETS = ["switchyard", "switchyard-on", "switchyard-off", "node-pipe"];
export const NODE24 = "-node24";

/** A target id without its runtime suffix: "switchyard-node24" -> "switchyard". */
export const baseTarget = (t) => (t.endsWith(NODE24) ? t.slice(0, -NODE24.length) : t);

/**
 * What a report calls a target. Node targets say which Node ran them
 * (`versions.node` is the harness's, which ran the plain ids).
 */
export function targetLabel(t, versions) {
  const base = TARGET_LABELS[baseTarget(t)] ?? t;
  if (t.endsWith(NODE24)) return `${base}, Node ${major(versions?.node24) ?? 24}`;
  if (NODE_TARGETS.includes(t) && versions?.node) return `${base}, Node ${major(versions.node)}`;
  return base;
}
const major = (v) => /^v?(\d+)/.exec(v ?? "")?.[1];

/** Each Node target followed by its Node 24 twin. */
const withNode24 = (targets) => targets.flatMap((t) => (NODE_TARGETS.includes(t) ? [t, t + NODE24] : [t]));

// Streams: Count with this many messages per call, each carrying this many
// bytes of padding (x-bench-pad, honoured by bench/upstream only).
export const STREAM = { count: 200, pad: 1024 };

const GRPC_PEERS = withNode24(["direct", "switchyard", "node-pipe", "nginx", "haproxy", "caddy", "vanguard"]);
const TRANSLATORS = withNode24(["direct", "switchyard", "vanguard"]);

export const SCENARIOS = [
  {
    id: "idle-conns",
    title: "1,000 idle HTTP/2 connections: RSS per connection",
    kind: "idle",
    upstream: "go",
    targets: GRPC_PEERS,
    wire: "grpcSmall",
    connections: 1000,
  },
  {
    id: "open-streams",
    title:
      "10,000 open streams (100 HTTP/2 connections x 100 bidi calls, each after one message each way): RSS per stream",
    kind: "idle",
    upstream: "go",
    // node-pipe-proxy multiplexes everything onto one upstream session and
    // stalls at the upstream's 1,000-stream limit: the floor does not do this.
    targets: withNode24(["direct", "switchyard", "nginx", "haproxy", "caddy", "vanguard"]),
    wire: "grpcSmall",
    connections: 100,
    streamsPerConnection: 100,
  },
  {
    id: "grpc-small-ghz",
    title: "gRPC unary pass-through, 5-byte message (ghz)",
    upstream: "go",
    targets: GRPC_PEERS,
    wire: "grpcSmall",
    closed: { tool: "ghz", concurrency: 50, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 16 },
  },
  {
    id: "grpc-small-h2load",
    title: "gRPC unary pass-through, 5-byte message (h2load, 4 conns x 32 streams)",
    upstream: "go",
    targets: GRPC_PEERS,
    wire: "grpcSmall",
    closed: { tool: "h2load", clients: 4, streams: 32 },
  },
  {
    id: "grpc-64k",
    title: "gRPC unary pass-through, 64 KiB message each way (ghz)",
    upstream: "go",
    targets: GRPC_PEERS,
    wire: "grpc64k",
    closed: { tool: "ghz", concurrency: 16, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 8 },
  },
  {
    id: "connect-json",
    title: "Connect JSON unary over h2c -> gRPC proto upstream (transcoding; h2load)",
    upstream: "go",
    targets: TRANSLATORS,
    wire: "connectJson",
    closed: { tool: "h2load", clients: 4, streams: 32 },
    open: { tool: "h2load", peakShare: 0.5, clients: 4, streams: 32 },
  },
  {
    id: "connect-proto-h1",
    title: "Connect proto unary over HTTP/1.1 -> gRPC upstream (wrk 32 conns; fixed rate: h2load --h1)",
    upstream: "go",
    targets: TRANSLATORS,
    wire: "connectProtoH1",
    closed: { tool: "wrk", connections: 32 },
    open: { tool: "h2load", peakShare: 0.5, clients: 16, h1: true },
  },
  {
    id: "grpc-web",
    title: "gRPC-Web (binary) unary over h2c -> gRPC upstream (h2load)",
    upstream: "go",
    targets: TRANSLATORS,
    wire: "grpcWeb",
    closed: { tool: "h2load", clients: 4, streams: 32 },
    open: { tool: "h2load", peakShare: 0.5, clients: 4, streams: 32 },
  },
  {
    id: "server-stream",
    title: `gRPC server streaming: Count, ${STREAM.count} x ${STREAM.pad} B messages per call (h2load, 2 conns x 4 streams)`,
    upstream: "go",
    targets: GRPC_PEERS,
    wire: "grpcStream",
    unit: "msgs",
    msgsPerCall: STREAM.count,
    closed: { tool: "h2load", clients: 2, streams: 4 },
  },
  {
    id: "resilience",
    title: "Resilience defaults vs all off, gRPC unary small (ghz; ratio to direct of grpc-small-ghz)",
    upstream: "go",
    // Two processes of their own with the same history, so JIT warm-up does not tilt the comparison.
    targets: withNode24(["switchyard-on", "switchyard-off"]),
    ratioBase: "grpc-small-ghz",
    wire: "grpcSmall",
    closed: { tool: "ghz", concurrency: 50, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 16 },
  },
  {
    id: "rate-limit",
    title: "A rate limit on every call (in memory, key peer, never refused) vs none, gRPC unary small (ghz)",
    upstream: "go",
    // Two processes of their own with the same history, as for resilience.
    targets: ["switchyard-nolimit", "switchyard-ratelimit"],
    ratioBase: "grpc-small-ghz",
    wire: "grpcSmall",
    closed: { tool: "ghz", concurrency: 50, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 16 },
  },
  {
    id: "metrics",
    title: "Prometheus metrics on vs off, gRPC unary small pass-through (ghz; ratio to direct of grpc-small-ghz)",
    upstream: "go",
    // As for resilience: two gateways of their own, the same but for metrics.enabled (issue 13: within 5% CPU per call).
    targets: ["switchyard-metrics-off", "switchyard-metrics"],
    ratioBase: "grpc-small-ghz",
    wire: "grpcSmall",
    closed: { tool: "ghz", concurrency: 50, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 16 },
  },
  {
    id: "workers",
    title: "gRPC unary pass-through with 1, 2 and auto workers (h2load, 8 conns x 16 streams)",
    upstream: "go",
    // switchyard is workers: 1 (one process); each connection stays with the worker it was handed to.
    targets: ["direct", "switchyard", "switchyard-w2", "switchyard-wauto"],
    wire: "grpcSmall",
    closed: { tool: "h2load", clients: 8, streams: 16 },
  },
  {
    id: "node-upstream",
    title: "Second view: gRPC unary small in front of the Node demo replica (connect-es; ghz)",
    upstream: "node",
    targets: withNode24(["direct", "switchyard", "node-pipe", "nginx", "haproxy", "caddy"]),
    wire: "grpcSmall",
    closed: { tool: "ghz", concurrency: 50, connections: 2 },
    open: { tool: "ghz", peakShare: 0.5, concurrency: 16 },
  },
];
