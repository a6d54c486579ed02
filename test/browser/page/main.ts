// The page's entry point: it only publishes the scenarios on window, and the
// vitest side (../browser.test.ts) runs them one at a time with
// page.evaluate, so each check is its own test with its own failure message.
import { connectWebScenarios, type ConnectWebScenarios, type TransportName } from "./connect-web.js";
import { grpcWebTextScenarios, type GrpcWebTextScenarios } from "./grpc-web-text.js";

export interface BrowserScenarios {
  /** Where the gateway is; always another origin than this page. */
  gatewayUrl: string;
  /** baseUrl defaults to gatewayUrl; other gateways test other CORS settings. */
  connectWeb(transport: TransportName, baseUrl?: string): ConnectWebScenarios;
  grpcWebText(): GrpcWebTextScenarios;
}

declare global {
  interface Window {
    switchyard?: BrowserScenarios;
  }
}

const gatewayUrl = new URLSearchParams(location.search).get("gateway");
if (!gatewayUrl) throw new Error("open this page with ?gateway=<gateway base URL>");

window.switchyard = {
  gatewayUrl,
  connectWeb: (transport, baseUrl) => connectWebScenarios(transport, baseUrl ?? gatewayUrl),
  grpcWebText: () => grpcWebTextScenarios(gatewayUrl),
};
