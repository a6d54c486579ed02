// Durations on the command line are written by people, so accept the forms
// they naturally type ("250ms", "2s") as well as a bare millisecond count.
const DURATION = /^(\d+(?:\.\d+)?)(ms|s)?$/;

/**
 * Parses "250ms", "2s", "1.5s" or "300" (milliseconds) into milliseconds.
 * Returns undefined for anything else, so callers decide how to complain.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const ms = match[2] === "s" ? value * 1000 : value;
  // Timers only have millisecond resolution; rounding keeps "0.0005s" honest.
  return Math.round(ms);
}
