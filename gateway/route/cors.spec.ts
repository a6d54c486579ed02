import { describe, expect, it } from "vitest";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";
import { Cors } from "./cors.js";

/** The part of a response Cors uses, recording what it does. */
class FakeResponse {
  status: number | undefined;
  head: Record<string, unknown> | undefined;
  body = "";
  ended = false;
  readonly set: Record<string, unknown> = {};
  writeHead(status: number, headers: Record<string, unknown>) {
    this.status = status;
    this.head = headers;
    return this;
  }
  end(chunk?: string) {
    this.body += chunk ?? "";
    this.ended = true;
  }
  setHeader(k: string, v: unknown) {
    this.set[k] = v;
  }
}

function exchange(method: string, headers: Record<string, string>) {
  const req = { method, url: "/a.S/M", headers } as unknown as ServerRequest;
  const res = new FakeResponse();
  return { req, res, r: res as unknown as ServerResponseLike };
}

describe("Cors.preflight", () => {
  const cors = new Cors({ allowedOrigins: ["https://app.example"], allowCredentials: false });

  it("leaves anything but OPTIONS alone", () => {
    const { req, res, r } = exchange("POST", { origin: "https://app.example" });
    expect(cors.preflight(req, r)).toBe(false);
    expect(res.status).toBeUndefined();
    expect(res.ended).toBe(false);
  });

  it("answers an allowed origin's preflight with 204, echoing the origin and the headers it asked for", () => {
    const { req, res, r } = exchange("OPTIONS", {
      origin: "https://app.example",
      "access-control-request-headers": "content-type, x-custom",
    });
    expect(cors.preflight(req, r)).toBe(true);
    expect(res.status).toBe(204);
    expect(res.head).toEqual({
      "access-control-allow-origin": "https://app.example",
      "access-control-allow-methods": "POST, GET, OPTIONS",
      "access-control-allow-headers": "content-type, x-custom",
      "access-control-max-age": "7200",
      vary: "Origin",
    });
    expect(res.ended).toBe(true);
  });

  it("allows the protocols' own headers when the preflight names none", () => {
    const { req, res, r } = exchange("OPTIONS", { origin: "https://app.example" });
    cors.preflight(req, r);
    const allowed = String(res.head?.["access-control-allow-headers"]).split(", ");
    expect(allowed).toEqual(
      expect.arrayContaining(["content-type", "connect-protocol-version", "grpc-timeout", "x-grpc-web"]),
    );
  });

  it("refuses another origin with 403, naming it", () => {
    const { req, res, r } = exchange("OPTIONS", { origin: "https://evil.example" });
    expect(cors.preflight(req, r)).toBe(true);
    expect(res.status).toBe(403);
    expect(res.body).toContain("https://evil.example");
    expect(res.head).not.toHaveProperty("access-control-allow-origin");
  });

  it("refuses an OPTIONS without an Origin as no preflight", () => {
    const { req, res, r } = exchange("OPTIONS", {});
    expect(cors.preflight(req, r)).toBe(true);
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/without an Origin/);
  });

  it("with '*' allows any origin, and echoes it rather than '*'", () => {
    const { req, res, r } = exchange("OPTIONS", { origin: "https://anything.example" });
    new Cors({ allowedOrigins: ["*"], allowCredentials: false }).preflight(req, r);
    expect(res.status).toBe(204);
    expect(res.head?.["access-control-allow-origin"]).toBe("https://anything.example");
  });
});

describe("Cors.decorate", () => {
  const cors = new Cors({ allowedOrigins: ["https://app.example"], allowCredentials: false });

  it("lets an allowed origin read the response and its status headers", () => {
    const { req, res, r } = exchange("POST", { origin: "https://app.example" });
    cors.decorate(req, r);
    expect(res.set["access-control-allow-origin"]).toBe("https://app.example");
    expect(res.set.vary).toBe("Origin");
    const exposed = String(res.set["access-control-expose-headers"]).split(", ");
    expect(exposed).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin", "connect-content-encoding"]),
    );
  });

  it("adds nothing for another origin or a request without one", () => {
    for (const headers of [{ origin: "https://evil.example" }, {}] as Record<string, string>[]) {
      const { req, res, r } = exchange("POST", headers);
      cors.decorate(req, r);
      expect(res.set).toEqual({});
    }
  });
});

const APP = "https://app.example";

function credentialedExchange(cors: Cors, method: string, origin: string | undefined) {
  const req = { method, headers: origin ? { origin } : {} } as unknown as ServerRequest;
  const seen: { status?: number; headers: Record<string, string> } = { headers: {} };
  const res = {
    writeHead(status: number, headers: Record<string, string>) {
      seen.status = status;
      Object.assign(seen.headers, headers);
      return this;
    },
    setHeader(name: string, value: string) {
      seen.headers[name] = value;
    },
    end() {},
  } as unknown as ServerResponseLike;
  const answered = method === "OPTIONS" ? cors.preflight(req, res) : (cors.decorate(req, res), false);
  return { answered, ...seen };
}

describe("Cors with allowCredentials", () => {
  const withCredentials = new Cors({ allowedOrigins: [APP], allowCredentials: true });
  const without = new Cors({ allowedOrigins: [APP], allowCredentials: false });

  it("with allowCredentials, allows credentials on preflights and responses, echoing the origin", () => {
    const pf = credentialedExchange(withCredentials, "OPTIONS", APP);
    expect(pf).toMatchObject({ answered: true, status: 204 });
    expect(pf.headers).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
    expect(credentialedExchange(withCredentials, "POST", APP).headers).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
  });

  it("never allows credentials by default, or to an origin it does not allow", () => {
    expect(credentialedExchange(without, "OPTIONS", APP).headers["access-control-allow-credentials"]).toBeUndefined();
    expect(credentialedExchange(without, "POST", APP).headers["access-control-allow-credentials"]).toBeUndefined();
    expect(credentialedExchange(withCredentials, "OPTIONS", "https://evil.example")).toMatchObject({ status: 403 });
    expect(
      credentialedExchange(withCredentials, "OPTIONS", "https://evil.example").headers[
        "access-control-allow-credentials"
      ],
    ).toBeUndefined();
    expect(credentialedExchange(withCredentials, "POST", "https://evil.example").headers).toEqual({});
  });

  it("echoes the caller's origin, not *, even when any origin is allowed", () => {
    const any = new Cors({ allowedOrigins: ["*"], allowCredentials: false });
    expect(credentialedExchange(any, "POST", APP).headers["access-control-allow-origin"]).toBe(APP);
  });
});
