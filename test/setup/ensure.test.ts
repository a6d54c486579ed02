// test/setup/ensure.mjs against a PATH that lacks tools: one line per missing
// tool saying what to run, a failed run under CI=true, and apt-get (a fake one
// here, which "installs" by creating the tool) run as root.
import { spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];

function which(tool: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return join(dir, tool);
    } catch {
      // not here
    }
  }
  throw new Error(`${tool} is not on PATH`);
}

/** A PATH directory holding only `tools` (linked from the real PATH) and, if asked, a fake apt-get. */
function binDir(tools: string[], fakeApt: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), "setup-path-"));
  dirs.push(dir);
  for (const tool of tools) symlinkSync(which(tool), join(dir, tool));
  if (fakeApt) {
    // Logs its arguments; `install` creates the package's tool (etcd-server's is etcd).
    const script = [
      "#!/bin/sh",
      `echo "$*" >> ${dir}/apt.log`,
      '[ "$1" = install ] || exit 0',
      'case "$4" in etcd-server) tool=etcd ;; iproute2) tool=ip ;; prometheus) tool=promtool ;; *) tool="$4" ;; esac',
      `printf '#!/bin/sh\\n' > "${dir}/$tool" && /bin/chmod +x "${dir}/$tool"`,
      "",
    ].join("\n");
    writeFileSync(join(dir, "apt-get"), script);
    chmodSync(join(dir, "apt-get"), 0o755);
  }
  return dir;
}

function ensure(path: string, env: Record<string, string>) {
  const r = spawnSync(process.execPath, ["test/setup/ensure.mjs"], {
    cwd: root,
    env: { HOME: process.env.HOME ?? "/", PATH: path, CI: "", ...env },
    encoding: "utf8",
  });
  return { status: r.status, lines: r.stdout.trimEnd().split("\n"), stderr: r.stderr };
}

/** The per-tool lines about `name`: "<name> ok", "MISSING <name>", "installing <name>". */
const linesFor = (lines: string[], name: string) =>
  lines.filter((l) => ["", "MISSING ", "installing "].some((p) => l.startsWith(`== setup: ${p}${name} `)));

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("test/setup/ensure.mjs", () => {
  it("fails under CI=true, with one line per missing tool saying what to run", () => {
    const dir = binDir(["bash", "dirname", "openssl"], true);
    const { status, lines } = ensure(dir, { CI: "true", SWITCHYARD_SETUP: "check" });
    expect(status).toBe(1);
    expect(lines).toContain(`== setup: openssl ok (${dir}/openssl)`);
    const sudo = isRoot ? "" : "sudo ";
    for (const [name, why, pkg] of [
      ["chromium", "browser tests", "chromium"],
      ["etcd", "etcd tests", "etcd-server"],
      ["redis-server", "Redis tests", "redis-server"],
    ]) {
      expect(linesFor(lines, name)).toEqual([
        `== setup: MISSING ${name} (${why}): run \`${sudo}apt-get install -y ${pkg}\``,
      ]);
    }
    expect(lines.some((l) => l.includes("installing"))).toBe(false);
    expect(lines.at(-1)).toMatch(/^== setup: FAILED: chromium, etcd, redis-server.* missing under CI=true/);
  });

  it("outside CI, warns and carries on; without apt-get it names the Debian package", () => {
    const { status, lines } = ensure(binDir(["bash", "dirname", "openssl"], false), {});
    expect(status).toBe(0);
    expect(linesFor(lines, "etcd")).toEqual([
      "== setup: MISSING etcd (etcd tests): install the Debian package etcd-server, or your system's equivalent",
    ]);
    expect(lines.at(-1)).toMatch(/^== setup: WARNING: carrying on without chromium, etcd, redis-server/);
  });

  it(
    isRoot ? "as root, installs the missing packages with apt-get (update once)" : "not root, says to use sudo",
    () => {
      const dir = binDir(["bash", "dirname", "openssl"], true);
      const { status, lines } = ensure(dir, { CI: "true" });
      if (!isRoot) {
        expect(status).toBe(1);
        expect(linesFor(lines, "chromium")).toEqual([
          "== setup: MISSING chromium (browser tests): run `sudo apt-get install -y chromium`",
        ]);
        return;
      }
      expect(linesFor(lines, "chromium")).toEqual([
        "== setup: installing chromium (browser tests) ...",
        `== setup: chromium ok (${dir}/chromium)`,
      ]);
      expect(lines).toContain(`== setup: etcd ok (${dir}/etcd)`);
      expect(lines).toContain(`== setup: redis-server ok (${dir}/redis-server)`);
      expect(lines).toContain(`== setup: ip ok (${dir}/ip)`);
      expect(lines).toContain(`== setup: promtool ok (${dir}/promtool)`);
      expect(readFileSync(join(dir, "apt.log"), "utf8").trimEnd().split("\n")).toEqual([
        "update -qq",
        "install -y -qq chromium",
        "install -y -qq etcd-server",
        "install -y -qq redis-server",
        "install -y -qq iproute2",
        "install -y -qq prometheus",
      ]);
    },
  );
});
