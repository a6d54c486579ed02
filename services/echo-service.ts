import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { EchoService } from "../gen/acme/echo/v1/echo_pb.js";
import { sleep, throwIfAborted } from "./abort.js";
import { applyFaults, type Faults } from "./faults.js";
import { createStats, type EchoMethod, type EchoStats } from "./stats.js";
import { applyTestHeaders } from "./test-headers.js";

export interface EchoServiceOptions {
  /** Put into every response so callers can see which replica answered. */
  name: string;
  /** Read on every call, so mutating it changes a running replica. */
  faults: Faults;
  /** Where calls are counted; a fresh one when not given. */
  stats?: EchoStats;
}

export interface EchoServiceHandle {
  impl: ServiceImpl<typeof EchoService>;
  stats: EchoStats;
}

export function createEchoService(opts: EchoServiceOptions): EchoServiceHandle {
  const { name, faults } = opts;
  const stats = opts.stats ?? createStats();

  // Every RPC passes the same gate before doing real work, so a fault or a
  // test header behaves identically whatever the method's streaming shape.
  async function admit(method: EchoMethod, ctx: HandlerContext): Promise<void> {
    stats.calls[method]++;
    await applyFaults(faults, name, ctx.signal);
    applyTestHeaders(ctx, name);
  }

  const impl: ServiceImpl<typeof EchoService> = {
    async echo(req, ctx) {
      // Read before any injected latency eats into it: the header reports the
      // deadline the gateway propagated, not what was left after our delay.
      const remainingMs = ctx.timeoutMs();
      if (remainingMs !== undefined) {
        ctx.responseHeader.set("x-echo-timeout-ms", String(remainingMs));
      }
      await admit("Echo", ctx);
      return { message: req.message, replica: name };
    },

    async *count(req, ctx) {
      await admit("Count", ctx);
      try {
        for (let n = 1; n <= req.count; n++) {
          if (n > 1 && req.intervalMs > 0) {
            await sleep(req.intervalMs, ctx.signal);
          }
          // With interval 0 there is no sleep to notice the cancellation.
          throwIfAborted(ctx.signal);
          yield { n, replica: name };
        }
      } catch (err) {
        if (ctx.signal.aborted) stats.cancelled++;
        throw err;
      }
    },

    async sum(requests, ctx) {
      await admit("Sum", ctx);
      let total = 0n;
      for await (const req of requests) {
        total += req.value;
      }
      return { total, replica: name };
    },

    async *chat(requests, ctx) {
      await admit("Chat", ctx);
      for await (const req of requests) {
        yield { message: req.message, replica: name };
      }
    },

    async write(_req, ctx) {
      await admit("Write", ctx);
      // Counted only once admitted: a write that failed by injection never
      // happened, which is exactly what retry-safety tests need to observe.
      stats.writes++;
      return { version: BigInt(stats.writes), replica: name };
    },
  };

  return { impl, stats };
}
