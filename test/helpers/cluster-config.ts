import type { ClusterConfig, EndpointConfig } from "../../gateway/config/types.js";
import { defaultResilience } from "../../gateway/config/resilience.js";

/** A loopback endpoint on `port`. */
export function endpointAt(port: number, weight = 1, priority = 0): EndpointConfig {
  return { address: `127.0.0.1:${port}`, host: "127.0.0.1", port, weight, priority };
}

/** A normalized gRPC cluster "echo" with default resilience and health checks off, for specs. */
export function clusterConfig(endpoints: EndpointConfig[], change: Partial<ClusterConfig> = {}): ClusterConfig {
  const resilience = defaultResilience();
  resilience.healthCheck.enabled = false;
  return {
    name: "echo",
    protocol: "grpc",
    http: "2",
    codec: "proto",
    compression: "identity",
    connectTimeoutMs: 5000,
    endpoints,
    resilience,
    ...change,
  };
}
