import { demoDescriptors } from "../../gateway/demo.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { defaultResilience } from "../../gateway/config/resilience.js";
import type { Replica } from "../../services/replica.js";
import { defaultLimits, defaultOverload } from "../../gateway/config/limits.js";

/**
 * A second gateway in front of an existing replica (or any upstream at
 * `upstream`) with its own cors settings. startFixture always allows "*",
 * which never shows what happens to a page whose origin is not on a real
 * allow-list, or that sends credentials.
 */
export async function gatewayWithOrigins(
  upstream: Pick<Replica, "address">,
  allowedOrigins: string[],
  allowCredentials = false,
): Promise<{ gateway: Gateway; url: string }> {
  const [host, port] = upstream.address.split(":");
  const gateway = await startGateway(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      limits: { ...defaultLimits(), maxMessageBytes: 4 * 1024 * 1024 },
      overload: defaultOverload(),
      drainTimeoutMs: 500,
      descriptorSets: [],
      cors: { allowedOrigins, allowCredentials },
      clusters: new Map([
        [
          "echo",
          {
            name: "echo",
            protocol: "grpc",
            http: "2",
            codec: "proto",
            compression: "identity",
            connectTimeoutMs: 5000,
            timeoutMs: undefined,
            endpoints: [{ address: upstream.address, host, port: Number(port), weight: 1, priority: 0 }],
            resilience: defaultResilience(),
          },
        ],
      ]),
      routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    },
    { descriptors: demoDescriptors },
  );
  return { gateway, url: `http://127.0.0.1:${gateway.ports[0]}` };
}
