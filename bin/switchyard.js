#!/usr/bin/env node
// Runs the TypeScript entry point through tsx, so `npx switchyard` needs no build step.
import { register } from "tsx/esm/api";
register();
await import("../gateway/cli.ts");
