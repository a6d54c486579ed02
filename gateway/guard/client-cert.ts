import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ServerRequest } from "../protocol/contract.js";
import { StreamRequest } from "../listener/stream-exchange.js";

// Who is on the other end of a call's connection: its address, and the
// subject alternative names of its client certificate when the listener
// verified one.

/** The connection a request came on (for HTTP/2, the session's socket). */
export function peerSocket(req: ServerRequest): Socket | undefined {
  if (req instanceof StreamRequest) return req.stream.session?.socket;
  return (req as { socket?: Socket }).socket;
}

/** The client's IP address, without a port. */
export function peerAddress(req: ServerRequest): string | undefined {
  return peerSocket(req)?.remoteAddress;
}

const sansBySocket = new WeakMap<object, string[]>();

/**
 * The URI and DNS SANs of the client certificate, as "URI:<uri>" and
 * "DNS:<name>" (the allow-list's form); undefined when the connection
 * carries no certificate the listener's clientCa verified. With clientCa but
 * not requireClientCert, a client may present a certificate that fails
 * verification and still connect: `authorized` is what tells.
 * Read once per connection.
 */
export function clientSans(req: ServerRequest): string[] | undefined {
  const socket = peerSocket(req) as TLSSocket | undefined;
  if (!socket?.encrypted || !socket.authorized) return undefined;
  let sans = sansBySocket.get(socket);
  if (!sans) {
    sans = parseSubjectAltName(socket.getPeerCertificate(false)?.subjectaltname ?? "");
    sansBySocket.set(socket, sans);
  }
  return sans;
}

/**
 * Node's `subjectaltname` text ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"),
 * URI and DNS entries only. Node quotes a value that holds a comma or quote
 * as a JSON string, so a crafted name cannot smuggle in a second entry.
 */
export function parseSubjectAltName(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const type = m[1];
    if (type !== "URI" && type !== "DNS") continue;
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push(`${type}:${value}`);
  }
  return out;
}

/**
 * The SANs in Envoy's x-forwarded-client-cert form: `URI=spiffe://x;DNS=a`,
 * a value quoted when it holds a separator.
 */
export function forwardedClientCert(sans: readonly string[]): string {
  return sans
    .map((s) => {
      const colon = s.indexOf(":");
      const value = s.slice(colon + 1);
      return `${s.slice(0, colon)}=${/[;,="]/.test(value) ? JSON.stringify(value) : value}`;
    })
    .join(";");
}
