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
export function summarizeProfile(profile, repo, window, top = 15) {
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
  return { seconds: total / 1e6, windowed, busyPct: (100 * busyHits) / hits, functions, origins };
}

/**
 * Starts a separate Switchyard (default resilience) with --cpu-prof in front
 * of the Go upstream, loads it with ghz for `seconds`, stops it and reads the
 * profile it wrote.
 */
export async function profileGateway({ repo, paths, tmp, upstreamPort, wire, seconds, log }) {
  const dir = join(tmp, "cpu-prof");
  mkdirSync(dir, { recursive: true });
  const cfg = join(tmp, "switchyard-profile.json");
  writeFileSync(cfg, JSON.stringify(gatewayConfig(`127.0.0.1:${upstreamPort}`)));
  const gw = await startProcess(
    "switchyard (--cpu-prof)",
    process.execPath,
    ["--cpu-prof", `--cpu-prof-dir=${dir}`, "dist/bench/gateway-main.js", cfg],
    {
      cwd: repo,
      logFile: join(tmp, "switchyard-profile.log"),
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
  const summary = summarizeProfile(JSON.parse(readFileSync(join(dir, file), "utf8")), repo, window);
  log(`cpu profile: ${file}, ${(result.ok / result.seconds).toFixed(0)} calls/s under ghz while profiled`);
  return { ...summary, file: join(dir, file), callsPerSec: result.ok / result.seconds };
}
