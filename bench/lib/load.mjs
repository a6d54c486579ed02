// The load tools: ghz (gRPC), h2load (raw HTTP/2 and HTTP/1.1), wrk (HTTP/1.1).
// Each runner returns { ok, errors, seconds, p50ms, p99ms, bytes? } for one run.
//
// ghz and h2load are given a number of calls (`count`, which the harness
// sizes from the throughput it last saw, so a run lasts about the wanted
// seconds) rather than a duration: a duration run ends by dropping the
// connections with every call still in flight, and Switchyard currently
// counts such client cancellations as upstream failures (see bench/README.md).
// wrk can only run for a duration; over HTTP/1.1 its ending does no harm.
import { readFileSync, rmSync } from "node:fs";
import { run } from "./procs.mjs";

/** p-th percentile (0..100) of a sorted array, nearest rank. */
function percentile(sorted, p) {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ghz ends a duration run by closing its connections, which fails the calls
// still in flight with these; they are the tool's, not the target's.
const GHZ_SHUTDOWN =
  /use of closed network connection|client connection is closing|context canceled|Canceled|transport is closing/i;

/**
 * ghz: closed loop with `concurrency` workers, or open loop at `rps` calls/s
 * (--async: a call is sent on schedule whether or not earlier ones finished).
 */
export async function ghz(
  paths,
  { repo, port, call, dataFile, metadata, seconds, count, concurrency, connections = 1, rps },
) {
  const args = [
    "--insecure",
    "--proto",
    "proto/acme/echo/v1/echo.proto",
    "--import-paths",
    "proto",
    "--call",
    call,
    "-D",
    dataFile,
    ...(count ? ["-n", String(count)] : ["-z", `${Math.round(seconds * 1000)}ms`]),
    "-c",
    String(Math.min(concurrency, count ?? concurrency)),
    "--connections",
    String(connections),
    "-O",
    "json",
  ];
  if (metadata) args.push("-m", JSON.stringify(metadata));
  if (rps) args.push("--rps", String(rps), "--async");
  args.push(`127.0.0.1:${port}`);
  const r = await run(paths.ghz, args, { cwd: repo, timeoutMs: (seconds + 60) * 1000 });
  let d;
  try {
    d = JSON.parse(r.stdout);
  } catch {
    throw new Error(`ghz failed (exit ${r.code}): ${(r.stderr || r.stdout).slice(0, 800)}`);
  }
  const ok = d.statusCodeDistribution?.OK ?? 0;
  let errors = 0;
  const errorKinds = {};
  for (const [msg, n] of Object.entries(d.errorDistribution ?? {})) {
    if (GHZ_SHUTDOWN.test(msg)) continue;
    errors += n;
    errorKinds[msg.slice(0, 160)] = n;
  }
  const lat = Object.fromEntries((d.latencyDistribution ?? []).map((x) => [x.percentage, x.latency / 1e6]));
  return { ok, errors, errorKinds, seconds: d.total / 1e9, p50ms: lat[50], p99ms: lat[99] };
}

/**
 * h2load: closed loop (`clients` connections x `streams` concurrent streams),
 * or open loop with `rps` requests/s spread over the clients. Latency
 * percentiles come from its per-request log. HTTP/1.1 with `h1`.
 */
export async function h2load(
  paths,
  { url, bodyFile, headers = {}, seconds, count, clients, streams, rps, h1, logFile },
) {
  const args = [
    ...(count ? ["-n", String(Math.max(count, clients))] : ["-D", `${Math.round(seconds * 1000)}ms`]),
    "-c",
    String(clients),
    "-m",
    String(h1 ? 1 : streams),
    "-d",
    bodyFile,
    `--log-file=${logFile}`,
  ];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  if (rps) args.push(`--rps=${(rps / clients).toFixed(3)}`);
  if (h1) args.push("--h1");
  args.push(url);
  rmSync(logFile, { force: true });
  const r = await run(paths.h2load, args, { timeoutMs: (seconds + 60) * 1000 });
  const out = r.stdout;
  const req =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  const fin = /finished in ([\d.]+)(m?s)/.exec(out);
  if (r.code !== 0 || !req || !fin)
    throw new Error(`h2load failed (exit ${r.code}): ${(r.stderr + out).slice(0, 800)}`);
  const ok = Number(req[4]);
  const errors = Number(req[5]) + Number(req[6]) + Number(req[7]);
  const elapsed = Number(fin[1]) / (fin[2] === "ms" ? 1000 : 1);
  const dataBytes = Number(/\((\d+)\) data/.exec(out)?.[1] ?? 0);
  const durations = [];
  try {
    for (const line of readFileSync(logFile, "utf8").split("\n")) {
      const [, status, us] = line.split("\t");
      if (status && status.startsWith("2")) durations.push(Number(us) / 1000);
    }
  } catch {
    // no log: no percentiles
  }
  durations.sort((a, b) => a - b);
  rmSync(logFile, { force: true });
  return {
    ok,
    errors,
    errorKinds: errors ? { "h2load failed/errored/timeout": errors } : {},
    seconds: elapsed,
    p50ms: percentile(durations, 50),
    p99ms: percentile(durations, 99),
    bytes: dataBytes,
  };
}

const WRK_UNITS = { us: 0.001, ms: 1, s: 1000, m: 60000 };

/** wrk: HTTP/1.1 keep-alive, closed loop; the Lua script sets method, headers and body. */
export async function wrk(paths, { url, script, seconds, connections }) {
  const args = [
    "-t",
    "1",
    "-c",
    String(connections),
    "-d",
    `${Math.max(1, Math.round(seconds))}s`,
    "--latency",
    "-s",
    script,
    url,
  ];
  const r = await run(paths.wrk, args, { timeoutMs: (seconds + 60) * 1000 });
  const out = r.stdout;
  const total = /(\d+) requests in ([\d.]+)(m?s)/.exec(out);
  if (r.code !== 0 || !total) throw new Error(`wrk failed (exit ${r.code}): ${(r.stderr + out).slice(0, 800)}`);
  const bad = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const sockErrors = sock ? sock.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  const lat = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    return m ? Number(m[1]) * WRK_UNITS[m[2]] : undefined;
  };
  const errors = bad + sockErrors;
  return {
    ok: Number(total[1]) - bad,
    errors,
    errorKinds: errors ? { [`wrk: ${bad} non-2xx, socket errors ${sock?.slice(1).join("/")}`]: errors } : {},
    seconds: Number(total[2]) / (total[3] === "ms" ? 1000 : 1),
    p50ms: lat(50),
    p99ms: lat(99),
  };
}
