import type { ErrorObject } from "ajv";
import { formatValue, problemAt, type PathSegment, type Problem } from "./problems.js";
import { closestMatch } from "./suggest.js";

// Ajv's own messages ("must be equal to one of the allowed values") name
// neither the value nor the fix; these rebuild them from the schema, using
// the same errorMessage / patternErrorMessage annotations editors show.

type SchemaNode = {
  properties?: Record<string, SchemaNode>;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  errorMessage?: string;
  patternErrorMessage?: string;
};

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  integer: "an integer",
  boolean: "true or false",
  object: "a mapping",
  array: "a list",
  null: "null",
};

/** One Problem per ajv error (ajv must run with `verbose: true`); undefined for redundant wrapper errors. */
export function describeSchemaError(err: ErrorObject, root: unknown): Problem | undefined {
  const at = pointerToSegments(err.instancePath, root);
  const node = (err.parentSchema ?? {}) as SchemaNode;
  const value: unknown = err.data;
  const params = err.params as Record<string, unknown>;

  if (err.propertyName !== undefined) {
    // A propertyNames failure: the key itself is the offending value.
    const hint = node.patternErrorMessage ?? err.message ?? "is not allowed";
    return problemAt([...at, err.propertyName], `${formatValue(err.propertyName)} ${hint}`);
  }
  switch (err.keyword) {
    case "propertyNames":
      return undefined; // already reported by the nested error above
    case "required":
      return problemAt([...at, String(params.missingProperty)], `is required${enumHint(node, params.missingProperty)}`);
    case "dependencies":
      return problemAt([...at, String(params.missingProperty)], `is required when ${String(params.property)} is set`);
    case "additionalProperties":
      return unknownKey([...at, String(params.additionalProperty)], String(params.additionalProperty), node);
    case "pattern":
      return problemAt(
        at,
        `${formatValue(value)} ${node.patternErrorMessage ?? `must match ${String(params.pattern)}`}`,
      );
  }
  if (node.errorMessage) return problemAt(at, `${formatValue(value)} ${node.errorMessage}`);
  return problemAt(at, `${formatValue(value)} ${genericMessage(err, node)}`);
}

function genericMessage(err: ErrorObject, node: SchemaNode): string {
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case "type":
      return `must be ${[params.type]
        .flat()
        .map((t) => TYPE_WORDS[String(t)] ?? String(t))
        .join(" or ")}`;
    case "enum":
      return `must be one of ${(node.enum ?? []).map(String).join(", ")}`;
    case "minimum":
    case "maximum":
      return node.minimum !== undefined && node.maximum !== undefined
        ? `must be between ${node.minimum} and ${node.maximum}`
        : `must be ${err.keyword === "minimum" ? "at least" : "at most"} ${String(params.limit)}`;
    case "exclusiveMinimum":
      return `must be greater than ${String(params.limit)}`;
    case "exclusiveMaximum":
      return `must be less than ${String(params.limit)}`;
    case "minLength":
      return "must not be empty";
    default:
      return err.message ?? `is invalid (${err.keyword})`;
  }
}

function enumHint(node: SchemaNode, key: unknown): string {
  const allowed = node.properties?.[String(key)]?.enum;
  return allowed ? ` (one of ${allowed.map(String).join(", ")})` : "";
}

function unknownKey(at: PathSegment[], key: string, node: SchemaNode): Problem {
  const allowed = Object.keys(node.properties ?? {});
  const guess = closestMatch(key, allowed);
  const hint = guess ? `did you mean ${guess}?` : `allowed: ${allowed.join(", ")}`;
  return problemAt(at, `unknown key (${hint})`);
}

/**
 * JSON Pointer -> path segments. Whether "1" is an array index or a mapping
 * key depends on the data, so walk it alongside.
 */
export function pointerToSegments(pointer: string, root: unknown): PathSegment[] {
  if (pointer === "") return [];
  const out: PathSegment[] = [];
  let here: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(here)) {
      out.push(Number(key));
      here = here[Number(key)];
    } else {
      out.push(key);
      here = here !== null && typeof here === "object" ? (here as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}
