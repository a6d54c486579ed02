import { describe, expect, it } from "vitest";
import { H2_PREFACE, sniffPreface } from "./preface.js";

describe("sniffPreface", () => {
  it("needs more bytes while the data is a strict prefix of the preface", () => {
    expect(sniffPreface(Buffer.alloc(0))).toBe("need-more");
    expect(sniffPreface(H2_PREFACE.subarray(0, 1))).toBe("need-more");
    expect(sniffPreface(H2_PREFACE.subarray(0, 23))).toBe("need-more");
  });
  it("says h2 once the whole preface is there, with or without frames after it", () => {
    expect(sniffPreface(H2_PREFACE)).toBe("h2");
    expect(sniffPreface(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4, 0])]))).toBe("h2");
  });
  it("says http1 for request lines, including PRI-lookalikes and garbage", () => {
    expect(sniffPreface(Buffer.from("POST /acme.echo.v1.EchoService/Echo HTTP/1.1\r\n"))).toBe("http1");
    expect(sniffPreface(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("http1");
    expect(sniffPreface(Buffer.from("PRI * HTTP/1.1\r\n"))).toBe("http1");
    expect(sniffPreface(Buffer.from([0x16, 0x03, 0x01]))).toBe("http1");
  });
});
