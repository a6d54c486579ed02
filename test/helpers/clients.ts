import { ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";

export interface ClientKind {
  name: string;
  /** Whether this client's bidi streams can be full-duplex (HTTP/2); over HTTP/1.1 they are half-duplex. */
  bidi: boolean;
  transport(baseUrl: string): Transport;
}

/** Every inbound protocol, codec and HTTP version the gateway serves, as connect-node clients. */
export const CLIENT_KINDS: ClientKind[] = [
  { name: "grpc proto h2", bidi: true, transport: (baseUrl) => createGrpcTransport({ baseUrl }) },
  {
    name: "grpc json h2",
    bidi: true,
    transport: (baseUrl) => createGrpcTransport({ baseUrl, useBinaryFormat: false }),
  },
  {
    name: "connect json h1",
    bidi: false,
    transport: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    name: "connect proto h1",
    bidi: false,
    transport: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  {
    name: "connect json h2",
    bidi: true,
    transport: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2" }),
  },
  {
    name: "connect proto h2",
    bidi: true,
    transport: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  },
  {
    name: "grpc-web proto h1",
    bidi: false,
    transport: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    name: "grpc-web json h1",
    bidi: false,
    transport: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false }),
  },
  {
    name: "grpc-web proto h2",
    bidi: true,
    transport: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2" }),
  },
];

export function echoClient(kind: ClientKind, baseUrl: string): Client<typeof EchoService> {
  return createClient(EchoService, kind.transport(baseUrl));
}

export async function* values<T>(...items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}

/** The error a call must fail with; a call that succeeds fails the test. */
export async function callError(p: Promise<unknown> | (() => Promise<unknown>)): Promise<ConnectError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail, but it succeeded");
}
