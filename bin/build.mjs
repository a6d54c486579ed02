#!/usr/bin/env node
// Compiles the gateway, the demo services and the generated stubs to plain
// JavaScript in dist/ (one file per module, no bundling), which `npm start`,
// bin/switchyard.js and the benchmark run.
//
// Why not run the TypeScript through tsx, as tests do: tsx compiles with
// esbuild's keepNames, which wraps every closure the call path creates in
// __name() (an Object.defineProperty per closure per call); plain output ran
// small gRPC calls with about 10% less CPU (bench/RESULTS.md).
import { build } from "esbuild";
import { cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const t0 = performance.now();
const entryPoints = ["gateway", "services", "gen"]
  // readdirSync's recursive walk: fs.globSync needs Node 22.
  .flatMap((dir) => readdirSync(join(root, dir), { recursive: true, encoding: "utf8" }).map((f) => join(dir, f)))
  .filter((f) => f.endsWith(".ts"))
  .filter((f) => !f.endsWith(".spec.ts") && !f.endsWith(".d.ts"))
  .concat("bench/gateway-main.ts");
rmSync(join(root, "dist"), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints,
  outdir: "dist",
  outbase: ".",
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
});
// Read at run time relative to the module (gateway/config/schema.ts).
mkdirSync(join(root, "dist/schema"), { recursive: true });
cpSync(join(root, "schema/gateway.schema.json"), join(root, "dist/schema/gateway.schema.json"));
// The admin dashboard, one browser bundle (connect-web and the generated
// stubs included) beside its page; the admin listener serves both
// (gateway/admin/dashboard-assets.ts). platform "browser" fails the build on
// any Node import that slips into it.
await build({
  absWorkingDir: root,
  entryPoints: ["dashboard/main.ts"],
  outfile: "dist/dashboard/dashboard.js",
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  sourcemap: "linked",
  logLevel: "warning",
});
cpSync(join(root, "dashboard/index.html"), join(root, "dist/dashboard/index.html"));
console.log(
  `build: ${entryPoints.length} modules and the dashboard -> dist/ in ${Math.round(performance.now() - t0)} ms`,
);
