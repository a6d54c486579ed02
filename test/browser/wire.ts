import type { CDPSession, Page } from "playwright-core";
import { vi } from "vitest";

/** One HTTP exchange as Chromium's network stack saw it, before CORS filtered anything. */
export interface Exchange {
  method: string;
  url: string;
  /** "Preflight" for the OPTIONS requests Chromium sends on its own. */
  type: string;
  requestHeaders: Record<string, string>;
  status?: number;
  /** Lower-cased names. */
  responseHeaders: Record<string, string>;
  failed?: string;
  /** Why CORS blocked it, in Chromium's words (e.g. "InvalidAllowCredentials"). */
  corsError?: string;
  done: boolean;
}

const lower = (h: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));

/**
 * Records the page's requests through the DevTools protocol. Page script
 * cannot see a CORS preflight at all, so this is the only way to check that
 * the browser sent one and what the gateway answered to it.
 */
export class Wire {
  private exchanges = new Map<string, Exchange>();

  private constructor(private readonly cdp: CDPSession) {
    cdp.on("Network.requestWillBeSent", (e) => {
      this.exchanges.set(e.requestId, {
        method: e.request.method,
        url: e.request.url,
        type: e.type ?? "Other",
        requestHeaders: lower(e.request.headers),
        responseHeaders: {},
        done: false,
      });
    });
    cdp.on("Network.responseReceived", (e) => {
      const x = this.exchanges.get(e.requestId);
      if (!x) return;
      x.type = e.type;
      x.status = e.response.status;
      x.responseHeaders = lower(e.response.headers);
    });
    cdp.on("Network.loadingFinished", (e) => this.finish(e.requestId));
    cdp.on("Network.loadingFailed", (e) => this.finish(e.requestId, e.errorText, e.corsErrorStatus?.corsError));
  }

  private finish(id: string, failed?: string, corsError?: string) {
    const x = this.exchanges.get(id);
    if (!x) return;
    x.done = true;
    x.failed = failed;
    x.corsError = corsError;
  }

  static async attach(page: Page): Promise<Wire> {
    const cdp = await page.context().newCDPSession(page);
    const wire = new Wire(cdp);
    await cdp.send("Network.enable");
    // Bypasses Chromium's preflight cache too, so every cross-origin call
    // sends its own OPTIONS and each test sees its preflights whatever ran
    // before it.
    await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
    return wire;
  }

  /** Runs fn and returns what went over the wire to `origin` meanwhile (once every exchange settled). */
  async during<T>(origin: string, fn: () => Promise<T>): Promise<{ result: T; exchanges: Exchange[] }> {
    this.exchanges.clear();
    const result = await fn();
    const mine = () => [...this.exchanges.values()].filter((x) => x.url.startsWith(`${origin}/`));
    // DevTools events travel separately from page.evaluate's answer.
    await vi.waitFor(
      () => {
        if (!mine().every((x) => x.done)) throw new Error("exchanges still in flight");
      },
      { timeout: 5000, interval: 20 },
    );
    return { result, exchanges: mine() };
  }
}

/** Exchanges that are the preflights, and the ones that are the calls. */
export function split(exchanges: Exchange[]): { preflights: Exchange[]; calls: Exchange[] } {
  return {
    preflights: exchanges.filter((x) => x.method === "OPTIONS"),
    calls: exchanges.filter((x) => x.method !== "OPTIONS"),
  };
}

/** The request headers a preflight asked the gateway to allow. */
export function askedHeaders(preflight: Exchange): string[] {
  return (preflight.requestHeaders["access-control-request-headers"] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}
