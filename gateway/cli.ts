import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { loadConfigFile, validateConfigObject } from "./config/load.js";
import { ConfigError } from "./config/config-error.js";
import type { GatewayConfig } from "./config/types.js";
import { startGateway } from "./server.js";
import { tuneRuntime } from "./runtime.js";
import { demoDescriptors, startDemoReplicas } from "./demo.js";

const USAGE = `usage: switchyard --config gateway.yaml [--port N]
       switchyard --demo [--port N]     (three in-process demo replicas, weights 1, 1, 2)

  --config FILE   YAML config (see examples/gateway.yaml, schema/gateway.schema.json)
  --port N        override the first listener's port (also: PORT environment variable)
  --demo          run in front of embedded demo replicas (what \`npm start\` does)
  --check         validate the config and exit
  --help`;

async function main(): Promise<void> {
  tuneRuntime();
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        demo: { type: "boolean" },
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
  const portText = args.port ?? process.env.PORT;
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
    fail(`--port/PORT must be a port number 0-65535, got "${portText}"`, 2);
  }

  let config: GatewayConfig;
  let stopDemo: (() => Promise<void>) | undefined;
  try {
    if (args.config) {
      config = await loadConfigFile(resolve(args.config));
    } else {
      const demo = await startDemoReplicas();
      stopDemo = demo.close;
      config = await validateConfigObject(demo.config(port ?? 8080), process.cwd());
    }
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
  if (port !== undefined) config.listeners[0].port = port;
  if (args.check) {
    console.log("config is valid");
    return;
  }

  const gateway = await startGateway(config, {
    onClusterEvent: (m) => console.log(`[${new Date().toISOString()}] ${m}`),
    // The demo API is known out of the box, so `npm run replica` works with any config.
    descriptors: demoDescriptors,
  });
  const p = gateway.ports[0];
  console.log(`switchyard listening on port ${gateway.ports.join(", ")} (gRPC, gRPC-Web, Connect; HTTP/1.1 + h2c${config.listeners[0].tls ? " + TLS" : ""})`);
  if (gateway.adminPort) console.log(`admin on port ${gateway.adminPort} (/healthz, /ready)`);
  for (const c of config.clusters.values()) {
    console.log(`cluster ${c.name} (${c.protocol}): ${c.endpoints.map((e) => `${e.address} w${e.weight}`).join(", ")}`);
  }
  if (stopDemo) printDemoHelp(p);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining in-flight calls (up to ${config.drainTimeoutMs} ms)...`);
    gateway
      .close()
      .then(() => stopDemo?.())
      .then(
        () => process.exit(0),
        (err) => {
          console.error("error while stopping:", err);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

function printDemoHelp(port: number): void {
  console.log(`
Try it:
  curl -s localhost:${port}/acme.echo.v1.EchoService/Echo -H 'content-type: application/json' -d '{"message":"hi"}'
  curl -s 'localhost:${port}/acme.echo.v1.EchoService/Echo?connect=v1&encoding=json&message=%7B%22message%22%3A%22hi%22%7D'
  grpcurl -plaintext -import-path proto -proto acme/echo/v1/echo.proto -d '{"message":"hi"}' localhost:${port} acme.echo.v1.EchoService/Echo
  grpcurl -plaintext -import-path proto -proto acme/echo/v1/echo.proto -d '{"count":3,"interval_ms":200}' localhost:${port} acme.echo.v1.EchoService/Count
Browsers: any connect-web or grpc-web client pointed at http://localhost:${port} (CORS is open).
Ctrl-C drains and stops.`);
}

function fail(message: string, code: number): never {
  console.error(`switchyard: ${message}`);
  process.exit(code);
}

main().catch((err) => {
  console.error(`switchyard: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
