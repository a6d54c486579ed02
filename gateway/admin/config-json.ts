import type { GatewayConfig } from "../config/types.js";

export const REDACTED = "[REDACTED]";

// Names whose values are secrets wherever they appear, compared without case,
// dashes or underscores: TLS keys, API keys, tokens, passwords, credentials,
// authorization headers, cookies. Config keys other parts of the gateway add
// later are covered by their names, as long as the names say what they hold.
const SECRET_NAME = /key$|keys$|token|passw|passphrase|secret|credential|authorization|cookie|bearer/;

/** scheme://user:password@host... */
const USERINFO_URL = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/i;

/**
 * The effective config as JSON for the admin API, with secrets replaced by
 * "[REDACTED]": values under secret-sounding names, any PEM private key, the
 * user info of any URL. Returns the JSON and the paths it redacted. Maps
 * become objects; bytes (descriptor sets) show their size only.
 */
export function redactedConfigJson(config: GatewayConfig): { json: string; redacted: string[] } {
  const redacted: string[] = [];
  const value = redact(config, "", redacted);
  return { json: JSON.stringify(value), redacted };
}

function redact(v: unknown, path: string, redacted: string[]): unknown {
  if (typeof v === "string") return redactString(v, path, redacted);
  if (v === null || typeof v !== "object") return v;
  if (v instanceof Uint8Array) return `<${v.byteLength} bytes>`;
  if (Array.isArray(v)) return v.map((x, i) => redact(x, `${path}[${i}]`, redacted));
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v);
  const out: Record<string, unknown> = {};
  for (const [k, x] of entries) {
    const key = String(k);
    const at = path ? `${path}.${key}` : key;
    if (x === undefined) continue;
    // A flag says nothing secret, whatever it is called.
    if (isSecretName(key) && typeof x !== "boolean" && x !== null && x !== "") {
      redacted.push(at);
      out[key] = REDACTED;
    } else out[key] = redact(x, at, redacted);
  }
  return out;
}

function redactString(s: string, path: string, redacted: string[]): string {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(s) || /^bearer\s/i.test(s)) {
    redacted.push(path);
    return REDACTED;
  }
  const m = USERINFO_URL.exec(s);
  if (m) {
    redacted.push(path);
    return `${m[1]}${REDACTED}@${s.slice(m[0].length)}`;
  }
  return s;
}

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name.toLowerCase().replace(/[-_]/g, ""));
}
