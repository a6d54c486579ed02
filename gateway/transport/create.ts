import type { ClusterConfig, EndpointConfig } from "../config/types.js";
import type { HttpTransport } from "./contract.js";
import { H1Transport } from "./h1.js";
import { H2Transport } from "./h2.js";

/** The connection pool for one endpoint of a cluster: HTTP/2 sessions or HTTP/1.1 keep-alive sockets. */
export function createTransport(
  cluster: ClusterConfig,
  ep: EndpointConfig,
  label: string,
  onConnectFailure?: (err: Error) => void,
): HttpTransport {
  const t = cluster.tls;
  const tls = t && {
    ca: t.ca,
    cert: t.cert,
    key: t.key,
    servername: t.serverName,
    rejectUnauthorized: !t.insecureSkipVerify,
  };
  const connectTimeoutMs = cluster.connectTimeoutMs;
  if (cluster.http === "1.1")
    return new H1Transport({ host: ep.host, port: ep.port, label, tls, connectTimeoutMs, onConnectFailure });
  const host = ep.host.includes(":") ? `[${ep.host}]` : ep.host;
  return new H2Transport({
    origin: `${t ? "https" : "http"}://${host}:${ep.port}`,
    label,
    tls,
    connectTimeoutMs,
    onConnectFailure,
  });
}
