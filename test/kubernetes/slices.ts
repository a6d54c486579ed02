import { DiscoveryV1Api, KubeConfig, type V1EndpointSlice } from "@kubernetes/client-node";

/** An endpoint of a slice: its address, and `ready` as the slice says it (undefined: the field is left out). */
export interface SliceEndpoint {
  ip: string;
  ready?: boolean;
}

/**
 * The test's hand on a Service's EndpointSlices, written as the EndpointSlice
 * controller would (there is no controller here: the test plays it).
 */
export class Slices {
  private readonly api: DiscoveryV1Api;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
  ) {
    this.api = kc.makeApiClient(DiscoveryV1Api);
  }

  /** Creates or replaces slice `name` of `service` with `endpoints` on port `port`. */
  async put(
    name: string,
    service: string,
    port: { name: string; port: number },
    endpoints: SliceEndpoint[],
  ): Promise<void> {
    const body: V1EndpointSlice = {
      metadata: {
        name,
        labels: { "kubernetes.io/service-name": service, "endpointslice.kubernetes.io/managed-by": "switchyard-test" },
      },
      addressType: "IPv4",
      ports: [{ name: port.name, port: port.port, protocol: "TCP" }],
      endpoints: endpoints.map((e) => ({
        addresses: [e.ip],
        conditions: e.ready === undefined ? {} : { ready: e.ready },
      })),
    };
    const namespace = this.namespace;
    try {
      await this.api.replaceNamespacedEndpointSlice({ name, namespace, body });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedEndpointSlice({ namespace, body });
    }
  }

  async delete(name: string): Promise<void> {
    await this.api.deleteNamespacedEndpointSlice({ name, namespace: this.namespace });
  }
}
