import { parseDuration } from "./duration.js";
import type { ConnectionLimitsInput, DurationInput, GatewayConfigInput } from "./input.js";
import type { ConnectionLimits, Limits, OverloadConfig } from "./types.js";

// Limits on what one client may hold or send, and the overload guard: their
// defaults and YAML -> config. The defaults follow Envoy's edge-proxy advice
// and nginx where Envoy has none; each is argued in the README ("Limits and
// hostile clients"). limits.spec.ts keeps the schema's `default`s in step.

/** Every limit's default, as a fresh object. */
export function defaultLimits(): Limits {
  return {
    maxMessageBytes: 4 * 1024 * 1024,
    ...defaultConnectionLimits(),
    streamIdleTimeoutMs: 0,
    maxJsonDepth: 100,
  };
}

/** The limits a listener may set for itself (`listeners[].limits`). */
export function defaultConnectionLimits(): ConnectionLimits {
  return {
    maxConnections: 10_000,
    maxConcurrentStreams: 100,
    requestHeadersTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    maxRequestHeadersBytes: 16 * 1024,
    maxHeadersCount: 100,
    maxPrematureResets: 500,
  };
}

export function defaultOverload(): OverloadConfig {
  return {
    enabled: true,
    maxEventLoopDelayMs: 1_000,
    maxHeapPercent: 95,
    maxRssBytes: 0,
    retryPushbackMs: 1_000,
  };
}

/** The keys of ConnectionLimits, as written in YAML (listeners[].limits takes only these). */
export const CONNECTION_LIMIT_KEYS = [
  "maxConnections",
  "maxConcurrentStreams",
  "requestHeadersTimeout",
  "idleTimeout",
  "maxRequestHeadersBytes",
  "maxHeadersCount",
  "maxPrematureResets",
] as const;

const ms = (value: DurationInput | undefined, fallback: number) =>
  value === undefined ? fallback : parseDuration(value);

/** `limits` (top level): every key, defaults filled in. */
export function normalizeLimits(input: GatewayConfigInput["limits"]): Limits {
  const d = defaultLimits();
  const set = input ?? {};
  return {
    maxMessageBytes: set.maxMessageBytes ?? d.maxMessageBytes,
    ...normalizeConnectionLimits(set, d),
    streamIdleTimeoutMs: ms(set.streamIdleTimeout, d.streamIdleTimeoutMs),
    maxJsonDepth: set.maxJsonDepth ?? d.maxJsonDepth,
  };
}

/** A listener's own limits over `base` (the top-level ones): what is not set there comes from the base. */
export function normalizeConnectionLimits(set: ConnectionLimitsInput, base: ConnectionLimits): ConnectionLimits {
  return {
    maxConnections: set.maxConnections ?? base.maxConnections,
    maxConcurrentStreams: set.maxConcurrentStreams ?? base.maxConcurrentStreams,
    requestHeadersTimeoutMs: ms(set.requestHeadersTimeout, base.requestHeadersTimeoutMs),
    idleTimeoutMs: ms(set.idleTimeout, base.idleTimeoutMs),
    maxRequestHeadersBytes: set.maxRequestHeadersBytes ?? base.maxRequestHeadersBytes,
    maxHeadersCount: set.maxHeadersCount ?? base.maxHeadersCount,
    maxPrematureResets: set.maxPrematureResets ?? base.maxPrematureResets,
  };
}

/** Only the connection-level part of `limits`. */
export function connectionLimitsOf(l: ConnectionLimits): ConnectionLimits {
  return normalizeConnectionLimits({}, l);
}

/** `overload`: false is off (numbers kept), absent or true on with defaults. */
export function normalizeOverload(input: GatewayConfigInput["overload"]): OverloadConfig {
  const d = defaultOverload();
  if (input === false) return { ...d, enabled: false };
  const set = input === true || input === undefined ? {} : input;
  return {
    enabled: true,
    maxEventLoopDelayMs: ms(set.maxEventLoopDelay, d.maxEventLoopDelayMs),
    maxHeapPercent: set.maxHeapPercent ?? d.maxHeapPercent,
    maxRssBytes: set.maxRssBytes ?? d.maxRssBytes,
    retryPushbackMs: ms(set.retryPushback, d.retryPushbackMs),
  };
}
