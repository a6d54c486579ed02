// Where the gateway's CPU goes: a Switchyard process run with --cpu-prof under
// ghz load, reduced to the top self-time functions and a breakdown by origin.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ghz } from "./load.mjs";
import { startProcess } from "./procs.mjs";
import { gatewayConfig } from "./targets.mjs";

function origin(url, fn) {
  if (fn === "(garbage collector)") return "V8 garbage collector";
  if (fn === "(program)") return "V8/native, unattributed";
  if (fn === "(idle)") return "idle";
  if (!url) return "native/builtins";
  if (url.startsWith("node:")) return "Node internals (node:*)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `dependency ${nm[1]}`;
  if (url.includes("/gateway/")) return "Switchyard gateway/";
  return "other";
}

/**
 * The pieces a call's CPU is told apart by: the gateway's rooms (and the
 * concepts the issue names: routing, method facts, A6 bookkeeping, the
 * breaker, the balancer, the deadline, metadata filtering), then what Node
 * and V8 spend around them. Self time only: a room's calls into Node count
 * as Node's. First match wins; the third field marks the gateway's own code.
 */
const PIECES = [
  ["listener: accepting streams, rapid-reset books (listener/)", (u) => u.includes("/gateway/listener/"), true],
  ["proxy: the call's frame, fair share, overload (proxy/)", (u) => u.includes("/gateway/proxy/"), true],
  [
    "routing and method facts (route/, descriptors/, snapshot/)",
    (u) => /\/gateway\/(route|descriptors|snapshot)\//.test(u),
    true,
  ],
  ["guard: auth, rate limits (guard/)", (u) => u.includes("/gateway/guard/"), true],
  ["A6 bookkeeping: attempts, retries, hedges, budget (policy/)", (u) => u.includes("/gateway/policy/"), true],
  [
    "circuit breaker (opossum, cluster/breaker)",
    (u) => u.includes("/node_modules/opossum/") || u.includes("/gateway/cluster/breaker"),
    true,
  ],
  ["balancer and endpoint books (cluster/)", (u) => u.includes("/gateway/cluster/"), true],
  ["deadline (call/deadline)", (u) => u.includes("/gateway/call/deadline"), true],
  ["metadata filtering (call/metadata)", (u) => u.includes("/gateway/call/metadata"), true],
  ["framing, request read, cancel, status (call/)", (u) => u.includes("/gateway/call/"), true],
  ["protocol adapters (protocol/)", (u) => u.includes("/gateway/protocol/"), true],
  ["transport: pooled upstream sessions (transport/)", (u) => u.includes("/gateway/transport/"), true],
  ["observation (observe/)", (u) => u.includes("/gateway/observe/"), true],
  ["the rest of gateway/", (u) => u.includes("/gateway/"), true],
  ["the benchmark's node:http2 pipe (its own JS)", (u) => u.includes("/bench/peers/"), false],
  ["other dependencies", (u) => u.includes("/node_modules/"), false],
  ["Node: HTTP/2, streams, events, timers (node:*)", (u) => u.startsWith("node:"), false],
];

/** The pieces that are the gateway's own code (its rooms and its breaker). */
const GATEWAY_PIECES = new Set(PIECES.filter(([, , gateway]) => gateway).map(([name]) => name));

function pieceOf(url, fn) {
  if (fn === "(garbage collector)") return "V8 garbage collector";
  if (fn === "runMicrotasks") return "promise jobs (runMicrotasks)";
  if (fn === "(program)") return "V8/native, unattributed";
  for (const [name, test] of PIECES) if (url && test(url)) return name;
  return url ? "other" : "native builtins (buffers, headers, maps)";
}

function shortUrl(url, repo) {
  return url
    .replace(/^file:\/\//, "")
    .replace(`${repo}/`, "")
    .replace(/^.*node_modules\//, "");
}

/**
 * Top self-time functions and origin shares from a .cpuprofile, counting only
 * samples inside `window` ({ from, to } in µs of CLOCK_MONOTONIC, the clock
 * V8 stamps samples with) when given, so start-up is left out.
 */
export function summarizeProfile(profile, repo, window, top = 15, calls = undefined) {
  const hitsById = new Map();
  let t = profile.startTime;
  let first;
  let last;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    if (window && (t < window.from || t > window.to)) continue;
    first ??= t;
    last = t;
    hitsById.set(profile.samples[i], (hitsById.get(profile.samples[i]) ?? 0) + 1);
  }
  const windowed = Boolean(window) && hitsById.size > 0;
  if (!windowed) {
    // No window, or it missed every sample (a different clock): the whole profile.
    hitsById.clear();
    for (const n of profile.nodes) if (n.hitCount) hitsById.set(n.id, n.hitCount);
    first = profile.startTime;
    last = profile.endTime;
  }
  const total = last - first; // µs
  const nodes = profile.nodes.map((n) => ({ ...n, hitCount: hitsById.get(n.id) ?? 0 }));
  const hits = nodes.reduce((s, n) => s + n.hitCount, 0) || 1;
  const idleHits = nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((s, n) => s + n.hitCount, 0);
  const busyHits = hits - idleHits || 1;
  const byFn = new Map();
  const byOrigin = new Map();
  const byPiece = new Map();
  for (const n of nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    if (!n.hitCount || functionName === "(idle)") continue;
    const name = functionName || "(anonymous)";
    // TypeScript run through tsx reports line 1 for everything (no source maps in profiles): name the file only.
    const where = url ? (url.endsWith(".ts") ? shortUrl(url, repo) : `${shortUrl(url, repo)}:${lineNumber + 1}`) : "";
    const key = `${name}\u0000${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + n.hitCount);
    const o = origin(url, functionName);
    byOrigin.set(o, (byOrigin.get(o) ?? 0) + n.hitCount);
    const piece = pieceOf(url, functionName);
    byPiece.set(piece, (byPiece.get(piece) ?? 0) + n.hitCount);
  }
  const msPerHit = total / hits / 1000;
  const functions = [...byFn]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, h]) => {
      const [fn, where] = key.split("\u0000");
      return { function: fn, where, selfMs: Math.round(h * msPerHit), pctBusy: (100 * h) / busyHits };
    });
  const origins = [...byOrigin]
    .sort((a, b) => b[1] - a[1])
    .map(([o, h]) => ({ origin: o, pctBusy: (100 * h) / busyHits }));
  // µs of self time per call: the profiler's own cost is in every figure (about a fifth more CPU).
  const pieces = [...byPiece]
    .sort((a, b) => b[1] - a[1])
    .map(([piece, h]) => ({
      piece,
      gateway: GATEWAY_PIECES.has(piece),
      pctBusy: (100 * h) / busyHits,
      usPerCall: calls ? (h * msPerHit * 1000) / calls : undefined,
    }));
  return { seconds: total / 1e6, windowed, busyPct: (100 * busyHits) / hits, functions, origins, pieces, calls };
}

/**
 * Starts a separate Switchyard (default resilience) with --cpu-prof in front
 * of the Go upstream, on `node` (the harness's Node unless given), loads it
 * with ghz for `seconds`, stops it and reads the profile it wrote. With
 * `pipe`, profiles the node:http2 pipe instead: the floor the gateway's
 * pieces are read against.
 */
export async function profileProcess({ repo, paths, tmp, upstreamPort, wire, seconds, log, node, tag = "", pipe }) {
  const what = pipe ? "node-pipe-proxy" : "switchyard";
  const dir = join(tmp, `cpu-prof-${what}${tag}`);
  mkdirSync(dir, { recursive: true });
  const cfg = join(tmp, "switchyard-profile.json");
  writeFileSync(cfg, JSON.stringify(gatewayConfig(`127.0.0.1:${upstreamPort}`)));
  const gw = await startProcess(
    `${what} (--cpu-prof${tag})`,
    node ?? process.execPath,
    [
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      ...(pipe
        ? ["bench/peers/node-pipe-proxy.mjs", "0", `127.0.0.1:${upstreamPort}`]
        : ["dist/bench/gateway-main.js", cfg]),
    ],
    {
      cwd: repo,
      logFile: join(tmp, `${what}-profile${tag}.log`),
    },
  );
  const load = {
    repo,
    port: gw.port,
    call: "acme.echo.v1.EchoService.Echo",
    dataFile: wire.dataFile,
    concurrency: 50,
    connections: 2,
  };
  let result;
  let window;
  try {
    // Warm-up (also profiled), then about `seconds` of load. Counted calls, not
    // a duration: see load.mjs.
    const warm = await ghz(paths, { ...load, seconds: 5, count: 1000 });
    const rate = warm.ok / warm.seconds || 500;
    const from = Number(process.hrtime.bigint() / 1000n);
    result = await ghz(paths, { ...load, seconds, count: Math.round(rate * seconds) });
    window = { from, to: Number(process.hrtime.bigint() / 1000n) };
  } finally {
    await gw.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (see ${gw.logFile})`);
  const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), "utf8")), repo, window, 15, result.ok);
  log(`cpu profile: ${file}, ${(result.ok / result.seconds).toFixed(0)} calls/s under ghz while profiled`);
  return { ...summary, file: join(dir, file), callsPerSec: result.ok / result.seconds, target: what };
}

/**
 * Profiles the gateway and node-pipe-proxy on the harness's Node and, when
 * `paths.node24` is set, on Node 24: { switchyard, node-pipe,
 * switchyard-node24, node-pipe-node24 }, each a profileProcess() result.
 * A run that fails is left out, with a line saying why.
 */
export async function profileAll({ paths, progress, ...common }) {
  const runs = [
    ["switchyard", {}],
    ["node-pipe", { pipe: true }],
    ...(paths.node24
      ? [
          ["switchyard-node24", { node: paths.node24, tag: "-node24" }],
          ["node-pipe-node24", { node: paths.node24, tag: "-node24", pipe: true }],
        ]
      : []),
  ];
  const profiles = {};
  for (const [key, extra] of runs) {
    try {
      const p = (profiles[key] = await profileProcess({ paths, ...common, ...extra }));
      const own = p.pieces.filter((x) => x.gateway).reduce((n, x) => n + (x.usPerCall ?? 0), 0);
      progress(
        `[profile] ${key}: ${p.functions
          .slice(0, 3)
          .map((x) => `${x.function} ${x.pctBusy.toFixed(1)}%`)
          .join(", ")}; gateway/ self time ${own.toFixed(1)} µs/call`,
      );
    } catch (err) {
      progress(`[profile] ${key} failed: ${err.message}`);
    }
  }
  return profiles;
}
