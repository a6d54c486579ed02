import type { EndpointConfig } from "../config/types.js";

/**
 * Where a provider reports. Every successful answer goes to `list`, an
 * empty one included (an empty answer is the operator's intent); a failure
 * goes to `error`, and the endpoints found before stay in service.
 *
 * A source made of independent entries (a registry every replica writes its
 * own key into) passes the entries it could not read as `skipped`, one line
 * each, and lists the rest: one broken registration must not freeze the
 * cluster's endpoints. A source that is one document (a file) fails whole.
 */
export interface ProviderSink {
  list(endpoints: EndpointConfig[], skipped?: string[]): void;
  error(err: Error): void;
}

/**
 * A source of a cluster's endpoints that follows changes (docs/DESIGN.md,
 * "Snapshots and endpoint sets"). It only ever produces the desired list; the
 * endpoint set does the rest. It retries failures itself, with backoff.
 */
export interface EndpointProvider {
  /** e.g. `file /etc/echo.yaml`, for logs and the admin view. */
  readonly description: string;
  start(sink: ProviderSink): void;
  stop(): Promise<void>;
  /**
   * Optional: a connection to one of the endpoints this provider found
   * failed, so the fleet may have moved (DNS re-resolves at once).
   */
  nudge?(): void;
}
