import type { Logger } from "pino";
import type { ClusterEventFacts } from "../cluster/endpoint-set.js";

// The gateway's events as structured log lines: the message a person reads,
// and the facts a log query filters on (`event`, `cluster`, `endpoint`, ...).

/** Endpoint health, breaker, ejection and discovery changes; a loss of capacity is a warning. */
export function logClusterEvent(log: Logger, message: string, facts: ClusterEventFacts): void {
  const worse =
    (facts.event === "health" && facts.state === "unhealthy") ||
    (facts.event === "breaker" && facts.state === "open") ||
    facts.event === "ejection" ||
    (facts.event === "discovery" && (facts.state === "failing" || facts.state === "skipped"));
  if (worse) log.warn(facts, message);
  else log.info(facts, message);
}

/** What a reload came to (snapshot/reload.ts's ReloadResult, as far as a log line needs it). */
export interface ReloadOutcome {
  status: "reloaded" | "unchanged" | "rejected";
  changed: string[];
  problems: string[];
  notes: string[];
}

/** A reload's outcome; a rejected one is an error (the old config keeps serving). */
export function logReload(log: Logger, result: ReloadOutcome, trigger: string, message: string): void {
  const facts = {
    event: "reload",
    trigger,
    status: result.status,
    changed: result.changed,
    problems: result.problems,
    notes: result.notes,
  };
  if (result.status === "rejected") log.error(facts, message);
  else log.info(facts, message);
}
