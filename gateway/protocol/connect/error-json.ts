import {
  Code,
  type Detail,
  type Status,
  codeToConnectName,
  connectNameToCode,
  httpStatusToCode,
} from "../../call/status.js";
import type { Metadata } from "../../call/metadata.js";

const b64 = (v: Uint8Array) => Buffer.from(v).toString("base64").replace(/=+$/, "");

/** A Connect error body: details carry unpadded base64 (Connect protocol spec). */
export function statusToErrorJson(status: Status): Record<string, unknown> {
  const out: Record<string, unknown> = { code: codeToConnectName(status.code) };
  if (status.message) out.message = status.message;
  if (status.details.length > 0) {
    out.details = status.details.map((d) => {
      const j: Record<string, unknown> = { type: d.type, value: b64(d.value) };
      if (d.debug !== undefined) j.debug = d.debug;
      return j;
    });
  }
  return out;
}

export function statusFromErrorJson(json: unknown, fallback: Code, label: string): Status {
  if (typeof json !== "object" || json === null) {
    return { code: fallback, message: `${label} sent an error without a JSON body`, details: [] };
  }
  const j = json as Record<string, unknown>;
  const code = j.code === undefined ? fallback : connectNameToCode(j.code);
  const message = typeof j.message === "string" ? j.message : "";
  const details: Detail[] = [];
  if (Array.isArray(j.details)) {
    for (const d of j.details) {
      if (typeof d?.type === "string" && typeof d?.value === "string") {
        details.push({ type: d.type, value: Buffer.from(d.value, "base64"), debug: d.debug });
      }
    }
  }
  return { code: code === Code.OK ? Code.UNKNOWN : code, message, details };
}

/** End-of-stream message of Connect streaming: {error?, metadata?}. */
export function endStreamJson(status: Status, trailers: Metadata): Uint8Array {
  const out: Record<string, unknown> = {};
  if (status.code !== Code.OK) out.error = statusToErrorJson(status);
  const md: Record<string, string[]> = {};
  let any = false;
  for (const k in trailers) {
    const v = trailers[k];
    md[k] = Array.isArray(v) ? v : [v];
    any = true;
  }
  if (any) out.metadata = md;
  return Buffer.from(JSON.stringify(out));
}

export function parseEndStream(data: Uint8Array, label: string): { status: Status; trailers: Metadata } {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    return {
      status: { code: Code.INTERNAL, message: `${label} sent an invalid end-of-stream message`, details: [] },
      trailers: {},
    };
  }
  const j = (json ?? {}) as { error?: unknown; metadata?: Record<string, unknown> };
  const trailers: Metadata = {};
  if (j.metadata && typeof j.metadata === "object") {
    for (const [k, v] of Object.entries(j.metadata)) {
      if (Array.isArray(v)) trailers[k.toLowerCase()] = v.map(String);
    }
  }
  const status =
    j.error === undefined || j.error === null
      ? { code: Code.OK, message: "", details: [] }
      : statusFromErrorJson(j.error, Code.UNKNOWN, label);
  return { status, trailers };
}

/**
 * The status of a non-200 Connect response: its JSON error body when it has
 * one, else a code from the HTTP status (which is kept, so a plain 404 from
 * the upstream stays a 404 for Connect unary clients).
 */
export function statusFromHttpError(httpStatus: number, body: Uint8Array, label: string): Status {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    // not a Connect error body
  }
  const status = statusFromErrorJson(json, httpStatusToCode(httpStatus), label);
  if (json === undefined) {
    status.message = `${label} answered HTTP ${httpStatus}`;
    status.httpStatus = httpStatus;
  }
  return status;
}
