import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { mergeProblems, type Problem } from "./problems.js";
import { describeSchemaError } from "./schema-errors.js";

// Read from disk rather than `import ... with { type: "json" }`: works the
// same under tsx, vitest and tsc, and the file stays the one editors use.
const SCHEMA_URL = new URL("../../schema/gateway.schema.json", import.meta.url);

export function readGatewaySchema(): object {
  return JSON.parse(readFileSync(SCHEMA_URL, "utf8")) as object;
}

export type SchemaCheck = (value: unknown) => Problem[];

/**
 * Compiles the schema into a checker. A fresh Ajv per checker because a
 * compiled ajv validator keeps its last errors on itself: sharing one across
 * callers would be hidden mutable state.
 */
export function createSchemaCheck(schema: object = readGatewaySchema()): SchemaCheck {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
  // Editor annotations (VS Code / yaml-language-server); we use them for our messages too.
  ajv.addKeyword({ keyword: "errorMessage", schemaType: "string" });
  ajv.addKeyword({ keyword: "patternErrorMessage", schemaType: "string" });
  const validate = ajv.compile(schema);
  return (value) => {
    if (validate(value)) return [];
    const described = (validate.errors ?? []).map((e) => describeSchemaError(e, value));
    return mergeProblems(
      described.filter((p): p is Problem => p !== undefined),
      [],
    );
  };
}
