// Turns raw measurements into medians, Markdown tables, an SVG/PNG chart and RESULTS.md.
import { NODE24, targetLabel } from "./scenarios.mjs";

export function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return undefined;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** (max - min) / median, in percent; undefined with fewer than 2 values. */
export function spread(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x));
  const m = median(v);
  if (v.length < 2 || !m) return undefined;
  return (100 * (Math.max(...v) - Math.min(...v))) / m;
}

const stat = (runs, f) => {
  const xs = runs.map(f);
  return { median: median(xs), spread: spread(xs), n: xs.filter((x) => x !== undefined).length };
};

/** Medians per scenario and target. `versions` (the run's meta.versions) names the Node of Node rows. */
export function aggregate(records, scenarios, versions) {
  const out = [];
  for (const sc of scenarios) {
    const rows = [];
    const recs = records.filter((r) => r.scenario === sc.id);
    if (!recs.length) continue;
    for (const target of sc.targets) {
      const mine = recs.filter((r) => r.target === target);
      if (!mine.length) continue;
      if (sc.kind === "idle") {
        rows.push({
          target,
          label: targetLabel(target, versions),
          rssBeforeMB: stat(mine, (r) => r.rssBeforeMB),
          rssAfterMB: stat(mine, (r) => r.rssAfterMB),
          perConnKB: stat(mine, (r) => r.perConnKB),
        });
        continue;
      }
      const closed = mine.filter((r) => r.mode === "closed");
      const open = mine.filter((r) => r.mode === "open");
      rows.push({
        target,
        label: targetLabel(target, versions),
        perSec: stat(closed, (r) => r.perSec),
        mbps: stat(closed, (r) => r.mbps),
        cpuPer10k: stat(closed, (r) => r.proxyCpuPer10k),
        // At the fixed rate every target gets the same offered load, so the
        // same chances to batch work per event-loop turn: the fairer
        // per-call comparison. At peak, a faster target batches more.
        fixedCpuPer10k: stat(open, (r) => r.proxyCpuPer10k),
        upCpuPer10k: stat(closed, (r) => r.upCpuPer10k),
        toolCpuPer10k: stat(closed, (r) => r.toolCpuPer10k),
        peakRssMB: stat(closed, (r) => r.peakRssMB),
        p50: stat(open, (r) => r.p50ms),
        p99: stat(open, (r) => r.p99ms),
        closedP50: stat(closed, (r) => r.p50ms),
        closedP99: stat(closed, (r) => r.p99ms),
        errors: mine.reduce((s, r) => s + (r.errors ?? 0), 0),
        errorKinds: Object.assign({}, ...mine.map((r) => r.errorKinds ?? {})),
      });
    }
    out.push({
      id: sc.id,
      title: sc.title,
      kind: sc.kind ?? "load",
      unit: sc.unit ?? "calls",
      // Older result files have a fixed rps and no peakShare; recent ones record the chosen rate.
      rate: sc.open?.rps ?? recs.find((r) => r.mode === "open")?.rps,
      rateShare: sc.open?.peakShare,
      idleUnit: sc.streamsPerConnection ? "stream" : "connection",
      ratioBase: sc.ratioBase,
      othersCores: median(recs.map((r) => r.othersCores)),
      rows,
    });
  }
  // Ratios and added latency against direct (of this scenario, or of ratioBase's).
  for (const s of out) {
    const base = (s.ratioBase ? out.find((x) => x.id === s.ratioBase) : s)?.rows.find((r) => r.target === "direct");
    for (const r of s.rows) {
      if (s.kind === "idle" || !base) continue;
      r.ratio = r.perSec.median && base.perSec.median ? r.perSec.median / base.perSec.median : undefined;
      r.addP50 =
        r.p50.median !== undefined && base.p50.median !== undefined ? r.p50.median - base.p50.median : undefined;
      r.addP99 =
        r.p99.median !== undefined && base.p99.median !== undefined ? r.p99.median - base.p99.median : undefined;
    }
  }
  return out;
}

// ---- formatting

const k = (x) =>
  x === undefined
    ? "—"
    : x >= 10_000
      ? `${(x / 1000).toFixed(1)}k`
      : x >= 1000
        ? `${(x / 1000).toFixed(2)}k`
        : x.toFixed(0);
const f = (x, d = 2) => (x === undefined ? "—" : x.toFixed(d));
const sp = (s) => (s.spread === undefined ? "" : ` ±${(s.spread / 2).toFixed(0)}%`);
const signed = (x, d = 2) => (x === undefined ? "—" : `${x >= 0 ? "+" : ""}${x.toFixed(d)}`);

/** One-line summary of a scenario for the progress output. */
export function progressLine(s) {
  if (s.kind === "idle")
    return s.rows
      .map((r) => `${r.target} ${f(r.perConnKB.median, 1)} KiB/${s.idleUnit === "stream" ? "stream" : "conn"}`)
      .join(" | ");
  return s.rows
    .map((r) => {
      const parts = [`${k(r.perSec.median)}/s`];
      if (r.target !== "direct" && r.ratio !== undefined) parts.push(`${f(r.ratio)}x`);
      if (r.target !== "direct" && r.cpuPer10k.median !== undefined) parts.push(`${f(r.cpuPer10k.median)} cpu-s/10k`);
      if (r.p99.median !== undefined) parts.push(`p99 ${f(r.p99.median)} ms`);
      if (r.errors) parts.push(`${r.errors} ERRORS`);
      return `${r.target} ${parts.join(" ")}`;
    })
    .join(" | ");
}

/** Markdown: an overview (ratio to direct), then one table per scenario. */
export function markdown(summary, meta) {
  const lines = [];
  const loadScenarios = summary.filter((s) => s.kind !== "idle");
  const targets = [...new Set(loadScenarios.flatMap((s) => s.rows.map((r) => r.target)))].filter((t) => t !== "direct");
  lines.push(
    `Medians of ${meta.runs} run(s) of ${meta.seconds} s each; ±x% is half the min-max spread. Throughput relative to direct:`,
    "",
  );
  lines.push(`| scenario | ${targets.map((t) => targetLabel(t, meta.versions)).join(" | ")} |`);
  lines.push(`|---|${targets.map(() => "---:").join("|")}|`);
  for (const s of loadScenarios) {
    const cells = targets.map((t) => {
      const r = s.rows.find((x) => x.target === t);
      return r?.ratio === undefined ? "" : `${f(r.ratio)}x`;
    });
    lines.push(`| ${s.id} | ${cells.join(" | ")} |`);
  }
  lines.push("", ...runtimeMarkdown(loadScenarios, meta));
  for (const s of summary) {
    lines.push(`### ${s.id}: ${s.title}`, "");
    if (s.kind === "idle") {
      const unit = s.idleUnit ?? "connection";
      lines.push(
        `| target | RSS before (MB) | RSS with the ${unit}s open (MB) | KiB per ${unit} |`,
        "|---|---:|---:|---:|",
      );
      for (const r of s.rows)
        lines.push(
          `| ${r.label} | ${f(r.rssBeforeMB.median, 1)} | ${f(r.rssAfterMB.median, 1)} | ${f(r.perConnKB.median, 1)}${sp(r.perConnKB)} |`,
        );
      lines.push(
        "",
        unit === "stream"
          ? "RSS of the server process(es) only (for direct: the Go upstream). Each stream is a bidi call that has sent one message and had it echoed, then stays open; the per-stream figure includes the connections' share (100 streams each)."
          : "RSS of the server process(es) only (for direct: the Go upstream). Each connection made one call, then stayed idle.",
        "",
      );
      continue;
    }
    const u = s.unit === "msgs" ? "msgs" : "calls";
    const rate = s.rate
      ? `p50 / p99 ms at ${s.rate}/s${s.rateShare ? ` (${s.rateShare * 100}% of Switchyard's peak)` : ""}`
      : "p50 / p99 ms (closed loop)";
    lines.push(
      `| target | ${u}/s | x direct | ${rate} | added p50 / p99 ms | proxy CPU s per 10k ${u}: at peak / at the fixed rate | upstream CPU s per 10k | proxy peak RSS MB | errors |`,
    );
    lines.push("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of s.rows) {
      const p = s.rate ? [r.p50, r.p99] : [r.closedP50, r.closedP99];
      const thr = `${k(r.perSec.median)}${sp(r.perSec)}${s.unit === "msgs" && r.mbps.median ? ` (${f(r.mbps.median, 0)} MB/s)` : ""}`;
      const direct = r.target === "direct";
      lines.push(
        `| ${r.label} | ${thr} | ${direct && !s.ratioBase ? "1.00x" : r.ratio === undefined ? "—" : `${f(r.ratio)}x`} | ${f(p[0].median)} / ${f(p[1].median)}${sp(p[1])} | ${direct || !s.rate ? "—" : `${signed(r.addP50)} / ${signed(r.addP99)}`} | ${direct ? "—" : `${f(r.cpuPer10k.median)}${sp(r.cpuPer10k)} / ${r.fixedCpuPer10k?.n ? `${f(r.fixedCpuPer10k.median)}${sp(r.fixedCpuPer10k)}` : "—"}`} | ${f(r.upCpuPer10k.median)} | ${direct ? "—" : f(r.peakRssMB.median, 0)} | ${r.errors || 0} |`,
      );
    }
    const errs = s.rows.filter((r) => r.errors).map((r) => `${r.label}: ${JSON.stringify(r.errorKinds)}`);
    if (errs.length) lines.push("", `Errors: ${errs.join("; ")}`);
    for (const inc of (meta.incidents ?? []).filter((x) => x.scenario === s.id)) {
      lines.push(
        "",
        `Incident: before a timed run, ${targetLabel(inc.target, meta.versions)} failed a check call (${inc.problem}); ${inc.recovered ? "it answered again" : "it still failed"} after ${inc.waitedSeconds.toFixed(1)} s of waiting (not measured).`,
      );
    }
    if (s.othersCores !== undefined)
      lines.push(
        "",
        `Other processes on the machine used ${f(s.othersCores, 2)} cores (median) during this scenario's measurements.`,
      );
    lines.push("");
  }
  if (meta.profile) lines.push(profileMarkdown(meta.profile));
  if (meta.profiles && Object.keys(meta.profiles).length > 1) lines.push(piecesMarkdown(meta.profiles, meta.versions));
  return lines.join("\n");
}

/**
 * The gateway on each Node beside the node:http2 floor on the same Node and
 * the deployed peers of the same run: the figures the issue's targets are
 * written in. Empty unless the run has Node 24 rows.
 */
function runtimeMarkdown(loadScenarios, meta) {
  if (!loadScenarios.some((s) => s.rows.some((r) => r.target.endsWith(NODE24)))) return [];
  const v = meta.versions ?? {};
  const lines = [
    `Each Node row on ${v.node ?? "the harness's Node"} and on ${v.node24 ?? "Node 24"}: the gateway's calls/s against nginx's and vanguard-go's, and its proxy CPU per call against the node:http2 pipe's on the same Node (at peak / at the fixed rate):`,
    "",
    "| scenario | Node | switchyard calls/s | x nginx | x vanguard-go | CPU s/10k | node-pipe CPU s/10k | x node-pipe CPU | node-pipe x nginx |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const cpu = (r) => `${f(r?.cpuPer10k.median)} / ${r?.fixedCpuPer10k?.n ? f(r.fixedCpuPer10k.median) : "—"}`;
  const over = (a, b) => (a !== undefined && b ? `${f(a / b)}x` : "—");
  for (const s of loadScenarios) {
    const row = (t) => s.rows.find((r) => r.target === t);
    for (const suffix of ["", NODE24]) {
      const gw = row(`switchyard${suffix}`) ?? row(`switchyard-on${suffix}`);
      if (!gw) continue;
      const pipe = row(`node-pipe${suffix}`);
      const nginx = row("nginx")?.perSec.median;
      lines.push(
        `| ${s.id} | ${suffix ? (major(v.node24) ?? 24) : (major(v.node) ?? "")} | ${k(gw.perSec.median)} | ${over(gw.perSec.median, nginx)} | ${over(gw.perSec.median, row("vanguard")?.perSec.median)} | ${cpu(gw)} | ${pipe ? cpu(pipe) : "—"} | ${over(gw.cpuPer10k.median, pipe?.cpuPer10k.median)} / ${over(gw.fixedCpuPer10k?.median, pipe?.fixedCpuPer10k?.median)} | ${over(pipe?.perSec.median, nginx)} |`,
      );
    }
  }
  lines.push("");
  return lines;
}
const major = (ver) => /^v?(\d+)/.exec(ver ?? "")?.[1];

export function profileMarkdown(p) {
  const lines = [
    `### Gateway CPU profile (--cpu-prof, ${f(p.seconds, 1)} s under ghz gRPC unary small, ${k(p.callsPerSec)} calls/s; busy ${f(p.busyPct, 0)}% of samples${p.windowed ? "; start-up and warm-up left out" : "; whole process life, start-up included"})`,
    "",
    "Top 15 functions by self time (% of non-idle samples):",
    "",
    "| # | function | where | self ms | % |",
    "|---:|---|---|---:|---:|",
    ...p.functions.map(
      (x, i) => `| ${i + 1} | \`${x.function}\` | ${x.where || "(native)"} | ${x.selfMs} | ${f(x.pctBusy, 1)} |`,
    ),
    "",
    "By origin (% of non-idle samples):",
    "",
    "| origin | % |",
    "|---|---:|",
    ...p.origins.map((o) => `| ${o.origin} | ${f(o.pctBusy, 1)} |`),
    "",
  ];
  return lines.join("\n");
}

/**
 * Where each profiled process's CPU per call goes, piece by piece (self
 * time, µs per call under the profiler): the gateway beside the node:http2
 * pipe on the same Node, so what the gateway adds is read row by row.
 */
export function piecesMarkdown(profiles, versions = {}) {
  const cols = ["switchyard", "node-pipe", "switchyard-node24", "node-pipe-node24"].filter((c) => profiles[c]);
  const names = [];
  for (const c of cols) for (const x of profiles[c].pieces) if (!names.includes(x.piece)) names.push(x.piece);
  const us = (c, name) => profiles[c].pieces.find((x) => x.piece === name)?.usPerCall;
  const head = (c) =>
    `${c.startsWith("switchyard") ? "switchyard" : "node-pipe"}, Node ${major(c.endsWith("node24") ? versions.node24 : versions.node) ?? (c.endsWith("node24") ? 24 : "")}`;
  const lines = [
    "### Where a call's CPU goes: the gateway's pieces beside the node:http2 pipe's",
    "",
    `Self time in µs per call, from the same --cpu-prof runs under ghz (gRPC unary, small; ${cols
      .map((c) => `${head(c)} ${k(profiles[c].callsPerSec)} calls/s`)
      .join(", ")}). The profiler adds about a fifth to every figure; a room's calls into Node count as Node's.`,
    "",
    `| piece | ${cols.map(head).join(" | ")} |`,
    `|---|${cols.map(() => "---:").join("|")}|`,
  ];
  for (const name of names)
    lines.push(`| ${name} | ${cols.map((c) => (us(c, name) === undefined ? "—" : f(us(c, name), 1))).join(" | ")} |`);
  const sum = (c) => profiles[c].pieces.reduce((n, x) => n + (x.usPerCall ?? 0), 0);
  lines.push(`| **all busy time** | ${cols.map((c) => `**${f(sum(c), 1)}**`).join(" | ")} |`, "");
  return lines.join("\n");
}

// ---- chart

// A Node 24 row has a lighter shade of its Node 20 twin's colour.
const COLORS = {
  switchyard: "#d9480f",
  "switchyard-node24": "#ff922b",
  "switchyard-on": "#c2255c",
  "switchyard-on-node24": "#f06595",
  "switchyard-off": "#fab005",
  "switchyard-off-node24": "#ffd43b",
  "switchyard-nolimit": "#e64980",
  "switchyard-ratelimit": "#f08c00",
  "switchyard-w2": "#e8590c",
  "switchyard-wauto": "#f76707",
  "node-pipe": "#1c7ed6",
  "node-pipe-node24": "#74c0fc",
  nginx: "#2b8a3e",
  haproxy: "#0b7285",
  caddy: "#5c940d",
  vanguard: "#7048e8",
};
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Two panels: throughput relative to direct, and proxy CPU per call. */
export function svgChart(summary, meta) {
  const groups = summary
    .filter((s) => s.kind !== "idle")
    .map((s) => ({ id: s.id, rows: s.rows.filter((r) => r.target !== "direct" && r.ratio !== undefined) }))
    .filter((g) => g.rows.length);
  const bar = 14;
  const gap = 12;
  const top = 70;
  const left = 150;
  const panelW = 330;
  const panel2 = left + panelW + 150;
  let y = top;
  const parts = [];
  const maxRatio = Math.max(1, ...groups.flatMap((g) => g.rows.map((r) => r.ratio)));
  const maxCpu = Math.max(0.001, ...groups.flatMap((g) => g.rows.map((r) => (r.cpuPer10k.median ?? 0) / 10)));
  for (const g of groups) {
    const h = g.rows.length * bar;
    parts.push(`<text x="${left - 8}" y="${y + h / 2 + 4}" text-anchor="end" font-size="12">${esc(g.id)}</text>`);
    g.rows.forEach((r, i) => {
      const c = COLORS[r.target] ?? "#888";
      const by = y + i * bar;
      const w1 = (r.ratio / maxRatio) * panelW;
      parts.push(`<rect x="${left}" y="${by + 1}" width="${w1.toFixed(1)}" height="${bar - 2}" fill="${c}"/>`);
      parts.push(`<text x="${left + w1 + 4}" y="${by + bar - 3}" font-size="10">${f(r.ratio)}x</text>`);
      const cpu = (r.cpuPer10k.median ?? 0) / 10; // ms per call
      const w2 = (cpu / maxCpu) * panelW;
      parts.push(`<rect x="${panel2}" y="${by + 1}" width="${w2.toFixed(1)}" height="${bar - 2}" fill="${c}"/>`);
      parts.push(`<text x="${panel2 + w2 + 4}" y="${by + bar - 3}" font-size="10">${f(cpu, 3)}</text>`);
    });
    y += h + gap;
  }
  const width = panel2 + panelW + 80;
  // Legend rows under the bars, wrapped to the chart's width.
  const legendItems = Object.entries(COLORS).filter(([t]) => groups.some((g) => g.rows.some((r) => r.target === t)));
  const legend = [];
  let lx = left;
  let ly = y + 8;
  for (const [t, c] of legendItems) {
    const w = 40 + targetLabel(t, meta.versions).length * 7.5;
    if (lx + w > width - 10) {
      lx = left;
      ly += 20;
    }
    legend.push(
      `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${c}"/><text x="${lx + 16}" y="${ly + 10}" font-size="12">${esc(targetLabel(t, meta.versions))}</text>`,
    );
    lx += w;
  }
  const height = ly + 24;
  const oneX = left + panelW / maxRatio;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="20" font-size="15" font-weight="bold">Switchyard benchmark ${esc(meta.stamp)}: ${esc(meta.machineLine)}</text>
<text x="${left}" y="${top - 12}" font-size="13">throughput relative to direct (x, higher is better)</text>
<text x="${panel2}" y="${top - 12}" font-size="13">proxy CPU ms per call or message (lower is better)</text>
<line x1="${oneX}" y1="${top - 4}" x2="${oneX}" y2="${y - gap}" stroke="#999" stroke-dasharray="3,3"/>
${parts.join("\n")}
${legend.join("\n")}
</svg>
`;
}
