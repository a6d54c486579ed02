import { parseReplicaArgs, USAGE, UsageError } from "./cli-args.js";
import { startReplica } from "./replica.js";

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

  const replica = await startReplica(options);
  console.log(
    `replica ${replica.name} listening on ${replica.address} (gRPC, gRPC-Web, Connect; h2c + HTTP/1.1)`,
  );

  const shutdown = () => {
    replica.close().then(
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
