import { describe, expect, it } from "vitest";
import { NameError, parseServiceName } from "./service-name.js";

describe("parseServiceName", () => {
  it("derives every name the scaffold writes", () => {
    expect(parseServiceName("acme.billing.v1.BillingService")).toEqual({
      full: "acme.billing.v1.BillingService",
      pkg: "acme.billing.v1",
      service: "BillingService",
      short: "billing",
      protoPath: "proto/acme/billing/v1/billing.proto",
      genModule: "acme/billing/v1/billing_pb",
      fileExport: "file_acme_billing_v1_billing",
    });
    expect(parseServiceName("shop_floor.v2beta1.StockService")).toMatchObject({
      short: "shop_floor",
      protoPath: "proto/shop_floor/v2beta1/shop_floor.proto",
      fileExport: "file_shop_floor_v2beta1_shop_floor",
    });
  });

  it.each([
    ["BillingService", /is not package\.Service/],
    [".BillingService", /is not package\.Service/],
    ["acme.Billing.v1.BillingService", /"Billing" must be lower case/],
    ["acme..v1.BillingService", /"" must be lower case/],
    ["acme.billing.BillingService", /must be a name followed by a version such as v1/],
    ["v1.BillingService", /must be a name followed by a version/],
    ["grpc.billing.v1.BillingService", /grpc\.\* is taken/],
    ["google.billing.v1.BillingService", /google\.\* is taken/],
    ["acme.billing.v1.Billing", /must be PascalCase and end in Service/],
    ["acme.billing.v1.billingService", /must be PascalCase/],
    ["acme.billing.v1.Service", /must be PascalCase/],
    ["acme.billing.v1.Billing-Service", /must be PascalCase/],
  ])("refuses %s", (name, message) => {
    expect(() => parseServiceName(name)).toThrow(NameError);
    expect(() => parseServiceName(name)).toThrow(message);
  });
});
