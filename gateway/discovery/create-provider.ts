import type { DiscoveryConfig } from "../config/types.js";
import type { EndpointProvider } from "./provider.js";
import { FileProvider } from "./file-provider.js";
import { KubernetesProvider } from "./kubernetes-provider.js";

/** The provider a cluster's `discovery` block names. */
export function createProvider(config: DiscoveryConfig): EndpointProvider {
  switch (config.kind) {
    case "file":
      return new FileProvider(config.path);
    case "kubernetes":
      return new KubernetesProvider(config);
    default:
      throw new Error(`discovery.${config.kind} is not available in this build`);
  }
}
