#!/usr/bin/env node
// The first step of `npm test`: makes sure every tool in requirements.mjs is
// there. As root with apt-get it installs missing Debian packages; it builds
// missing .cache/ tools when their build tool is on PATH. What it cannot
// provide gets one line saying what to run. Under CI=true anything missing
// fails the run here: a test that needs a missing tool must never look
// skipped. Elsewhere it warns and carries on.
//
// SWITCHYARD_SETUP=check: only check and report, install and build nothing.
import { spawnSync } from "node:child_process";
import { aptInstall } from "./apt.mjs";
import { ROOT, onPath } from "./detect.mjs";
import { REQUIREMENTS } from "./requirements.mjs";

const log = (line) => console.log(`== setup: ${line}`);
const ci = process.env.CI === "true";
const checkOnly = process.env.SWITCHYARD_SETUP === "check";
const root = process.getuid?.() === 0;
const hasApt = onPath("apt-get") !== undefined;
const canApt = root && hasApt && !checkOnly;

/** Installs or builds `req`: true or false as that went, undefined when it cannot try. */
function provide(req) {
  if (req.apt) {
    if (!canApt) return undefined;
    log(`installing ${req.name} (${req.why}) ...`);
    const { ok, output } = aptInstall(req.apt);
    if (!ok)
      console.log(
        output
          .trimEnd()
          .split("\n")
          .slice(-20)
          .map((l) => `   ${l}`)
          .join("\n"),
      );
    return ok;
  }
  if (checkOnly || !onPath(req.needs.tool)) return undefined;
  log(`building ${req.name} (${req.why}) ...`);
  return spawnSync("bash", [req.build], { cwd: ROOT, stdio: "inherit" }).status === 0;
}

/** What the user should run to get `req`; `tried` when provide() tried and it is still missing. */
function hint(req, tried) {
  if (req.apt) {
    if (!hasApt) return `install the Debian package ${req.apt}, or your system's equivalent`;
    const cmd = `${root ? "" : "sudo "}apt-get install -y ${req.apt}`;
    return tried ? `\`${cmd}\` did not provide it (output above)` : `run \`${cmd}\``;
  }
  if (!onPath(req.needs.tool)) return `needs ${req.needs.tool} on PATH (${req.needs.hint}), then run ${req.build}`;
  return tried ? `${req.build} did not provide it (output above)` : `run ${req.build}`;
}

const missing = [];
for (const req of REQUIREMENTS) {
  let where = req.detect();
  let tried = false;
  if (!where) {
    const provided = provide(req);
    tried = provided !== undefined;
    if (provided) where = req.detect();
  }
  if (where) log(`${req.name} ok (${where})`);
  else {
    missing.push(req.name);
    log(`MISSING ${req.name} (${req.why}): ${hint(req, tried)}`);
  }
}

if (missing.length > 0) {
  if (ci) {
    log(`FAILED: ${missing.join(", ")} missing under CI=true; the tests that need them must not be skipped`);
    process.exit(1);
  }
  log(`WARNING: carrying on without ${missing.join(", ")}; the tests that need them will fail`);
}
