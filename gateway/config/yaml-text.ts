import { parseDocument, type YAMLError } from "yaml";
import type { Problem } from "./problems.js";

export type YamlResult = { ok: true; value: unknown } | { ok: false; problems: Problem[] };

// Aliases are handy for sharing cluster settings, but unbounded expansion is
// the classic "billion laughs" blow-up; a config never needs this many.
const MAX_ALIAS_COUNT = 1000;

/**
 * Parses one YAML document. Syntax errors come back as problems with
 * line:column, because the document structure (and so any config path) is
 * unreliable once the parser has had to recover.
 */
export function parseYamlText(text: string): YamlResult {
  // `merge` enables `<<: *defaults`, the usual way to share cluster settings.
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map(describeYamlError) };
  try {
    return { ok: true, value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    return { ok: false, problems: [{ path: "", message: `YAML error: ${(err as Error).message}` }] };
  }
}

function describeYamlError(err: YAMLError): Problem {
  const pos = err.linePos?.[0];
  const where = pos ? ` at line ${pos.line}:${pos.col}` : "";
  return { path: "", message: `YAML syntax error${where}: ${shortMessage(err)}` };
}

function shortMessage(err: YAMLError): string {
  // The library's own wording suggests an API call, which means nothing to a config author.
  if (err.code === "MULTIPLE_DOCS") return "the file contains more than one YAML document (remove the extra ---)";
  // prettyErrors appends " at line L, column C:" and a source excerpt; we print the position ourselves.
  const first = err.message.split("\n")[0] ?? err.message;
  return first.replace(/ at line \d+, column \d+:?$/, "");
}
