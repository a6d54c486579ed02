#!/usr/bin/env node
// The layer rule of docs/DESIGN.md ("Layers"), checked: a module under
// gateway/ imports only from its own room or from rooms below it. madge
// (npm run lint) finds circles; this finds imports that point upward.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Bottom to top. Top-level files (server.ts, cli.ts, demo.ts, runtime.ts) sit above every room. */
export const LAYERS = [
  "call",
  "config",
  "listener",
  "transport",
  "protocol",
  "transcode",
  "cluster",
  "discovery",
  "observe",
  "descriptors",
  "policy",
  "route",
  "guard",
  "local",
  "snapshot",
  "proxy",
  "admin",
  "scaffold",
  "workers",
];
const TOP = LAYERS.length;

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const gateway = join(root, "gateway");

function rank(file) {
  const rel = relative(gateway, file);
  if (rel.startsWith("..")) return -1; // outside gateway/: generated code, services
  const room = rel.split("/")[0];
  if (!rel.includes("/")) return TOP;
  const i = LAYERS.indexOf(room);
  if (i < 0)
    throw new Error(
      `gateway/${room}/ is not in bin/check-layers.mjs LAYERS: add it where it belongs in docs/DESIGN.md's order`,
    );
  return i;
}

const problems = [];
const files = readdirSync(gateway, { recursive: true, encoding: "utf8" }).filter(
  (f) => f.endsWith(".ts") && !f.endsWith(".spec.ts") && !f.endsWith(".d.ts"),
);
for (const f of files) {
  const abs = join(gateway, f);
  const src = readFileSync(abs, "utf8");
  for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/g)) {
    const target = resolve(dirname(abs), m[1]);
    const from = rank(abs);
    const to = rank(target);
    if (to > from)
      problems.push(
        `gateway/${f} imports ${relative(root, target)}: ${nameOf(to)} is above ${nameOf(from)} (docs/DESIGN.md, "Layers")`,
      );
  }
}
function nameOf(r) {
  return r === TOP ? "the entry points" : r < 0 ? "outside gateway/" : `${LAYERS[r]}/`;
}
if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`\n${problems.length} upward import(s): move the code down, or pass the value in from above.`);
  process.exit(1);
}
console.log(`layers: ${files.length} modules under gateway/, every import points down or sideways`);
