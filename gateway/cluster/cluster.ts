import type { ClusterConfig, EndpointConfig, UpstreamProtocol } from "../config/types.js";
import type { HttpTransport } from "./transport.js";
import { H2Transport } from "./transport-h2.js";
import { H1Transport } from "./transport-h1.js";
import { pickSmoothWrr } from "./balancer/smooth-wrr.js";

export class Endpoint {
  readonly address: string;
  readonly weight: number;
  readonly label: string;
  readonly transport: HttpTransport;
  /** Smooth WRR state. */
  current = 0;

  constructor(cluster: ClusterConfig, ep: EndpointConfig) {
    this.address = ep.address;
    this.weight = ep.weight;
    this.label = `cluster "${cluster.name}" endpoint ${ep.address}`;
    const tls = cluster.tls;
    if (cluster.http === "1.1") {
      this.transport = new H1Transport({
        host: ep.host,
        port: ep.port,
        label: this.label,
        tls: tls && { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName, rejectUnauthorized: !tls.insecureSkipVerify },
      });
    } else {
      this.transport = new H2Transport({
        origin: `${tls ? "https" : "http"}://${ep.host.includes(":") ? `[${ep.host}]` : ep.host}:${ep.port}`,
        label: this.label,
        tls: tls && { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName, rejectUnauthorized: !tls.insecureSkipVerify },
      });
    }
  }
}

/** A named group of endpoints that speak one protocol. */
export class Cluster {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  readonly config: ClusterConfig;
  readonly endpoints: Endpoint[];

  constructor(config: ClusterConfig) {
    this.name = config.name;
    this.protocol = config.protocol;
    this.config = config;
    this.endpoints = config.endpoints.map((e) => new Endpoint(config, e));
  }

  pick(): Endpoint | undefined {
    return pickSmoothWrr(this.endpoints);
  }

  async close(): Promise<void> {
    await Promise.all(this.endpoints.map((e) => e.transport.close()));
  }
}
