import { parseReplicaArgs, USAGE, UsageError } from "./cli-args.js";
import { registerInEtcd } from "./register-etcd.js";
import { loadHostedService } from "./hosted.js";
import { startReplica } from "./replica.js";

/** After deregistering, how long a replica keeps serving before it drains: gateways watching etcd stop sending new calls in this time. */
const DEREGISTER_GRACE_MS = 1_000;

// `npm run replica -- --port 50051 --name r1 --latency 200ms`: one demo
// upstream per process, so a gateway demo can kill and restart them freely.
async function main(argv: readonly string[]): Promise<void> {
  let options;
  try {
    options = parseReplicaArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`replica: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }

  let services;
  try {
    services = await Promise.all(options.services.map(loadHostedService));
  } catch (err) {
    console.error(`replica: --service: ${(err as Error).message}`);
    process.exit(2);
  }
  const replica = await startReplica({ ...options, services });
  console.log(`replica ${replica.name} listening on ${replica.address} (gRPC, gRPC-Web, Connect; h2c + HTTP/1.1)`);
  console.log(
    `replica ${replica.name} serves ${services.map((s) => s.service.typeName).join(", ")}, with health and server reflection`,
  );

  // Registered only once it is listening: a gateway may send calls at once.
  const registration = options.register
    ? registerInEtcd(options.register, replica.address, (line) => console.log(`replica ${replica.name}: ${line}`))
    : undefined;

  // The order that loses no call: leave the registry, let gateways notice and
  // stop picking this replica, then finish what is in flight and close.
  const leave = async () => {
    if (!registration) return;
    await registration.deregister(2_000);
    console.log(`replica ${replica.name}: deregistered ${registration.key}; draining in ${DEREGISTER_GRACE_MS} ms`);
    await new Promise((r) => setTimeout(r, DEREGISTER_GRACE_MS));
  };
  let shuttingDown = false;
  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    leave()
      .then(() => replica.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error("replica: close failed:", err);
          process.exit(1);
        },
      );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // Most likely EADDRINUSE; the message says which port.
  console.error("replica:", err instanceof Error ? err.message : err);
  process.exit(1);
});
