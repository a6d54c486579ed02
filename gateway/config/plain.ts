/**
 * A copy of plain objects and arrays with `undefined`-valued keys removed.
 * Code-built configs write `{ tls: undefined }` where YAML would omit the
 * key, and the schema would otherwise reject that as a wrong type. Copying
 * also means later mutation by the caller cannot reach the loaded config.
 * Non-plain values (Maps, class instances) are kept as they are.
 */
export function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = withoutUndefined(v);
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
