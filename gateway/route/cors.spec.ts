import { describe, expect, it } from "vitest";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";
import { Cors } from "./cors.js";

const APP = "https://app.example";

function exchange(cors: Cors, method: string, origin: string | undefined) {
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

describe("Cors", () => {
  const withCredentials = new Cors({ allowedOrigins: [APP], allowCredentials: true });
  const without = new Cors({ allowedOrigins: [APP], allowCredentials: false });

  it("with allowCredentials, allows credentials on preflights and responses, echoing the origin", () => {
    const pf = exchange(withCredentials, "OPTIONS", APP);
    expect(pf).toMatchObject({ answered: true, status: 204 });
    expect(pf.headers).toMatchObject({ "access-control-allow-origin": APP, "access-control-allow-credentials": "true", vary: "Origin" });
    expect(exchange(withCredentials, "POST", APP).headers).toMatchObject({
      "access-control-allow-origin": APP,
      "access-control-allow-credentials": "true",
      vary: "Origin",
    });
  });

  it("never allows credentials by default, or to an origin it does not allow", () => {
    expect(exchange(without, "OPTIONS", APP).headers["access-control-allow-credentials"]).toBeUndefined();
    expect(exchange(without, "POST", APP).headers["access-control-allow-credentials"]).toBeUndefined();
    expect(exchange(withCredentials, "OPTIONS", "https://evil.example")).toMatchObject({ status: 403 });
    expect(exchange(withCredentials, "OPTIONS", "https://evil.example").headers["access-control-allow-credentials"]).toBeUndefined();
    expect(exchange(withCredentials, "POST", "https://evil.example").headers).toEqual({});
  });

  it("echoes the caller's origin, not *, even when any origin is allowed", () => {
    const any = new Cors({ allowedOrigins: ["*"], allowCredentials: false });
    expect(exchange(any, "POST", APP).headers["access-control-allow-origin"]).toBe(APP);
  });
});
