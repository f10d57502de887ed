/**
 * The one place tests take their assertions from, so that a later switch of
 * assertion library touches one file.
 *
 * @example
 * ```ts
 * import { assertEquals } from "./assert.ts";
 * assertEquals(1 + 1, 2);
 * ```
 * @module
 */
import assert from "node:assert/strict";

/** Asserts deep strict equality. */
export const assertEquals: <T>(
  actual: unknown,
  expected: T,
  message?: string,
) => asserts actual is T = assert.deepStrictEqual;
/** Asserts that a value is truthy. */
export const assertOk: (value: unknown, message?: string) => asserts value = assert.ok;
/** Asserts that `fn` throws, optionally matching an error class or pattern. */
export const assertThrows = assert.throws;
/** Asserts that the promise returned by `fn` rejects. */
export const assertRejects = assert.rejects;
/** Asserts that a string matches a regular expression. */
export const assertMatch = assert.match;
/** Asserts that two values are not deeply equal. */
export const assertNotEquals = assert.notDeepStrictEqual;
