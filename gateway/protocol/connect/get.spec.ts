import { describe, expect, it } from "vitest";
import { thrownCallError } from "../../../test/helpers/thrown.js";
import { Code } from "../../call/status.js";
import { parseGetQuery } from "./get.js";

const path = "/acme.echo.v1.EchoService/Echo";
const text = (b: Uint8Array) => Buffer.from(b).toString();

describe("parseGetQuery", () => {
  it("reads a JSON message as percent-encoded text", () => {
    const q = parseGetQuery(`${path}?connect=v1&encoding=json&message=${encodeURIComponent('{"message":"hi & bye"}')}`);
    expect(q.codec).toBe("json");
    expect(q.encoding).toBe("identity");
    expect(text(q.message)).toBe('{"message":"hi & bye"}');
  });

  it("reads a base64 message, URL-safe or standard with an unescaped '+', padded or not", () => {
    const bytes = Buffer.from([0xfb, 0xef, 0xbe, 0x0a, 0xff]);
    const std = bytes.toString("base64");
    expect(std).toContain("+");
    for (const m of [bytes.toString("base64url"), std, std.replace(/=+$/, ""), encodeURIComponent(std)]) {
      const q = parseGetQuery(`${path}?encoding=proto&base64=1&message=${m}`);
      expect(q.codec).toBe("proto");
      expect([...q.message], m).toEqual([...bytes]);
    }
  });

  it("takes the compression parameter", () => {
    expect(parseGetQuery(`${path}?encoding=proto&compression=gzip&base64=1&message=AA`).encoding).toBe("gzip");
    expect(parseGetQuery(`${path}?encoding=proto&compression=identity`).encoding).toBe("identity");
  });

  it("reads no message parameter as an empty message, and does not require connect=v1", () => {
    const q = parseGetQuery(`${path}?encoding=proto`);
    expect(q.message.byteLength).toBe(0);
  });

  it("refuses a connect parameter other than v1", () => {
    const err = thrownCallError(() => parseGetQuery(`${path}?connect=v2&encoding=json`));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain('"v2"');
  });

  it("requires encoding to be proto or json", () => {
    const none = thrownCallError(() => parseGetQuery(`${path}?message=x`));
    expect(none.code).toBe(Code.INVALID_ARGUMENT);
    expect(none.message).toMatch(/got nothing/);
    const xml = thrownCallError(() => parseGetQuery(`${path}?encoding=xml`));
    expect(xml.code).toBe(Code.INVALID_ARGUMENT);
    expect(xml.message).toMatch(/got "xml"/);
    expect(thrownCallError(() => parseGetQuery(path)).code).toBe(Code.INVALID_ARGUMENT);
  });

  it("refuses a message that is not base64 when base64=1", () => {
    const err = thrownCallError(() =>
      parseGetQuery(`${path}?encoding=proto&base64=1&message=${encodeURIComponent("no!pe")}`),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/not valid base64/);
  });

  it("answers a compression it does not speak with UNIMPLEMENTED", () => {
    expect(thrownCallError(() => parseGetQuery(`${path}?encoding=proto&compression=br`)).code).toBe(Code.UNIMPLEMENTED);
  });
});
