/** A structured log line as the gateway writes it (pino JSON). */
export type LogLine = Record<string, unknown> & { level: string; time: string; msg: string };

/** The JSON log lines in `text` (a process's stdout), in order; anything else is an error. */
export function logLines(text: string): LogLine[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}
