import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// A real OpenTelemetry Collector on loopback (test/tracing/build-collector.sh
// builds it): the OTLP/HTTP receiver on a free port, and the file exporter
// writing what it received as OTLP JSON, one line per batch.

export const COLLECTOR = fileURLToPath(new URL("../../.cache/bin/otelcol-switchyard", import.meta.url));
const HINT = "build it with test/tracing/build-collector.sh (`npm test` does this first: test/setup/ensure.mjs)";

/** One span as the collector wrote it, attributes flattened. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  status: { code?: number };
  service: string;
}

export interface Collector {
  /** The OTLP/HTTP base URL, e.g. http://127.0.0.1:4318. */
  readonly url: string;
  /** Every span the collector has written so far. */
  spans(): CollectedSpan[];
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  try {
    accessSync(COLLECTOR, constants.X_OK);
  } catch {
    throw new Error(`${COLLECTOR} is missing: ${HINT}`);
  }
  const dir = mkdtempSync(join(tmpdir(), "switchyard-otelcol-"));
  const port = await freePort();
  const out = join(dir, "traces.jsonl");
  writeFileSync(
    join(dir, "config.yaml"),
    `receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${port}
exporters:
  file:
    path: ${out}
    flush_interval: 50ms
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file]
`,
  );
  const child: ChildProcess = spawn(COLLECTOR, ["--config", join(dir, "config.yaml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (log += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + 20_000;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || performance.now() > deadline) {
      await close();
      throw new Error(`the collector did not start listening on 127.0.0.1:${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => (existsSync(out) ? parseSpans(readFileSync(out, "utf8")) : []),
    close,
  };
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

function parseSpans(text: string): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    const batch = JSON.parse(line) as {
      resourceSpans?: Array<{
        resource?: { attributes?: OtlpAttribute[] };
        scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>;
      }>;
    };
    for (const rs of batch.resourceSpans ?? []) {
      const service = String(flatten(rs.resource?.attributes)["service.name"] ?? "");
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          spans.push({
            traceId: String(s.traceId),
            spanId: String(s.spanId),
            parentSpanId: String(s.parentSpanId ?? ""),
            name: String(s.name),
            kind: Number(s.kind),
            attributes: flatten(s.attributes as OtlpAttribute[] | undefined),
            status: (s.status as { code?: number } | undefined) ?? {},
            service,
          });
        }
      }
    }
  }
  return spans;
}

function flatten(attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const a of attributes ?? []) {
    const v = a.value;
    out[a.key] =
      v.stringValue ??
      (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
      v.boolValue ??
      v.doubleValue ??
      "";
  }
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}
