#!/usr/bin/env node
// Runs the compiled gateway from dist/ (npm install and npm run build make
// it; see bin/build.mjs for why compiled). Without a build, e.g. after
// `npm install --ignore-scripts`, it runs the TypeScript through tsx.
import { existsSync } from "node:fs";

const built = new URL("../dist/gateway/cli.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../gateway/cli.ts");
}
