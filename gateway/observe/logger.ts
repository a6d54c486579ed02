import { pino, type DestinationStream, type Logger } from "pino";
import { PinoPretty } from "pino-pretty";
import type { LogLevel } from "../config/types.js";

export type { Logger };

/**
 * The gateway's logger (pino, which Fastify logs through too): JSON lines
 * with an ISO time and the level's name, or pino-pretty's colored lines
 * when stdout is a terminal. `to` replaces stdout (tests, embedders).
 */
export function createLogger(level: LogLevel = "info", to?: DestinationStream): Logger {
  if (!to && process.stdout.isTTY) {
    return pino({ level, base: undefined }, PinoPretty({ colorize: true, translateTime: "SYS:HH:MM:ss.l" }));
  }
  return pino(
    {
      level,
      // No pid or hostname in every line: the collector that ships the logs knows where they came from.
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    to ?? pino.destination({ dest: 1, sync: true }),
  );
}
