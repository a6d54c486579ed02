import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "../gen/acme/echo/v1/echo_pb.js";
import type { Faults } from "./faults.js";
import { untilAborted } from "./abort.js";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../gen/grpc/health/v1/health_pb.js";

export interface HealthServiceHandle {
  impl: ServiceImpl<typeof Health>;
  /** Flip the replica between SERVING and NOT_SERVING; watchers hear at once. */
  setServing(serving: boolean): void;
  isServing(): boolean;
}

/**
 * grpc.health.v1.Health for one replica. "" asks about the server as a whole;
 * every service it hosts shares that status.
 */
export function createHealthService(
  faults?: Faults,
  services: readonly string[] = [EchoService.typeName],
): HealthServiceHandle {
  const known = new Set(["", ...services]);
  let serving = true;
  // Watchers wait for "something changed" and then re-read the status, so a
  // burst of flips collapses into the latest value instead of queueing.
  const waiters = new Set<() => void>();

  const current = () => (serving ? Status.SERVING : Status.NOT_SERVING);

  function setServing(next: boolean): void {
    if (next === serving) return;
    serving = next;
    for (const wake of [...waiters]) wake();
  }

  function nextChange(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      const wake = () => {
        waiters.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      waiters.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  const impl: ServiceImpl<typeof Health> = {
    async check(req, ctx) {
      // A hung process answers nothing, health checks included: that is how
      // a gateway's active checks find it.
      if (faults?.hang) await untilAborted(ctx.signal);
      if (!known.has(req.service)) {
        throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      }
      return { status: current() };
    },

    async *watch(req, ctx) {
      // The health protocol asks Watch not to fail for unknown services: the
      // service might be registered later, so report SERVICE_UNKNOWN and stay.
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        while (!ctx.signal.aborted) await nextChange(ctx.signal);
        return;
      }
      let last = current();
      yield { status: last };
      while (!ctx.signal.aborted) {
        await nextChange(ctx.signal);
        if (ctx.signal.aborted) return;
        if (current() !== last) {
          last = current();
          yield { status: last };
        }
      }
    },
  };

  return { impl, setServing, isServing: () => serving };
}
