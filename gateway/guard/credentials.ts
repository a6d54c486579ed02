import type { JWTPayload } from "jose";
import type { Metadata } from "../call/metadata.js";

// What a call carries as proof and what a verified token says: the token's
// header, and claims read by name for headers, checks and rate limit keys.

/**
 * The token in `header`: "Bearer <token>" in authorization (RFC 6750; the
 * scheme is case-insensitive), the bare value (or a Bearer one) in any other
 * header. undefined when there is none; "" when the header is there but
 * holds no usable token (sent twice, another scheme, empty), which is
 * answered as a bad token.
 */
export function tokenFrom(md: Metadata, header: string): string | undefined {
  const v = md[header];
  if (v === undefined) return undefined;
  if (typeof v !== "string") return "";
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(v);
  if (m) return m[1];
  if (header === "authorization") return "";
  const bare = v.trim();
  return /\s/.test(bare) ? "" : bare;
}

/** A claim by name; "a.b" reaches into nested objects when no claim is literally named so. */
export function claimOf(claims: JWTPayload, name: string): unknown {
  if (name in claims) return claims[name];
  let here: unknown = claims;
  for (const part of name.split(".")) {
    if (here === null || typeof here !== "object" || Array.isArray(here)) return undefined;
    here = (here as Record<string, unknown>)[part];
  }
  return here;
}

/** What a header (gRPC ASCII metadata) can carry; Node refuses to send much else. */
const HEADER_TEXT = /^[\x20-\x7e]*$/;

/**
 * A claim as one header value: strings as they are, numbers and booleans
 * as text, a list of those joined with commas (as Envoy's claim_to_headers
 * does). Objects, and text that is not printable ASCII, are not sent.
 */
export function claimText(value: unknown): string | undefined {
  if (typeof value === "string") return HEADER_TEXT.test(value) ? value : undefined;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) {
    const parts = value.map(claimText);
    return parts.every((p): p is string => p !== undefined && !p.includes(",")) ? parts.join(",") : undefined;
  }
  return undefined;
}

/**
 * Whether a claim holds one of `allowed`: equal to it, or, for a list or a
 * space-separated string (OAuth's `scope`), containing it.
 */
export function claimAllows(value: unknown, allowed: readonly string[]): boolean {
  const held = Array.isArray(value)
    ? value.filter((v): v is string => typeof v === "string")
    : typeof value === "string"
      ? [value, ...value.split(" ")]
      : typeof value === "number" || typeof value === "boolean"
        ? [String(value)]
        : [];
  return allowed.some((a) => held.includes(a));
}
