import { demoDescriptors } from "../../gateway/demo.js";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import type { ReplicaProcess } from "./replica-process.js";

export interface ChaosGateway {
  gateway: Gateway;
  client: ReturnType<typeof createClient<typeof EchoService>>;
  events: string[];
  close(): Promise<void>;
}

/**
 * A gateway in front of replica processes, configured through the same
 * validation path as a YAML file. Health checks run fast so a test sees
 * their effect in seconds.
 */
export async function startChaosGateway(
  replicas: ReplicaProcess[],
  cluster: Record<string, unknown> = {},
  weights?: number[],
): Promise<ChaosGateway> {
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      clusters: {
        echo: {
          protocol: "grpc",
          // None listed when the cluster's discovery finds them.
          ...(replicas.length > 0
            ? { endpoints: replicas.map((r, i) => ({ address: r.address, weight: weights?.[i] ?? 1 })) }
            : {}),
          healthCheck: { interval: "300ms", timeout: "200ms", unhealthyThreshold: 2, healthyThreshold: 2 },
          ...cluster,
        },
      },
      routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    },
    process.cwd(),
  );
  const events: string[] = [];
  const gateway = await startGateway(config, { onClusterEvent: (m) => events.push(m), descriptors: demoDescriptors });
  const client = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gateway.ports[0]}` }));
  return { gateway, client, events, close: () => gateway.close() };
}
