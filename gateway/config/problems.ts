// A problem is one thing wrong with a config, anchored to the path of the
// offending value so the user can find it without line numbers.

export type PathSegment = string | number;

export interface Problem {
  /** e.g. `clusters.echo.endpoints[1].address`; empty for the document itself. */
  path: string;
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const MAX_VALUE_CHARS = 60;

/** `["clusters", "echo", "endpoints", 1]` -> `clusters.echo.endpoints[1]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (PLAIN_KEY.test(s)) out += out === "" ? s : `.${s}`;
    // Keys like "a.b" would read as two levels; bracket them to stay unambiguous.
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Short, JSON-like rendering of an offending value for messages. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "(missing)";
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  const json = safeJson(value);
  return json.length > MAX_VALUE_CHARS ? `${json.slice(0, MAX_VALUE_CHARS - 1)}…` : json;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function problemAt(segments: readonly PathSegment[], message: string): Problem {
  return { path: formatPath(segments), message };
}

export function formatProblem(p: Problem): string {
  return p.path === "" ? p.message : `${p.path}: ${p.message}`;
}

/**
 * Semantic checks run even when the schema failed (to report everything at
 * once), so they can restate a schema complaint about the same value; keep
 * the first complaint per path and identical messages only once.
 */
export function mergeProblems(first: readonly Problem[], later: readonly Problem[]): Problem[] {
  const seenPaths = new Set(first.map((p) => p.path));
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const p of [...first, ...later.filter((q) => !seenPaths.has(q.path))]) {
    const key = formatProblem(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}
