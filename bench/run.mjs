#!/usr/bin/env node
// Switchyard benchmark harness: `npm run bench` (full, about 11 min) or
// `npm run bench -- --quick` (one short run, about 2 min). See bench/README.md.
import { parseArgs } from "node:util";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { ensureTools, machine, SetupError, toolVersions } from "./lib/tools.mjs";
import {
  cpuTicks,
  machineTicks,
  peakRssKb,
  processTree,
  reapedChildrenTicks,
  resetPeakRss,
  rssKb,
  run,
  selfTicks,
  stopAll,
  CLK_TCK,
} from "./lib/procs.mjs";
import { ghz, h2load, wrk } from "./lib/load.mjs";
import { makeWires, verify } from "./lib/wire.mjs";
import { NODE24, SCENARIOS, STREAM, TARGET_LABELS } from "./lib/scenarios.mjs";
import { startTarget, startTargets, startUpstream } from "./lib/targets.mjs";
import { profileAll } from "./lib/profile.mjs";
import { aggregate, markdown, progressLine, svgChart } from "./lib/report.mjs";

const USAGE = `usage: npm run bench [-- options]

  --quick          1 run of 1 s per measurement (about 2 min), to check the harness
  --runs N         runs per measurement (default 3; medians are reported)
  --seconds S      measured seconds per load run (default 3, quick 1)
  --only a,b       only scenarios whose id contains one of these
  --without a,b    leave these targets out; "node24" leaves out every Node 24 row
                   (${Object.keys(TARGET_LABELS).join(", ")})
  --no-profile     skip the --cpu-prof runs (gateway and pipe, on each Node)
  --no-install     never apt-get / go install; fail with what to run instead
  --render FILE    rewrite the .md/.svg/.png (and RESULTS.md, for a full run) of
                   bench/results/FILE.json without measuring
  --help

Writes bench/results/<stamp>.json, .md, .svg and .png; a full run of every
scenario also rewrites bench/RESULTS.md.`;

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);

const { values: opt } = parseArgs({
  options: {
    quick: { type: "boolean" },
    runs: { type: "string" },
    seconds: { type: "string" },
    only: { type: "string" },
    without: { type: "string" },
    "no-profile": { type: "boolean" },
    "no-install": { type: "boolean" },
    render: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = Boolean(opt.quick);
const runs = Number(opt.runs ?? (quick ? 1 : 3));
const seconds = Number(opt.seconds ?? (quick ? 1 : 3));
const warmupSeconds = quick ? 0.5 : 1;
const only = opt.only
  ?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const without = new Set(
  opt.without
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const w of without)
  if (w !== "node24" && !TARGET_LABELS[w.replace(NODE24, "")]) {
    console.error(`--without ${w}: no such target; ids: ${Object.keys(TARGET_LABELS).join(", ")}, node24`);
    process.exit(2);
  }
// Run under Node 24 itself, the harness's own Node rows are the Node 24 rows.
const harnessIs24 = process.version.startsWith("v24.");
const kept = (t) => !without.has(t) && !((harnessIs24 || without.has("node24")) && t.endsWith(NODE24));
const scenarios = (only ? SCENARIOS.filter((s) => only.some((o) => s.id.includes(o))) : SCENARIOS)
  .map((s) => ({ ...s, targets: s.targets.filter(kept) }))
  .filter((s) => s.targets.length);
if (!scenarios.length) {
  console.error(`no scenario matches --only ${opt.only}; ids: ${SCENARIOS.map((s) => s.id).join(", ")}`);
  process.exit(2);
}
const fullRun = !quick && !only && !without.size && !opt.runs && !opt.seconds && !opt["no-profile"];

const started = Date.now();
const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
const log = (m) => console.log(`  ${m}`);

const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "-") + (quick ? "-quick" : "");
const resultsDir = join(here, "results");
const tmp = join(resultsDir, "tmp", stamp);
if (!opt.render) {
  rmSync(join(resultsDir, "tmp"), { recursive: true, force: true }); // the previous run's logs
  mkdirSync(tmp, { recursive: true });
}

const incidents = [];
/** Absolute paths of the tools and built programs (ensureTools). */
let paths;
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${sig}: stopping the benchmark's processes`);
    stopAll().finally(() => process.exit(130));
  });
}

async function main() {
  console.log(
    `switchyard bench: ${quick ? "quick" : fullRun ? "full" : "partial"} run, ${scenarios.length} scenarios, ${runs} run(s) x ${seconds} s per measurement`,
  );
  const m = machine();
  const load0 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${process.version}; load average ${load0}`,
  );
  if (harnessIs24) log("the harness runs on Node 24: its Node rows are the Node 24 rows, none run twice");

  try {
    paths = await ensureTools({
      repo,
      install: !opt["no-install"],
      log,
      targets: new Set(scenarios.flatMap((s) => s.targets)),
    });
  } catch (err) {
    if (err instanceof SetupError) {
      console.error(`\nbench setup: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  const clk = await run("getconf", ["CLK_TCK"]);
  if (clk.code === 0 && Number(clk.stdout) !== CLK_TCK)
    throw new Error(`CLK_TCK is ${clk.stdout.trim()}, the harness assumes ${CLK_TCK}`);
  const versions = await toolVersions(paths, repo);
  // What was measured: the gateway's code as on disk when its processes started.
  const head = await run("git", ["rev-parse", "--short", "HEAD"], { cwd: repo }).catch(() => ({ code: 1 }));
  const dirty = await run("git", ["status", "--porcelain", "--", "gateway", "services"], { cwd: repo }).catch(() => ({
    code: 1,
  }));
  versions.switchyard =
    head.code === 0
      ? `${head.stdout.trim()}${dirty.code === 0 && dirty.stdout.trim() ? " + uncommitted changes in gateway/ or services/" : ""}`
      : "?";
  const wires = makeWires(tmp, { streamCount: STREAM.count, streamPad: STREAM.pad });

  const needed = new Set(
    scenarios.filter((s) => s.kind !== "idle").flatMap((s) => s.targets.map((t) => `${t}@${s.upstream}`)),
  );
  // The profile and the idle-connection scenario put fresh processes in front of the shared Go upstream.
  needed.add("direct@go");
  const ctx = { repo, paths, tmp };
  const targets = await startTargets(ctx, needed);
  log(`started ${targets.size} targets: ${[...targets.keys()].join(", ")} (total ${elapsed()})`);
  // Before any load: every proxy must pass one gRPC call through, OK with the
  // upstream's trailers (h2load would count a wrong HTTP 200 as a success).
  for (const inst of targets.values()) {
    const problem = await verify(inst.port, wires.grpcSmall);
    if (problem)
      throw new Error(
        `${inst.key} does not pass gRPC through: ${problem}. Its log and config: ${relative(repo, inst.proxy?.logFile ?? tmp)} and ${relative(repo, tmp)}/`,
      );
  }
  log(`every target passed a gRPC call through (OK in trailers)`);
  // JIT warm-up of every Node process (and the others, for symmetry) before
  // anything is measured; each scenario adds its own short warm-up too.
  const warmAll = quick ? 1 : 2;
  for (const inst of targets.values()) {
    if (inst.target === "direct" && inst.upstream === "go") continue;
    await warmUp({ id: "warm-up" }, { tool: "h2load", clients: 4, streams: 32 }, inst, wires.grpcSmall, warmAll);
  }
  log(`warmed up every target with ${warmAll} s of gRPC unary load (total ${elapsed()})`);

  const records = [];
  for (const [i, sc] of scenarios.entries()) {
    const t0 = Date.now();
    const wire = wires[sc.wire];
    // Check every target answers this request correctly before timing it.
    for (const t of sc.kind === "idle" ? [] : sc.targets) {
      const inst = targets.get(`${t}@${sc.upstream}`);
      const problem = await verify(inst.port, wire);
      if (problem)
        throw new Error(`${sc.id}: ${t} answers ${sc.wire} wrongly: ${problem} (logs in ${relative(repo, tmp)})`);
    }
    for (let r = 0; r < runs; r++) {
      // Rotate the order each run, so no target always goes first after a pause.
      const order = sc.targets.map((_, j) => sc.targets[(j + r) % sc.targets.length]);
      for (const t of order) {
        if (sc.kind === "idle") {
          records.push({
            scenario: sc.id,
            target: t,
            run: r + 1,
            mode: "idle",
            ...(await measureIdle(sc, t, r + 1, wire, targets, ctx)),
          });
          continue;
        }
        const inst = targets.get(`${t}@${sc.upstream}`);
        if (r === 0) rates.set(`${sc.id}|${t}`, await warmUp(sc, sc.closed, inst, wire, warmupSeconds));
        await ensureAnswers(sc, t, inst, wire);
        records.push({
          scenario: sc.id,
          target: t,
          run: r + 1,
          mode: "closed",
          ...(await measure(paths, sc, sc.closed, inst, wire)),
        });
        await sleep(100);
      }
    }
    if (sc.open) {
      // Latency at a fixed rate: a share (half) of the gateway's own peak in
      // this scenario, the same rate for every target, so "added p50" is the
      // hop's cost under real but not saturating load.
      const base = sc.targets.find((t) => t.startsWith("switchyard")) ?? sc.targets[0];
      const peaks = records
        .filter((x) => x.scenario === sc.id && x.target === base && x.mode === "closed")
        .map((x) => x.callsPerSec);
      sc.open.rps = Math.max(50, Math.round(median(peaks) * sc.open.peakShare));
      for (let r = 0; r < runs; r++) {
        const order = sc.targets.map((_, j) => sc.targets[(j + r) % sc.targets.length]);
        for (const t of order) {
          const inst = targets.get(`${t}@${sc.upstream}`);
          await ensureAnswers(sc, t, inst, wire);
          records.push({
            scenario: sc.id,
            target: t,
            run: r + 1,
            mode: "open",
            rps: sc.open.rps,
            ...(await measure(paths, sc, sc.open, inst, wire)),
          });
          await sleep(100);
        }
      }
    }
    const s = aggregate(records, SCENARIOS).find((x) => x.id === sc.id);
    const line = `[${String(i + 1).padStart(2)}/${scenarios.length}] ${sc.id.padEnd(18)} ${progressLine(s)}  (${Math.round((Date.now() - t0) / 1000)} s, total ${elapsed()})`;
    console.log(line);
  }

  // The gateway and the node:http2 pipe on each Node (bench/README.md, "CPU profile").
  const profiles = opt["no-profile"]
    ? {}
    : await profileAll({
        repo,
        paths,
        tmp,
        upstreamPort: targets.get("direct@go").port,
        wire: wires.grpcSmall,
        seconds: quick ? 3 : 8,
        log,
        progress: (line) => console.log(`${line}  (total ${elapsed()})`),
      });
  const profile = profiles.switchyard;
  await stopAll();

  const load1 = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  const machineLine = `${m.cores} cores ${m.cpuModel}, Node ${process.version}${versions.node24 ? ` and ${versions.node24}` : ""}`;
  const meta = {
    stamp,
    quick,
    fullRun,
    runs,
    seconds,
    warmupSeconds,
    incidents,
    machine: m,
    versions,
    loadAverage: { start: load0, end: load1 },
    durationSeconds: Math.round((Date.now() - started) / 1000),
    profile: profile && { ...profile, file: undefined },
    profiles: Object.fromEntries(Object.entries(profiles).map(([k, p]) => [k, { ...p, file: undefined }])),
    machineLine,
  };
  const base = join(resultsDir, stamp);
  writeFileSync(
    `${base}.json`,
    JSON.stringify(
      {
        meta,
        scenarios: scenarios.map(({ id, title, targets: t, closed, open }) => ({
          id,
          title,
          targets: t,
          closed,
          open,
        })),
        summary: aggregate(records, scenarios, versions),
        records,
      },
      null,
      2,
    ),
  );
  const png = await writeReports(meta, records, scenarios, base);
  console.log(`\ndone in ${elapsed()}; load average ${load0} -> ${load1}`);
  console.log(
    `results: ${relative(repo, base)}.{json,md,svg${png ? ",png" : ""}}${fullRun ? ", bench/RESULTS.md" : " (RESULTS.md is rewritten by full runs only)"}`,
  );
  const errors = records.reduce((n, r) => n + (r.errors ?? 0), 0);
  if (errors) console.log(`${errors} failed calls in all (see the errors column)`);
  console.log(`process logs, configs and the CPU profile: ${relative(repo, tmp)} (kept until the next run)`);
}

/** The .md, .svg and .png next to a results .json, and RESULTS.md for a full run. Returns the PNG path if made. */
async function writeReports(meta, records, scs, base) {
  const summary = aggregate(records, scs, meta.versions);
  const md = markdown(summary, meta);
  writeFileSync(`${base}.md`, `# Switchyard benchmark ${meta.stamp}\n\n${machineDescription(meta)}\n\n${md}\n`);
  writeFileSync(`${base}.svg`, svgChart(summary, meta));
  let png;
  const rsvg = paths?.["rsvg-convert"] ?? "rsvg-convert";
  const r = await run(rsvg, ["-f", "png", "-o", `${base}.png`, `${base}.svg`]).catch((err) => ({
    code: -1,
    stderr: err.message,
  }));
  if (r.code === 0) png = `${base}.png`;
  else log(`no PNG (rsvg-convert: ${r.stderr.slice(0, 200)}); the SVG is there`);
  if (meta.fullRun) {
    const file = join(here, "RESULTS.md");
    writeFileSync(file, resultsMd(meta, md, png, keptSection(file)));
  }
  return png;
}

/** --render FILE.json: rebuild a run's reports (after a change to report.mjs) without measuring again. */
async function render(file) {
  const data = JSON.parse(readFileSync(file, "utf8"));
  const base = file.replace(/\.json$/, "");
  const png = await writeReports(
    data.meta,
    data.records,
    SCENARIOS.filter((s) => data.scenarios.some((x) => x.id === s.id)),
    base,
  );
  console.log(
    `rewrote ${relative(repo, base)}.{md,svg${png ? ",png" : ""}}${data.meta.fullRun ? " and bench/RESULTS.md" : ""}`,
  );
}

/**
 * Before each timed run: one call must succeed. A target that fails it (for
 * example a gateway that ejected its only endpoint after the previous run's
 * abrupt end) is polled for up to 30 s; the wait is printed and recorded in
 * the results as an incident, so it is seen rather than measured.
 */
async function ensureAnswers(sc, target, inst, wire) {
  let problem = await verify(inst.port, wire);
  if (!problem) return;
  const t0 = Date.now();
  const first = problem;
  while (problem && Date.now() - t0 < 30_000) {
    await sleep(500);
    problem = await verify(inst.port, wire);
  }
  const waited = (Date.now() - t0) / 1000;
  const incident = { scenario: sc.id, target, problem: first, waitedSeconds: waited, recovered: !problem };
  incidents.push(incident);
  console.log(
    `  ! ${sc.id} ${target}: a check call failed (${first}); ${problem ? "still failing" : "answered again"} after ${waited.toFixed(1)} s`,
  );
}

function median(xs) {
  const a = xs.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
  return a.length ? a[Math.floor(a.length / 2)] : 100;
}

/** Calls/s last seen per scenario and target, to size the next closed-loop run. */
const rates = new Map();

/**
 * Warm-up of about `secs` seconds: a short probe to gauge the rate, then a
 * run sized from it. Returns the calls/s of the second part.
 */
async function warmUp(sc, cfg, inst, wire, secs) {
  if (cfg.tool === "wrk") {
    const r = await loadRun(sc, cfg, inst, wire, { seconds: secs });
    return r.ok / r.seconds;
  }
  const conc = cfg.tool === "ghz" ? cfg.concurrency : cfg.clients * (cfg.streams ?? 1);
  const probe = await loadRun(sc, cfg, inst, wire, { seconds: 5, count: Math.max(20, conc * 2) });
  const rate = probe.ok / probe.seconds || 100;
  const r = await loadRun(sc, cfg, inst, wire, { seconds: secs, count: Math.max(conc, Math.round(rate * secs)) });
  return r.ok / r.seconds || rate;
}

/**
 * Runs the scenario's load tool once against a target; returns the tool's
 * result. With `count`, ghz and h2load send that many calls (see load.mjs for
 * why); `seconds` is then only what the run is expected to take.
 */
function loadRun(sc, cfg, inst, wire, { seconds: secs, count }) {
  if (cfg.tool === "ghz") {
    return ghz(paths, {
      repo,
      port: inst.port,
      call: `acme.echo.v1.EchoService.${wire.path.split("/").pop()}`,
      dataFile: wire.dataFile,
      seconds: secs,
      count,
      concurrency: cfg.concurrency,
      connections: cfg.connections ?? 1,
      rps: cfg.rps,
    });
  }
  if (cfg.tool === "h2load") {
    return h2load(paths, {
      url: `http://127.0.0.1:${inst.port}${wire.path}`,
      bodyFile: wire.bodyFile,
      headers: wire.headers,
      seconds: secs,
      count,
      clients: cfg.clients,
      streams: cfg.streams ?? 1,
      rps: cfg.rps,
      h1: cfg.h1,
      logFile: join(tmp, "h2load.log"),
    });
  }
  if (cfg.tool === "wrk")
    return wrk(paths, {
      url: `http://127.0.0.1:${inst.port}${wire.path}`,
      script: wire.wrkScript,
      seconds: secs,
      connections: cfg.connections,
    });
  throw new Error(`unknown tool ${cfg.tool}`);
}

/** One timed load run with CPU and memory read from /proc around it. */
async function measure(paths, sc, cfg, inst, wire) {
  const key = `${sc.id}|${inst.target}`;
  // Closed loop: as many calls as the last rate says fit in `seconds`; open loop: rate x seconds.
  const count = cfg.rps ? Math.round(cfg.rps * seconds) : Math.max(20, Math.round((rates.get(key) ?? 100) * seconds));
  const proxyPids = inst.proxy ? processTree(inst.proxy.pid) : [];
  const upPids = processTree(inst.server.pid);
  resetPeakRss(proxyPids);
  const before = {
    proxy: cpuTicks(proxyPids),
    up: cpuTicks(upPids),
    tool: reapedChildrenTicks(),
    self: selfTicks(),
    machine: machineTicks(),
    at: performance.now(),
  };
  const res = await loadRun(sc, cfg, inst, wire, { seconds, count });
  if (!cfg.rps && res.ok) rates.set(key, res.ok / res.seconds);
  const after = {
    proxy: cpuTicks(proxyPids),
    up: cpuTicks(upPids),
    tool: reapedChildrenTicks(),
    self: selfTicks(),
    machine: machineTicks(),
    at: performance.now(),
  };
  const d = (k) => after[k] - before[k];
  const units = res.ok * (sc.msgsPerCall ?? 1);
  const per10k = (ticks) => (units ? (ticks / CLK_TCK / units) * 10_000 : undefined);
  const wallS = (after.at - before.at) / 1000;
  const others = after.machine.busy - before.machine.busy - d("proxy") - d("up") - d("tool") - d("self");
  return {
    tool: cfg.tool,
    ok: res.ok,
    errors: res.errors,
    errorKinds: res.errors ? res.errorKinds : undefined,
    seconds: res.seconds,
    perSec: (res.ok * (sc.msgsPerCall ?? 1)) / res.seconds,
    callsPerSec: res.ok / res.seconds,
    mbps: res.bytes ? res.bytes / res.seconds / 1e6 : undefined,
    p50ms: res.p50ms,
    p99ms: res.p99ms,
    proxyCpuS: d("proxy") / CLK_TCK,
    upCpuS: d("up") / CLK_TCK,
    toolCpuS: d("tool") / CLK_TCK,
    proxyCpuPer10k: inst.proxy ? per10k(d("proxy")) : undefined,
    upCpuPer10k: per10k(d("up")),
    toolCpuPer10k: per10k(d("tool")),
    peakRssMB: inst.proxy ? peakRssKb(proxyPids) / 1024 : undefined,
    othersCores: Math.max(0, others / CLK_TCK / wallS),
  };
}

/**
 * A fresh process of the target (for direct: a fresh upstream) makes one
 * call, then its RSS is read before and while a client holds
 * `sc.connections` idle HTTP/2 connections to it, each after one call.
 */
async function measureIdle(sc, target, runNo, wire, targets, ctx) {
  const fresh = {
    ...ctx,
    suffix: `-idle${runNo}`,
    maxInFlight: sc.streamsPerConnection ? 2 * sc.connections * sc.streamsPerConnection : undefined,
  };
  const server =
    target === "direct" ? await startUpstream(sc.upstream, fresh) : targets.get(`direct@${sc.upstream}`).server;
  const inst = await startTarget(target, sc.upstream, server, fresh);
  const owned = inst.proxy ?? server;
  try {
    const problem = await verify(inst.port, wire);
    if (problem) throw new Error(`${sc.id}: ${target} answers ${sc.wire} wrongly: ${problem}`);
    const pids = processTree(owned.pid);
    await sleep(quick ? 500 : 1000);
    const before = rssKb(pids);
    const client = spawn(
      process.execPath,
      [
        join(here, "lib", "idle-client.mjs"),
        String(inst.port),
        String(sc.connections),
        wire.bodyFile,
        String(sc.streamsPerConnection ?? 0),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    client.stdout.on("data", (c) => (out += c));
    client.stderr.on("data", (c) => (err += c));
    const exited = new Promise((resolve) => client.once("exit", resolve));
    const ready = await Promise.race([
      (async () => {
        while (!out.includes("ready")) await sleep(50);
        return true;
      })(),
      exited.then(() => false),
      sleep(60_000, undefined, { ref: false }).then(() => false),
    ]);
    if (!ready) {
      client.kill("SIGKILL");
      throw new Error(`${sc.id}: idle client against ${inst.key} failed: ${err.trim() || "timed out"}`);
    }
    await sleep(quick ? 500 : 1000);
    const after = rssKb(pids);
    client.kill("SIGTERM");
    await exited;
    const units = sc.connections * (sc.streamsPerConnection ?? 1);
    return { rssBeforeMB: before / 1024, rssAfterMB: after / 1024, perConnKB: (after - before) / units };
  } finally {
    await owned.stop();
  }
}

function machineDescription(meta) {
  const m = meta.machine;
  const v = meta.versions;
  return [
    `- Machine: ${m.cores} cores, ${m.cpuModel}${m.cpuMHz ? ` (${Math.round(m.cpuMHz)} MHz)` : ""}, ${m.memoryGiB} GiB RAM, ${m.os}, Linux ${m.kernel}`,
    `- Switchyard under test: commit ${v.switchyard ?? "?"}`,
    `- Node ${v.node}${v.node24 ? ` (rows marked Node 24: ${v.node24})` : ""}, ${v.go}; ghz ${v.ghz}, ${v.h2load}, ${v.wrk}, nginx/${v.nginx.replace(/^nginx\//, "")}${v.haproxy ? `, HAProxy ${v.haproxy}` : ""}${v.caddy ? `, Caddy ${v.caddy}` : ""}, connect-go ${v["connect-go"]}, vanguard-go ${v["vanguard-go"]}`,
    `- Run: ${meta.quick ? "quick" : meta.fullRun ? "full" : "partial"}, ${meta.runs} run(s) x ${meta.seconds} s per measurement (+${meta.warmupSeconds} s warm-up per scenario and target), ${meta.durationSeconds} s in all; load average ${meta.loadAverage.start} at the start, ${meta.loadAverage.end} at the end`,
    `- Load tools, upstream and proxy share the same ${m.cores} cores. Numbers from a loaded machine are indicative: compare rows of one run, not runs of different days.`,
  ].join("\n");
}

/** RESULTS.md from this marker on is written by hand (the optimisation log) and survives every rewrite. */
const KEEP_MARKER = "<!-- Hand-written from here on: bench/run.mjs keeps it when it rewrites this file. -->";

function keptSection(file) {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return "";
  }
  const i = text.indexOf(KEEP_MARKER);
  return i < 0 ? "" : text.slice(i);
}

function resultsMd(meta, md, png, kept) {
  const rel = `results/${meta.stamp}`;
  return `# Switchyard benchmark results

Written by \`npm run bench\` (bench/run.mjs) after a full run; the raw numbers of
every run are in \`bench/results/<stamp>.json\`, with a Markdown copy of the tables.
How the harness works, and what each figure means: bench/README.md. Where the
issue's targets stand, and every optimisation with its before/after figures:
the hand-written sections at the end ("Targets", "Optimisation log").

> These numbers come from a shared ${meta.machine.cores}-core machine on which the load
> tools, the upstream and the proxy under test all run, and on which other test
> suites may have been running too (the "other processes" line under each table
> says how much CPU they took). They are indicative: trust ratios between rows of
> the same run more than absolute calls/s.

## Machine

${machineDescription(meta)}

## Latest full run: ${meta.stamp}

${png ? `![throughput relative to direct, and proxy CPU per call](${rel}.png)\n\n` : ""}Files: \`${rel}.json\`, \`${rel}.md\`, \`${rel}.svg\`${png ? `, \`${rel}.png\`` : ""}.

${md}
${kept ? `\n${kept.trimEnd()}\n` : ""}`;
}

(opt.render ? render(opt.render) : main()).catch(async (err) => {
  console.error(`\nbench failed: ${err.stack ?? err}`);
  console.error(`process logs kept in ${relative(repo, tmp)}`);
  await stopAll();
  process.exit(1);
});
