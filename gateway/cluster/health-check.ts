import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import type { CallHead } from "../call/call.js";
import { Cancel } from "../call/cancel.js";
import { Deadline } from "../call/deadline.js";
import { CallError, Code, type Status } from "../call/status.js";
import type { HealthCheckConfig } from "../config/types.js";
import { callUpstream } from "../protocol/outbound.js";
import type { HttpTransport } from "../transport/contract.js";
import {
  HealthCheckRequestSchema,
  HealthCheckResponseSchema,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";

// A health answer is one tiny message; anything bigger is not a health answer.
const MAX_BYTES = 64 * 1024;

export interface HealthTarget {
  transport: HttpTransport;
  protocol: "grpc" | "connect" | "grpc-web";
  label: string;
}

/** One check's verdict; `reason` says what went wrong when !ok. */
interface Verdict {
  ok: boolean;
  reason: string;
}

/**
 * Active health checks with grpc.health.v1.Health/Check, Envoy-style:
 * `unhealthyThreshold` consecutive failures take the endpoint out,
 * `healthyThreshold` consecutive successes bring it back.
 */
export class HealthChecker {
  // Starts healthy so a freshly started gateway serves at once instead of
  // refusing every call until the first checks pass; the first check runs
  // immediately, and breakers and outlier detection cover the calls that
  // reach a dead endpoint before the checks catch up.
  private isHealthy = true;
  private failures = 0;
  private successes = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Cancel | undefined;
  /** Bumped by start() and stop(), so a check that outlives a stop/start pair is ignored. */
  private generation = 0;
  private running = false;

  constructor(
    private readonly target: HealthTarget,
    private readonly cfg: HealthCheckConfig,
    private readonly onChange: (healthy: boolean, reason: string) => void,
  ) {}

  get healthy(): boolean {
    return this.isHealthy;
  }

  /** First check at once, then one every intervalMs after the previous ended (checks never overlap). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.tick(++this.generation);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight?.cancel();
  }

  private async tick(generation: number): Promise<void> {
    const verdict = await this.check();
    // stop() during the check: its result belongs to nobody.
    if (generation !== this.generation) return;
    this.record(verdict);
    this.timer = setTimeout(() => void this.tick(generation), this.cfg.intervalMs);
    this.timer.unref();
  }

  private record(v: Verdict): void {
    if (v.ok) {
      this.failures = 0;
      this.successes++;
      if (!this.isHealthy && this.successes >= this.cfg.healthyThreshold) {
        this.isHealthy = true;
        this.onChange(true, `health check passed ${this.successes} time${this.successes === 1 ? "" : "s"} in a row`);
      }
    } else {
      this.successes = 0;
      this.failures++;
      if (this.isHealthy && this.failures >= this.cfg.unhealthyThreshold) {
        this.isHealthy = false;
        this.onChange(
          false,
          `health check failed ${this.failures} time${this.failures === 1 ? "" : "s"} in a row: ${v.reason}`,
        );
      }
    }
  }

  /** One Health/Check call; never throws. */
  private async check(): Promise<Verdict> {
    const { transport, protocol, label } = this.target;
    const cancel = new Cancel();
    this.inFlight = cancel;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.cancel();
    }, this.cfg.timeoutMs);
    timer.unref();
    const head: CallHead = {
      path: "/grpc.health.v1.Health/Check",
      service: "grpc.health.v1.Health",
      method: "Check",
      kind: "unary",
      codec: "proto",
      metadata: {},
      timeoutMs: this.cfg.timeoutMs,
    };
    const request = toBinary(HealthCheckRequestSchema, create(HealthCheckRequestSchema, { service: this.cfg.service }));
    let status: Status | undefined;
    let message: Uint8Array | undefined;
    try {
      const events = callUpstream(protocol, {
        head,
        transport,
        messages: (async function* () {
          yield request;
        })(),
        deadline: Deadline.after(this.cfg.timeoutMs),
        cancel,
        maxBytes: MAX_BYTES,
        // A probe is a few bytes: nothing to gain from the cluster's compression.
        compression: "identity",
        label,
      });
      for await (const ev of events) {
        if (ev.type === "message") message ??= ev.data;
        else if (ev.type === "end") status = ev.status;
      }
    } catch (err) {
      if (timedOut) return { ok: false, reason: `DEADLINE_EXCEEDED: no answer within ${this.cfg.timeoutMs} ms` };
      if (err instanceof CallError) return { ok: false, reason: `${Code[err.code]}: ${err.message}` };
      return { ok: false, reason: `INTERNAL: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      clearTimeout(timer);
      if (this.inFlight === cancel) this.inFlight = undefined;
    }
    if (timedOut) return { ok: false, reason: `DEADLINE_EXCEEDED: no answer within ${this.cfg.timeoutMs} ms` };
    return verdictOf(status, message);
  }
}

function verdictOf(status: Status | undefined, message: Uint8Array | undefined): Verdict {
  if (!status) return { ok: false, reason: "INTERNAL: the health check ended without a status" };
  // An upstream without the health service must not be ejected forever:
  // UNIMPLEMENTED means "cannot tell", and it answered, so it is up.
  if (status.code === Code.UNIMPLEMENTED) return { ok: true, reason: "" };
  if (status.code !== Code.OK) return { ok: false, reason: `${Code[status.code] ?? status.code}: ${status.message}` };
  if (!message) return { ok: false, reason: "INTERNAL: the health check answered OK without a message" };
  let serving: ServingStatus;
  try {
    serving = fromBinary(HealthCheckResponseSchema, message).status;
  } catch (err) {
    return { ok: false, reason: `INTERNAL: malformed HealthCheckResponse: ${(err as Error).message}` };
  }
  if (serving === ServingStatus.SERVING) return { ok: true, reason: "" };
  return { ok: false, reason: ServingStatus[serving] ?? `serving status ${serving}` };
}
