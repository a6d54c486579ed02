import type { Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

export interface TransportCase {
  label: string;
  /** Bidi streaming needs a full-duplex protocol, which HTTP/1.1 is not. */
  fullDuplex: boolean;
  create(baseUrl: string): Transport;
}

/** Every protocol x HTTP version x codec combination a gateway may send upstream. */
export const transportCases: TransportCase[] = [
  {
    label: "gRPC over h2c",
    fullDuplex: true,
    create: (baseUrl) => createGrpcTransport({ baseUrl }),
  },
  {
    label: "Connect JSON over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    label: "Connect proto over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true }),
  },
  {
    label: "Connect proto over h2c",
    fullDuplex: true,
    create: (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: true }),
  },
  {
    label: "gRPC-Web proto over HTTP/1.1",
    fullDuplex: false,
    create: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }),
  },
  {
    label: "gRPC-Web JSON over h2c",
    fullDuplex: true,
    create: (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false }),
  },
];
