import type { DiscoveryConfig } from "../config/types.js";
import type { EndpointProvider } from "./provider.js";
import { EtcdProvider } from "./etcd-provider.js";
import { DnsProvider } from "./dns-provider.js";
import { FileProvider } from "./file-provider.js";
import { KubernetesProvider } from "./kubernetes-provider.js";

/** The provider a cluster's `discovery` block names. */
export function createProvider(config: DiscoveryConfig): EndpointProvider {
  switch (config.kind) {
    case "etcd":
      return new EtcdProvider(config.endpoints, config.prefix);
    case "dns":
      return new DnsProvider(config);
    case "file":
      return new FileProvider(config.path);
    case "kubernetes":
      return new KubernetesProvider(config);
  }
}
