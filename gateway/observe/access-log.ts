import type { Logger } from "pino";
import { type CallRecord, type CallSink, codeName } from "./observer.js";

/**
 * One structured line per call, when it ends (Envoy's access log, as JSON):
 * what was called and how, what the client got, what it took upstream.
 */
export class AccessLog implements CallSink {
  constructor(private readonly log: Logger) {}

  ended(c: CallRecord): void {
    const line: Record<string, unknown> = {
      event: "call",
      protocol: c.protocol,
      method: c.path,
      code: codeName(c.code),
      durationMs: Math.round(c.durationMs * 1000) / 1000,
      cluster: c.cluster,
      attempts: c.attempts,
      endpoints: c.endpoints ?? [],
      messagesIn: c.received,
      messagesOut: c.sent,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      peer: peerOf(c),
    };
    if (c.traceId !== undefined) line.traceId = c.traceId;
    this.log.info(line, "call");
  }
}

function peerOf(c: CallRecord): string | undefined {
  const a = c.peerAddress;
  if (a === undefined) return undefined;
  return a.includes(":") ? `[${a}]:${c.peerPort}` : `${a}:${c.peerPort}`;
}
