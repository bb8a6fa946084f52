import { describe, expect, it } from "vitest";
import { toHttpError } from "../src/services/http-errors.js";

const withCode = (code: string, message = "database error") => Object.assign(new Error(message), { code });

describe("database errors as HTTP answers", () => {
  it.each([
    ["SQLITE_BUSY"],
    ["SQLITE_IOERR_WRITE"],
    // PostgreSQL: connection lost, too many connections, shutting down, deadlock, serialization failure.
    ["08006"],
    ["53300"],
    ["57P01"],
    ["40P01"],
    ["40001"],
  ])("%s is 503 service_unavailable (the database cannot serve now)", (code) => {
    const error = toHttpError(withCode(code));
    expect([error.status, error.code]).toEqual([503, "service_unavailable"]);
  });

  it.each([["23505"], ["42P01"], ["SQLITE_CONSTRAINT_UNIQUE"]])("%s is a fault of the gateway: 500 internal_error", (code) => {
    const error = toHttpError(withCode(code));
    expect([error.status, error.code]).toEqual([500, "internal_error"]);
  });
});
