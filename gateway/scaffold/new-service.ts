import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { NameError, parseServiceName } from "./service-name.js";
import { instructions, protoText, serviceText, testText } from "./templates.js";

export const NEW_SERVICE_USAGE = `usage: switchyard new-service <package.Service> [--port N] [--root DIR]

  Writes proto/<package path>/<name>.proto (a read marked NO_SIDE_EFFECTS and a
  write), runs buf generate, writes services/<name>/ (an implementation the demo
  replica hosts with health and server reflection, and a test that calls it
  through a gateway over gRPC and Connect JSON), and prints the gateway config.

  <package.Service>  e.g. acme.billing.v1.BillingService
  --port N           the replica's port in the printed config (default 50061)
  --root DIR         the Switchyard checkout to write into (default: the current folder)

Existing files are never overwritten.`;

/** Something that stops the scaffold other than a bad name: not a checkout, a file in the way, buf failing. */
export class ScaffoldError extends Error {
  override name = "ScaffoldError";
}

export interface NewServiceOptions {
  /** The checkout's root. */
  root: string;
  /** The replica's port in the printed snippet. */
  port: number;
}

/**
 * Writes a new service into a checkout and returns what to tell the user.
 * Checks everything before writing anything; if buf generate fails, the
 * .proto it wrote is removed again, so a failed run leaves nothing behind.
 */
export function newService(fullName: string, opts: NewServiceOptions): string {
  const n = parseServiceName(fullName);
  const root = resolve(opts.root);
  for (const needed of ["buf.gen.yaml", "proto", "services/hosted.ts"]) {
    if (!existsSync(join(root, needed))) {
      throw new ScaffoldError(
        `${root} is not a Switchyard checkout (no ${needed}); run this at its root or give --root`,
      );
    }
  }
  const serviceDir = `services/${n.short}`;
  for (const taken of [n.protoPath, serviceDir]) {
    if (existsSync(join(root, taken))) {
      throw new ScaffoldError(
        `${taken} already exists and is never overwritten: choose another name, or remove it first`,
      );
    }
  }
  const buf = join(root, "node_modules", ".bin", "buf");
  if (!existsSync(buf)) throw new ScaffoldError(`${buf} is missing: run npm install first`);

  const protoFile = join(root, n.protoPath);
  const madeDirs = makeDirs(dirname(protoFile));
  writeFileSync(protoFile, protoText(n), { flag: "wx" });
  // buf.gen.yaml names the local protoc-gen-es, which npm puts beside buf.
  const env = { ...process.env, PATH: `${join(root, "node_modules", ".bin")}${delimiter}${process.env.PATH ?? ""}` };
  const generated = spawnSync(buf, ["generate"], { cwd: root, env, encoding: "utf8", timeout: 120_000 });
  if (generated.status !== 0) {
    rmSync(protoFile, { force: true });
    for (const d of madeDirs.reverse()) rmdirSync(d);
    const why = (generated.stderr || generated.stdout || generated.error?.message || "").trim();
    throw new ScaffoldError(`buf generate failed, so nothing was written:\n${why}`);
  }

  mkdirSync(join(root, serviceDir));
  const files: Array<[string, string]> = [
    [`${serviceDir}/service.ts`, serviceText(n)],
    [`${serviceDir}/${n.short}.test.ts`, testText(n)],
  ];
  for (const [path, text] of files) writeFileSync(join(root, path), text, { flag: "wx" });
  return instructions(n, opts.port, [n.protoPath, ...files.map(([p]) => p)]);
}

/** Makes `dir` and its missing parents; returns the ones it made, outermost first. */
function makeDirs(dir: string): string[] {
  const made: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) made.unshift(d);
  mkdirSync(dir, { recursive: true });
  return made;
}

/** `switchyard new-service ...`: prints what it did, or why not. Returns the exit code. */
export function runNewService(argv: readonly string[]): number {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { port: { type: "string" }, root: { type: "string" }, help: { type: "boolean", short: "h" } },
    }));
  } catch (err) {
    console.error(`switchyard new-service: ${(err as Error).message}\n\n${NEW_SERVICE_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(NEW_SERVICE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(`switchyard new-service: give one service name\n\n${NEW_SERVICE_USAGE}`);
    return 2;
  }
  const port = values.port === undefined ? 50061 : Number(values.port);
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    console.error(`switchyard new-service: --port: "${values.port}" is not a port number 1-65535`);
    return 2;
  }
  try {
    console.log(newService(positionals[0], { root: values.root ?? process.cwd(), port }));
    return 0;
  } catch (err) {
    if (err instanceof NameError) {
      console.error(`switchyard new-service: ${err.message}`);
      return 2;
    }
    if (err instanceof ScaffoldError) {
      console.error(`switchyard new-service: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
