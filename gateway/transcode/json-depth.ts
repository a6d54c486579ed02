/**
 * Whether JSON text nests objects and arrays deeper than `max`, found by one
 * pass over its bytes (brackets inside strings do not count), before any
 * parser builds it: the decoder recurses once per level (google.protobuf.Struct
 * and Value, recursive messages), so depth is what turns a small request into
 * a deep stack and a long parse. Malformed text is the parser's to refuse.
 */
export function jsonDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
