import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadConfigFile, validateConfigObject } from "./config/load.js";
import { ConfigError } from "./config/config-error.js";
import type { GatewayConfig } from "./config/types.js";
import { type Gateway, startGateway } from "./server.js";
import { type ReloadResult, formatReload, watchConfig } from "./snapshot/reload.js";
import { createLogger } from "./observe/logger.js";
import { tuneRuntime } from "./runtime.js";
import { DEMO_ADMIN_PORT, demoDescriptors, startDemoReplicas } from "./demo.js";
import { runNewService } from "./scaffold/new-service.js";
import { runWorker } from "./workers/worker.js";
import { startPrimary } from "./workers/primary.js";
import { workerCount } from "./workers/share.js";

const USAGE = `usage: switchyard --config gateway.yaml [--port N] [--admin-port N] [--watch] [--workers N|auto]
       switchyard --demo [--port N] [--admin-port N] [--workers N|auto]     (three in-process demo replicas, weights 1, 1, 2)
       switchyard new-service acme.billing.v1.BillingService   (a proto, a replica service and its test; --help for more)

  --config FILE   YAML config (see examples/gateway.yaml, schema/gateway.schema.json)
  --port N        override the first listener's port (also: PORT environment variable)
  --admin-port N  override the admin port (admin API, dashboard, probes; the demo's is ${DEMO_ADMIN_PORT})
  --watch         reload when the config file, or a file it names (certificates, descriptor sets), changes
  --workers N     worker processes, or auto for one per core (overrides the config's workers; default 1)
  --demo          run in front of embedded demo replicas (what \`npm start\` does)
  --check         validate the config and exit
  --help

Reload the config without a restart: kill -HUP <pid>, --watch, or POST /reload on the admin port.
An invalid config is refused, with every problem listed, and the running one keeps serving.`;

async function main(): Promise<void> {
  if (process.argv[2] === "new-service") process.exit(runNewService(process.argv.slice(3)));
  tuneRuntime();
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        "admin-port": { type: "string" },
        demo: { type: "boolean" },
        watch: { type: "boolean", short: "w" },
        workers: { type: "string" },
        check: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`, 2);
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (!args.config && !args.demo) fail(`give --config FILE or --demo\n\n${USAGE}`, 2);
  if (args.watch && !args.config) fail(`--watch needs --config FILE\n\n${USAGE}`, 2);
  const portText = args.port ?? process.env.PORT;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    fail(`--port/PORT must be a port number 0-65535, got "${portText}"`, 2);
  }
  const adminPortText = args["admin-port"];
  const adminPort = adminPortText === undefined ? undefined : Number(adminPortText);
  if (adminPort !== undefined && !(Number.isInteger(adminPort) && adminPort >= 0 && adminPort <= 65535)) {
    fail(`--admin-port must be a port number 0-65535, got "${adminPortText}"`, 2);
  }
  const withAdminPort = (c: GatewayConfig) => {
    if (adminPort !== undefined) c.admin = { port: adminPort, host: c.admin?.host ?? "127.0.0.1" };
  };
  const workersFlag = args.workers === undefined || args.workers === "auto" ? args.workers : Number(args.workers);
  if (
    workersFlag !== undefined &&
    workersFlag !== "auto" &&
    !(Number.isInteger(workersFlag) && workersFlag >= 1 && workersFlag <= 1024)
  ) {
    fail(`--workers must be auto or a whole number from 1 to 1024, got "${args.workers}"`, 2);
  }

  let config: GatewayConfig;
  let stopDemo: (() => Promise<void>) | undefined;
  const configPath = args.config ? resolve(args.config) : undefined;
  // What a reload reads: the same file, with the same --port override.
  const loadConfig = configPath
    ? async () => {
        const c = await loadConfigFile(configPath);
        if (port !== undefined) c.listeners[0].port = port;
        withAdminPort(c);
        return c;
      }
    : undefined;
  try {
    if (loadConfig) {
      config = await loadConfig();
    } else {
      const demo = await startDemoReplicas();
      stopDemo = demo.close;
      config = await validateConfigObject(demo.config(port ?? 8080, adminPort ?? DEMO_ADMIN_PORT), process.cwd());
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  if (!loadConfig && port !== undefined) config.listeners[0].port = port;
  if (args.check) {
    console.log("config is valid");
    return;
  }

  // Everything from here on is a structured line on stdout (docs/DESIGN.md, "Observation").
  const log = createLogger(config.logging?.level);
  const workers = workerCount(workersFlag ?? config.workers);
  // One process serves everything, or a primary runs workers (workers/primary.ts); the rest is the same.
  let gateway: Pick<Gateway, "ports" | "adminPort" | "reload" | "close" | "current">;
  let metricsOn = false;
  try {
    if (workers > 1) {
      const onReload = (result: ReloadResult, trigger: string) => {
        const facts = { event: "reload", status: result.status, trigger };
        if (result.status === "rejected") log.error(facts, formatReload(result, trigger));
        else log.info(facts, formatReload(result, trigger));
      };
      const primary = await startPrimary(config, {
        count: workers,
        loadConfig,
        descriptors: demoDescriptors,
        log: (m) => log.info(m),
        onReload,
      });
      metricsOn = primary.metrics;
      gateway = primary;
    } else {
      const single = await startGateway(config, {
        log,
        // The demo API is known out of the box, so `npm run replica` works with any config.
        descriptors: demoDescriptors,
        loadConfig,
      });
      metricsOn = single.observability.metrics !== undefined;
      gateway = single;
    }
  } catch (err) {
    await stopDemo?.();
    throw err;
  }
  const p = gateway.ports[0];
  log.info(
    { event: "start", ports: gateway.ports, admin: gateway.adminPort, workers },
    `switchyard listening on port ${gateway.ports.join(", ")} (gRPC, gRPC-Web, Connect; HTTP/1.1 + h2c${config.listeners[0].tls ? " + TLS" : ""})${workers > 1 ? ` with ${workers} workers` : ""}`,
  );
  if (gateway.adminPort) {
    const extra = `${metricsOn ? ", GET /metrics" : ""}${workers > 1 ? ", /workers" : ""}`;
    log.info(
      { event: "start", admin: gateway.adminPort },
      `admin on port ${gateway.adminPort} (dashboard at /, AdminService, /healthz, /ready, POST /reload${extra}); bound to ${config.admin!.host}`,
    );
  }
  for (const c of config.clusters.values()) {
    log.info(
      { event: "start", cluster: c.name, endpoints: c.endpoints.map((e) => e.address) },
      `cluster ${c.name} (${c.protocol}): ${c.endpoints.map((e) => `${e.address} w${e.weight}`).join(", ")}`,
    );
  }
  if (stopDemo) log.info({ event: "start" }, demoHelp(p, gateway.adminPort));

  const watcher = configPath && args.watch ? watchConfig(configPath, () => gateway.reload("file change")) : undefined;
  if (watcher) log.info({ event: "start" }, `watching ${configPath} and the files it names; a change reloads`);
  // SIGHUP reloads (a config file is needed; the demo has none and says so).
  process.on("SIGHUP", () => void gateway.reload("SIGHUP"));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watcher?.close();
    log.info(
      { event: "stop", signal },
      `${signal}: draining in-flight calls (up to ${gateway.current().config.drainTimeoutMs} ms)...`,
    );
    gateway
      .close()
      .then(() => stopDemo?.())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ event: "stop", err }, "error while stopping");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

function demoHelp(port: number, adminPort: number | undefined): string {
  return `Try it:
  curl -s localhost:${port}/acme.echo.v1.EchoService/Echo -H 'content-type: application/json' -d '{"message":"hi"}'
  curl -s 'localhost:${port}/acme.echo.v1.EchoService/Echo?connect=v1&encoding=json&message=%7B%22message%22%3A%22hi%22%7D'
  grpcurl -plaintext localhost:${port} list          (the gateway answers server reflection itself)
  grpcurl -plaintext -d '{"message":"hi"}' localhost:${port} acme.echo.v1.EchoService/Echo
  grpcurl -plaintext -d '{"count":3,"interval_ms":200}' localhost:${port} acme.echo.v1.EchoService/Count
Browsers: any connect-web or grpc-web client pointed at http://localhost:${port} (CORS is open).${
    adminPort === undefined
      ? ""
      : `
Dashboard: http://localhost:${adminPort}/   (live endpoints, charts, drain buttons)
  curl -s -X POST localhost:${adminPort}/switchyard.admin.v1.AdminService/ListClusters -H 'content-type: application/json' -d '{}'`
  }
Ctrl-C drains and stops.`;
}

function fail(message: string, code: number): never {
  console.error(`switchyard: ${message}`);
  process.exit(code);
}

if (cluster.isWorker) {
  // A worker of `workers: N`: the primary sends it the config (workers/worker.ts).
  tuneRuntime();
  runWorker((config, opts) => startGateway(config, { ...opts, descriptors: demoDescriptors }));
} else {
  main().catch((err) => {
    console.error(`switchyard: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
