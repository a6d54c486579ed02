import { readdirSync, existsSync } from "node:fs";
import type { DescFile, DescService } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import type { Faults } from "./faults.js";
import type { EchoStats } from "./stats.js";

/** What the hosting replica gives each service it serves. */
export interface HostContext {
  /** The replica's name (--name), for answers that say who served them. */
  replica: string;
  /** The replica's injected faults (--latency, --error-rate, ...), read on every call; the echo service applies them. */
  faults: Faults;
  /** The replica's call counts, which tests and GET /stats read; the echo service keeps them. */
  stats: EchoStats;
}

/**
 * A service the demo replica can host: `services/<name>/service.ts` exports
 * one as its default (`npm run replica -- --service <name>`). The replica
 * serves it beside grpc.health.v1 and server reflection, which hands out
 * `file` with its imports.
 */
export interface HostedService<S extends DescService = DescService> {
  service: S;
  /** The generated file that declares `service` (gen/.../*_pb.ts: file_...). */
  file: DescFile;
  implement(ctx: HostContext): Partial<ServiceImpl<S>>;
}

/** Checks the shape of a hosted service at compile time: `export default defineService({ ... })`. */
export function defineService<S extends DescService>(hosted: HostedService<S>): HostedService {
  return hosted as unknown as HostedService;
}

const NAME = /^[a-z][a-z0-9_-]*$/;
const HERE = new URL("./", import.meta.url);

/** The services under services/ (folders with a service.ts, or service.js once built). */
export function hostedServiceNames(): string[] {
  return readdirSync(HERE, { withFileTypes: true })
    .filter((d) => d.isDirectory() && NAME.test(d.name))
    .filter((d) => ["service.ts", "service.js"].some((f) => existsSync(new URL(`${d.name}/${f}`, HERE))))
    .map((d) => d.name)
    .sort();
}

/** Loads services/<name>/service.ts; an unknown name gets an error that lists the known ones. */
export async function loadHostedService(name: string): Promise<HostedService> {
  const known = hostedServiceNames();
  if (!NAME.test(name) || !known.includes(name)) {
    throw new Error(`no service "${name}" under services/ (there: ${known.join(", ") || "none"})`);
  }
  const mod = (await import(`./${name}/service.js`)) as { default?: HostedService };
  const hosted = mod.default;
  if (!hosted || typeof hosted.implement !== "function" || !hosted.service || !hosted.file) {
    throw new Error(`services/${name}/service.ts must export default defineService({ service, file, implement })`);
  }
  return hosted;
}
