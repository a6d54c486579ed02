#!/usr/bin/env node
// Issue 14, finding 4: the gateway's memory under a flood of connections and
// idle streams, and how much of it comes back once they are gone.
//
//   node bench/flood-memory.mjs [--connections 500] [--streams 100] [--hold 5] [--after 5,30,60]
//                               [--gateway dist/gateway/cli.js]
//
// Starts a demo replica (its own process) and the gateway (its own process,
// built dist/ by default, default limits), then opens N connections, each
// with M bidi streams that send one message and hold; after --hold seconds
// every client goes away. Prints the gateway's RSS (VmRSS from /proc) before,
// at the peak, and --after seconds after the clients left, and how the
// streams ended. --gateway points at another build (another checkout's
// dist/gateway/cli.js) to compare. Loopback only; no assertion on time: the
// numbers are for the README ("Limits and hostile clients").
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const { values: args } = parseArgs({
  options: {
    connections: { type: "string", default: "500" },
    streams: { type: "string", default: "100" },
    hold: { type: "string", default: "5" },
    after: { type: "string", default: "5,30,60" },
    gateway: { type: "string", default: join(ROOT, "dist/gateway/cli.js") },
  },
});
const N = Number(args.connections);
const M = Number(args.streams);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mb = (b) => (b / 1024 / 1024).toFixed(0);

function start(cmd, argv, ready) {
  const child = spawn(process.execPath, [...cmd, ...argv], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stderr.on("data", (d) => (out += d));
  return new Promise((resolve2, reject) => {
    child.stdout.on("data", (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) resolve2({ child, match: m });
    });
    child.once("exit", (code) => reject(new Error(`${argv.join(" ")} exited ${code}\n${out}`)));
  });
}

function rss(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) * 1024;
}

function envelope(data) {
  const b = Buffer.alloc(5 + data.length);
  b.writeUInt32BE(data.length, 1);
  data.copy(b, 5);
  return b;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "flood-"));
  const replica = await start(
    ["--import", "tsx", "services/cli.ts"],
    ["--port", "0", "--name", "r1"],
    /listening on ([\d.:]+)/,
  );
  const config = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    clusters: { echo: { protocol: "grpc", endpoints: [replica.match[1]], healthCheck: false } },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
  };
  writeFileSync(join(dir, "gw.yaml"), JSON.stringify(config));
  const gw = await start([resolve(args.gateway)], ["--config", join(dir, "gw.yaml")], /listening on port (\d+)/);
  const url = `http://127.0.0.1:${gw.match[1]}`;
  const pid = gw.child.pid;
  await sleep(1000);
  const before = rss(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);

  const ended = new Map();
  const count = (k) => ended.set(k, (ended.get(k) ?? 0) + 1);
  const sessions = [];
  let answered = 0;
  const msg = envelope(Buffer.from([0x0a, 0x05, ...Buffer.from("flood")]));
  for (let i = 0; i < N; i++) {
    const s = http2.connect(url);
    s.on("error", () => {});
    sessions.push(s);
    for (let j = 0; j < M; j++) {
      const req = s.request({
        ":method": "POST",
        ":path": "/acme.echo.v1.EchoService/Chat",
        "content-type": "application/grpc",
        te: "trailers",
      });
      req.on("error", () => {});
      let first = true;
      req.on("data", () => {
        if (first) answered++;
        first = false;
      });
      req.on("response", (h) => h["grpc-status"] !== undefined && count(`grpc-status ${h["grpc-status"]}`));
      req.on("trailers", (t) => count(`grpc-status ${t["grpc-status"]}`));
      req.write(msg);
    }
    if (i % 50 === 49) await sleep(50);
  }
  const t0 = Date.now();
  while (Date.now() - t0 < Number(args.hold) * 1000) await sleep(250);
  const held = rss(pid);
  console.log(
    `flood: ${N} connections x ${M} streams; answered ${answered}; ended early: ${[...ended].map(([k, n]) => `${k} x${n}`).join(", ") || "none"}`,
  );
  for (const s of sessions) s.destroy();
  const closedAt = Date.now();
  const after = [];
  for (const sec of args.after.split(",").map(Number)) {
    await sleep(Math.max(0, closedAt + sec * 1000 - Date.now()));
    after.push(`${sec}s: ${mb(rss(pid))}`);
  }
  clearInterval(sampler);
  console.log(
    `gateway RSS (MB): before ${mb(before)}, while held ${mb(held)}, peak ${mb(peak)}; after the clients left: ${after.join(", ")}`,
  );
  gw.child.kill("SIGTERM");
  replica.child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
