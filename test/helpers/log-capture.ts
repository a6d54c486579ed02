import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../gateway/observe/logger.js";
import { logLines, type LogLine } from "./log-lines.js";

/** A gateway logger whose JSON lines a test reads back. */
export function capturedLogger(level: Parameters<typeof createLogger>[0] = "info"): {
  log: Logger;
  lines(): LogLine[];
} {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString("utf8");
      done();
    },
  });
  return { log: createLogger(level, sink), lines: () => logLines(text) };
}
