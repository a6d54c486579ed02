// Runs one Switchyard gateway as its own process, so the benchmark can read
// its CPU time and peak RSS from /proc/<pid> (bench/run.mjs starts it):
//
//   node --import tsx bench/gateway-main.ts <config.json>
//
// The JSON has the YAML config's shape and goes through the same validation
// (validateConfigObject). Prints "listening on 127.0.0.1:PORT" once the first
// listener is up; SIGTERM drains and exits 0. With `workers` above 1 it is
// the primary of a process group (gateway/workers/), and the harness sums
// the CPU of the whole process tree.
import cluster from "node:cluster";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { validateConfigObject } from "../gateway/config/load.js";
import { startGateway } from "../gateway/server.js";
import { demoDescriptors } from "../gateway/demo.js";
import { tuneRuntime } from "../gateway/runtime.js";
import { runWorker } from "../gateway/workers/worker.js";
import { startPrimary } from "../gateway/workers/primary.js";
import { workerCount } from "../gateway/workers/share.js";

async function main(): Promise<void> {
  tuneRuntime();
  const path = process.argv[2];
  if (!path) throw new Error("usage: gateway-main.ts <config.json>");
  const config = await validateConfigObject(JSON.parse(await readFile(path, "utf8")), dirname(resolve(path)));
  const onClusterEvent = (m: string) => console.error(`cluster event: ${m}`);
  const workers = workerCount(config.workers);
  const gateway =
    workers > 1
      ? await startPrimary(config, { count: workers, descriptors: demoDescriptors, log: onClusterEvent })
      : await startGateway(config, { onClusterEvent, descriptors: demoDescriptors });
  console.log(`listening on 127.0.0.1:${gateway.ports[0]}`);
  let stopping = false;
  process.on("SIGTERM", () => {
    if (stopping) return;
    stopping = true;
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

if (cluster.isWorker) {
  tuneRuntime();
  runWorker((config, opts) => startGateway(config, { ...opts, descriptors: demoDescriptors }));
} else {
  main().catch((err: unknown) => {
    console.error(`gateway-main: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
