import { parseArgs } from "node:util";
import { parseCode } from "./codes.js";
import { parseDuration } from "./duration.js";
import type { Faults } from "./faults.js";
import { parseEtcdTarget, type EtcdTarget } from "./register-etcd.js";

export const USAGE = `usage: npm run replica -- [options]

  --port N            port to listen on (default 50051, 0 = any free port)
  --host ADDR         address to bind (default 127.0.0.1)
  --name NAME         replica name reported in every response (default r-PORT)
  --service NAME      serve services/NAME/service.ts (default echo); repeat it
                      to serve several. Health and server reflection come with them
  --latency DUR       delay every call, e.g. 200ms, 2s, 150 (ms)
  --tail-latency DUR  add this delay to a random --tail-rate fraction of calls
  --tail-rate P       fraction of calls, 0..1, that get --tail-latency
                      (default 0.01 when --tail-latency is given)
  --error-rate P      fail this fraction of calls, 0..1
  --error-code CODE   code for injected failures, e.g. unavailable, NOT_FOUND
                      (default unavailable)
  --hang              accept calls but never answer
  --register URL      register in etcd, e.g. etcd://127.0.0.1:2379/services/echo/:
                      puts PREFIX<host:port> = {"Addr":"host:port"} on a 5 s
                      lease kept alive; on SIGTERM deletes it, waits 1 s so
                      gateways stop sending, then drains
  --help              show this help`;

export interface ReplicaCliOptions {
  help: boolean;
  port: number;
  host: string;
  name: string;
  /** --service: folders under services/ to serve, in order. */
  services: string[];
  faults: Partial<Faults>;
  /** --register: where to register this replica's address. */
  register?: EtcdTarget;
}

/** A mistake in the command line; the CLI prints it with the usage and exits 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses the replica CLI's arguments (without node and the script path). */
export function parseReplicaArgs(argv: readonly string[]): ReplicaCliOptions {
  const { values } = parseOrExplain(argv);
  const port = values.port === undefined ? 50051 : parsePort(values.port);
  const faults: Partial<Faults> = {};

  if (values.latency !== undefined) {
    const ms = parseDuration(values.latency);
    if (ms === undefined) {
      throw new UsageError(`--latency: "${values.latency}" is not a duration like 250ms, 2s or 300`);
    }
    faults.latencyMs = ms;
  }
  if (values["tail-latency"] !== undefined) {
    const ms = parseDuration(values["tail-latency"]);
    if (ms === undefined) {
      throw new UsageError(`--tail-latency: "${values["tail-latency"]}" is not a duration like 300ms, 1s or 300`);
    }
    faults.tailLatencyMs = ms;
    faults.tailRate = 0.01;
  }
  if (values["tail-rate"] !== undefined) {
    if (faults.tailLatencyMs === undefined) throw new UsageError("--tail-rate: needs --tail-latency");
    faults.tailRate = parseRate("--tail-rate", values["tail-rate"]);
  }
  if (values["error-rate"] !== undefined) {
    faults.errorRate = parseRate("--error-rate", values["error-rate"]);
  }
  if (values["error-code"] !== undefined) {
    const code = parseCode(values["error-code"]);
    if (code === undefined) {
      throw new UsageError(`--error-code: "${values["error-code"]}" is not a code name like unavailable or NOT_FOUND`);
    }
    faults.errorCode = code;
  }
  if (values.hang) faults.hang = true;
  const host = values.host ?? "127.0.0.1";

  let register: EtcdTarget | undefined;
  if (values.register !== undefined) {
    const target = parseEtcdTarget(values.register);
    if (typeof target === "string") throw new UsageError(`--register: ${target}`);
    // The address registered is the one bound: a wildcard would tell gateways nothing.
    if (["0.0.0.0", "::", "[::]"].includes(host)) {
      throw new UsageError(`--register: --host ${host} is not an address others can dial; bind a specific address`);
    }
    register = target;
  }

  const services = values.service ?? ["echo"];
  for (const s of services) {
    if (!/^[a-z][a-z0-9_-]*$/.test(s)) {
      throw new UsageError(`--service: "${s}" is not a folder name under services/ (lower case, e.g. echo or billing)`);
    }
  }

  return {
    help: values.help ?? false,
    port,
    host,
    name: values.name ?? `r-${port}`,
    services: [...new Set(services)],
    faults,
    ...(register ? { register } : {}),
  };
}

function parseOrExplain(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        name: { type: "string" },
        service: { type: "string", multiple: true },
        latency: { type: "string" },
        "tail-latency": { type: "string" },
        "tail-rate": { type: "string" },
        "error-rate": { type: "string" },
        "error-code": { type: "string" },
        hang: { type: "boolean" },
        register: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    // parseArgs reports unknown flags and missing values as TypeErrors whose
    // messages already name the flag; re-badge them so the CLI shows usage.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function parseRate(flag: string, text: string): number {
  const rate = text.trim() === "" ? NaN : Number(text);
  if (!(rate >= 0 && rate <= 1)) {
    throw new UsageError(`${flag}: "${text}" is not a number between 0 and 1`);
  }
  return rate;
}

function parsePort(text: string): number {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) {
    throw new UsageError(`--port: "${text}" is not a port number 0..65535`);
  }
  return port;
}
