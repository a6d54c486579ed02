import type { DescFile } from "@bufbuild/protobuf";
import { startReplica, type Replica } from "../services/replica.js";
import { file_acme_echo_v1_echo } from "../gen/acme/echo/v1/echo_pb.js";

/**
 * The demo API's descriptors, handed to startGateway by the programs that
 * run the demo (cli.ts, the tests, the bench): the gateway itself imports
 * no demo code.
 */
export const demoDescriptors: readonly DescFile[] = [file_acme_echo_v1_echo];

/** Where `npm start` serves the admin API and the dashboard. */
export const DEMO_ADMIN_PORT = 9901;

/** Three in-process demo replicas with weights 1, 1, 2, as `npm start` runs them. */
export async function startDemoReplicas(): Promise<{
  replicas: Replica[];
  config(port: number, adminPort?: number): unknown;
  close(): Promise<void>;
}> {
  const replicas = await Promise.all(["r1", "r2", "r3"].map((name) => startReplica({ name })));
  const weights = [1, 1, 2];
  return {
    replicas,
    config: (port: number, adminPort = DEMO_ADMIN_PORT) => ({
      listeners: [{ port }],
      admin: { port: adminPort },
      clusters: {
        echo: {
          protocol: "grpc",
          endpoints: replicas.map((r, i) => ({ address: r.address, weight: weights[i] })),
        },
      },
      routes: [{ match: { prefix: "/" }, cluster: "echo" }],
    }),
    close: async () => {
      await Promise.all(replicas.map((r) => r.close()));
    },
  };
}
