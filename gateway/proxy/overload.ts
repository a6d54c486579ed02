import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { Code, type Status } from "../call/status.js";
import type { OverloadConfig } from "../config/types.js";

/** How often the guard looks; the event-loop delay is the 99th percentile of this window. */
const CHECK_INTERVAL_MS = 500;

/**
 * The overload guard (Envoy's overload manager, reduced to what a Node
 * process can measure): while the event loop lags past maxEventLoopDelay,
 * or the V8 heap or the resident set is past its watermark, new calls are
 * refused with UNAVAILABLE and a retry pushback instead of being taken on
 * by a process that is about to fall over. Calls in flight carry on.
 *
 * It is measured on a timer, not per call: a call reads one field.
 */
export class OverloadGuard {
  /** Why the gateway counts as overloaded now; undefined when it does not. */
  private why: string | undefined;
  private readonly delay: IntervalHistogram;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly settings: () => OverloadConfig,
    private readonly measure: () => Measures = measureProcess,
  ) {
    this.delay = monitorEventLoopDelay({ resolution: 10 });
    this.delay.enable();
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** The status to refuse a new call with, and how long to ask the client to wait; undefined: take it. */
  refusal(): { status: Status; pushbackMs: number } | undefined {
    if (this.why === undefined) return undefined;
    const pushbackMs = this.settings().retryPushbackMs;
    return {
      status: {
        code: Code.UNAVAILABLE,
        message: `gateway overloaded (${this.why}): retry in ${pushbackMs} ms`,
        details: [],
      },
      pushbackMs,
    };
  }

  /** Looks now (the timer's job; tests call it too). */
  check(): void {
    const s = this.settings();
    const delayMs = this.delay.count > 0 ? this.delay.percentile(99) / 1e6 : 0;
    this.delay.reset();
    this.why = s.enabled ? overloadReason(s, { ...this.measure(), eventLoopDelayMs: delayMs }) : undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.delay.disable();
  }
}

export interface Measures {
  heapUsedBytes: number;
  heapLimitBytes: number;
  rssBytes: number;
}

function measureProcess(): Measures {
  const h = getHeapStatistics();
  return { heapUsedBytes: h.used_heap_size, heapLimitBytes: h.heap_size_limit, rssBytes: process.memoryUsage.rss() };
}

/** Which threshold the process is past, in words; undefined when none. */
export function overloadReason(s: OverloadConfig, m: Measures & { eventLoopDelayMs: number }): string | undefined {
  if (s.maxEventLoopDelayMs > 0 && m.eventLoopDelayMs > s.maxEventLoopDelayMs)
    return `event loop delay ${Math.round(m.eventLoopDelayMs)} ms > overload.maxEventLoopDelay ${s.maxEventLoopDelayMs} ms`;
  const heapPercent = (100 * m.heapUsedBytes) / m.heapLimitBytes;
  if (s.maxHeapPercent > 0 && heapPercent > s.maxHeapPercent)
    return `heap ${heapPercent.toFixed(1)}% of its limit > overload.maxHeapPercent ${s.maxHeapPercent}%`;
  if (s.maxRssBytes > 0 && m.rssBytes > s.maxRssBytes)
    return `resident memory ${m.rssBytes} bytes > overload.maxRssBytes ${s.maxRssBytes}`;
  return undefined;
}
