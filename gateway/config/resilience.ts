import { Code, parseCodeName } from "../call/status.js";
import { parseDuration } from "./duration.js";
import type { ClusterInput, DurationInput } from "./input.js";
import type { HedgingPolicyConfig, ResilienceConfig } from "./types.js";

// Per-cluster resilience settings: defaults and YAML -> ResilienceConfig.
// The defaults live here (not in the schema, whose `default`s only document
// them for editors; resilience.spec.ts keeps the two in step).

/** Every resilience default, as a fresh object (callers may mutate it). */
export function defaultResilience(): ResilienceConfig {
  return {
    balancer: "weighted_round_robin",
    hashOn: undefined,
    overprovisioningFactor: 1.4,
    slowStartMs: 10_000,
    circuitBreaker: {
      enabled: true,
      errorThresholdPercentage: 50,
      volumeThreshold: 20,
      rollingWindowMs: 10_000,
      resetTimeoutMs: 5_000,
      maxInFlight: 1000,
    },
    retryPolicy: {
      enabled: true,
      maxAttempts: 3,
      initialBackoffMs: 25,
      maxBackoffMs: 1_000,
      backoffMultiplier: 2,
      retryableStatusCodes: [Code.UNAVAILABLE],
      maxReplayBytes: 65_536,
    },
    // Off unless configured: hedging multiplies upstream load by design.
    hedgingPolicy: undefined,
    retryBudget: { percent: 20, minRetriesPerSecond: 10 },
    healthCheck: {
      enabled: true,
      intervalMs: 2_000,
      timeoutMs: 1_000,
      unhealthyThreshold: 2,
      healthyThreshold: 2,
      service: "",
    },
    outlierDetection: {
      enabled: true,
      consecutiveFailures: 5,
      baseEjectionTimeMs: 10_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 50,
      intervalMs: 10_000,
      successRateMinimumHosts: 3,
      successRateRequestVolume: 20,
      successRateStdevFactor: 1.9,
    },
    idempotentMethods: [],
  };
}

/** What `hedgingPolicy: {}` (or `true`) means. */
export function defaultHedgingPolicy(): HedgingPolicyConfig {
  return {
    maxAttempts: 3,
    hedgingDelayMs: "auto",
    percentile: 95,
    minDelayMs: 5,
    nonFatalStatusCodes: [Code.UNAVAILABLE],
  };
}

/** A section written as `false` is off, `true` or absent is on with defaults, a mapping is on with overrides. */
function section<T extends object>(value: boolean | T | undefined): { enabled: boolean; set: Partial<T> } {
  if (value === false) return { enabled: false, set: {} };
  if (value === true || value === undefined) return { enabled: true, set: {} };
  return { enabled: true, set: value };
}

const ms = (value: DurationInput | undefined, fallback: number) =>
  value === undefined ? fallback : parseDuration(value);

function codes(names: readonly string[] | undefined, fallback: number[]): number[] {
  if (names === undefined) return fallback;
  const out = names.map((n) => {
    const code = parseCodeName(n);
    if (code === undefined)
      throw new Error(`internal: status code ${JSON.stringify(n)} was not validated before normalizing`);
    return code as number;
  });
  // "UNAVAILABLE" and "unavailable" are one code; keep the first, in order.
  return [...new Set(out)];
}

/**
 * The resilience part of a cluster. Trusts input that passed the schema and
 * semantic checks (durations parse, status code names are known).
 */
export function normalizeResilience(c: ClusterInput): ResilienceConfig {
  const d = defaultResilience();
  const cb = section(c.circuitBreaker);
  const rp = section(c.retryPolicy);
  const hc = section(c.healthCheck);
  const od = section(c.outlierDetection);
  const rb = c.retryBudget ?? {};
  const baseEjectionTimeMs = ms(od.set.baseEjectionTime, d.outlierDetection.baseEjectionTimeMs);
  return {
    balancer: c.balancer ?? d.balancer,
    hashOn: c.hashOn ? { header: c.hashOn.header.toLowerCase() } : d.hashOn,
    overprovisioningFactor: c.overprovisioningFactor ?? d.overprovisioningFactor,
    slowStartMs: ms(c.slowStart, d.slowStartMs),
    circuitBreaker: {
      enabled: cb.enabled,
      errorThresholdPercentage: cb.set.errorThresholdPercentage ?? d.circuitBreaker.errorThresholdPercentage,
      volumeThreshold: cb.set.volumeThreshold ?? d.circuitBreaker.volumeThreshold,
      rollingWindowMs: ms(cb.set.rollingWindow, d.circuitBreaker.rollingWindowMs),
      resetTimeoutMs: ms(cb.set.resetTimeout, d.circuitBreaker.resetTimeoutMs),
      maxInFlight: cb.set.maxInFlight ?? d.circuitBreaker.maxInFlight,
    },
    retryPolicy: {
      enabled: rp.enabled,
      maxAttempts: rp.set.maxAttempts ?? d.retryPolicy.maxAttempts,
      initialBackoffMs: ms(rp.set.initialBackoff, d.retryPolicy.initialBackoffMs),
      maxBackoffMs: ms(rp.set.maxBackoff, d.retryPolicy.maxBackoffMs),
      backoffMultiplier: rp.set.backoffMultiplier ?? d.retryPolicy.backoffMultiplier,
      retryableStatusCodes: codes(rp.set.retryableStatusCodes, d.retryPolicy.retryableStatusCodes),
      maxReplayBytes: rp.set.maxReplayBytes ?? d.retryPolicy.maxReplayBytes,
    },
    hedgingPolicy: normalizeHedging(c.hedgingPolicy),
    retryBudget: {
      percent: rb.percent ?? d.retryBudget.percent,
      minRetriesPerSecond: rb.minRetriesPerSecond ?? d.retryBudget.minRetriesPerSecond,
    },
    healthCheck: {
      enabled: hc.enabled,
      intervalMs: ms(hc.set.interval, d.healthCheck.intervalMs),
      timeoutMs: ms(hc.set.timeout, d.healthCheck.timeoutMs),
      unhealthyThreshold: hc.set.unhealthyThreshold ?? d.healthCheck.unhealthyThreshold,
      healthyThreshold: hc.set.healthyThreshold ?? d.healthCheck.healthyThreshold,
      service: hc.set.service ?? d.healthCheck.service,
    },
    outlierDetection: {
      enabled: od.enabled,
      consecutiveFailures: od.set.consecutiveFailures ?? d.outlierDetection.consecutiveFailures,
      baseEjectionTimeMs,
      // Envoy's rule: unset, the cap is at least the base, so raising only the
      // base does not silently cap every ejection below what was asked for.
      maxEjectionTimeMs: ms(od.set.maxEjectionTime, Math.max(d.outlierDetection.maxEjectionTimeMs, baseEjectionTimeMs)),
      maxEjectionPercent: od.set.maxEjectionPercent ?? d.outlierDetection.maxEjectionPercent,
      intervalMs: ms(od.set.interval, d.outlierDetection.intervalMs),
      successRateMinimumHosts: od.set.successRateMinimumHosts ?? d.outlierDetection.successRateMinimumHosts,
      successRateRequestVolume: od.set.successRateRequestVolume ?? d.outlierDetection.successRateRequestVolume,
      successRateStdevFactor: od.set.successRateStdevFactor ?? d.outlierDetection.successRateStdevFactor,
    },
    idempotentMethods: [...new Set(c.idempotentMethods ?? d.idempotentMethods)],
  };
}

function normalizeHedging(value: ClusterInput["hedgingPolicy"]): HedgingPolicyConfig | undefined {
  // Absent means off here, unlike the other sections.
  if (value === undefined || value === false) return undefined;
  const set = value === true ? {} : value;
  const d = defaultHedgingPolicy();
  return {
    maxAttempts: set.maxAttempts ?? d.maxAttempts,
    hedgingDelayMs:
      set.hedgingDelay === undefined || set.hedgingDelay === "auto"
        ? d.hedgingDelayMs
        : parseDuration(set.hedgingDelay),
    percentile: set.percentile ?? d.percentile,
    minDelayMs: ms(set.minDelay, d.minDelayMs),
    nonFatalStatusCodes: codes(set.nonFatalStatusCodes, d.nonFatalStatusCodes),
  };
}
