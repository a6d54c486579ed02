import { Code } from "@connectrpc/connect";

/**
 * Parses a Connect ("unavailable", "not_found") or gRPC ("NOT_FOUND") code
 * name. Operators copy codes from either vocabulary, and both reduce to the
 * enum key once separators and case are ignored.
 */
export function parseCode(text: string): Code | undefined {
  const wanted = text.trim().replace(/_/g, "").toLowerCase();
  for (const [key, value] of Object.entries(Code)) {
    if (typeof value === "number" && key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The Connect wire name of a code, e.g. Code.NotFound -> "not_found". */
export function codeName(code: Code): string {
  return Code[code].replace(/(?<=[a-z])([A-Z])/g, "_$1").toLowerCase();
}
