// Installs Debian packages with apt-get: `apt-get update` once per run, then
// one `apt-get install -y` per package so each gets its own progress line.
import { spawnSync } from "node:child_process";

const ENV = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
let updated = false;

function aptGet(args) {
  const r = spawnSync("apt-get", args, { env: ENV, encoding: "utf8", maxBuffer: 64 << 20 });
  return { ok: r.status === 0, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** { ok, output }: output is apt-get's, to show when it failed. */
export function aptInstall(pkg) {
  if (!updated) {
    const update = aptGet(["update", "-qq"]);
    if (!update.ok) return update;
    updated = true;
  }
  return aptGet(["install", "-y", "-qq", pkg]);
}
