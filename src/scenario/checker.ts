/**
 * The checker: compares page digests and evaluates a scenario's expectations.
 * It never throws: an exception while judging becomes an expectation that
 * failed with the detail "unknown: ...", as a Jepsen checker's verdict would.
 *
 * @example
 * ```ts
 * import { compareDigests } from "./checker.ts";
 * const a = new Uint8Array(32), b = new Uint8Array(32);
 * b[20] = 1;
 * const c = compareDigests(a, b, [{ name: "pc.ram", pages: 2 }]);
 * console.log(c.mismatchedPages, c.mismatchedAddresses); // 1 ["pc.ram+0x1000"]
 * ```
 * @module
 */
import { Buffer } from "node:buffer";
import { DIGEST_BYTES } from "../guest/digest.ts";
import { PAGE_SIZE, type Ram } from "../guest/ram.ts";
import type { ExpectationResult, Expectations, Result } from "./types.ts";

/** How two sets of page digests compare. */
export interface DigestComparison {
  memoryEqual: boolean;
  mismatchedPages: number;
  /** The first few mismatching pages, as `block+0xoffset`. */
  mismatchedAddresses: string[];
}

/** Most mismatching addresses listed. */
export const ADDRESSES_LISTED = 8;

/** Compares two digest arrays page by page; a length difference counts every extra page. */
export function compareDigests(
  expected: Uint8Array,
  actual: Uint8Array,
  blocks: { name: string; pages: number }[],
): DigestComparison {
  const pages = Math.max(expected.length, actual.length) / DIGEST_BYTES;
  let mismatched = 0;
  const addresses: string[] = [];
  let bi = 0, first = 0;
  for (let p = 0; p < pages; p++) {
    let same = (p + 1) * DIGEST_BYTES <= expected.length && (p + 1) * DIGEST_BYTES <= actual.length;
    for (let k = p * DIGEST_BYTES; same && k < (p + 1) * DIGEST_BYTES; k++) {
      same = expected[k] === actual[k];
    }
    if (same) continue;
    mismatched++;
    if (addresses.length < ADDRESSES_LISTED) {
      while (bi < blocks.length - 1 && p >= first + blocks[bi].pages) first += blocks[bi++].pages;
      const b = blocks[bi];
      addresses.push(b ? `${b.name}+0x${((p - first) * PAGE_SIZE).toString(16)}` : `page ${p}`);
    }
  }
  return {
    memoryEqual: mismatched === 0,
    mismatchedPages: mismatched,
    mismatchedAddresses: addresses,
  };
}

/**
 * Compares two RAMs in one process (simulation mode): whole blocks at native
 * speed, page by page only where they differ.
 */
export function compareRams(expected: Ram, actual: Ram): DigestComparison {
  let mismatched = 0;
  const addresses: string[] = [];
  expected.blocks.forEach((b, i) => {
    const a = actual.blocks[i];
    if (!a || a.pages !== b.pages) {
      mismatched += b.pages;
      if (addresses.length < ADDRESSES_LISTED) addresses.push(`${b.name}+0x0`);
      return;
    }
    if (equalBytes(b.bytes, a.bytes)) return;
    for (let p = 0; p < b.pages; p++) {
      const off = p * PAGE_SIZE;
      if (
        equalBytes(b.bytes.subarray(off, off + PAGE_SIZE), a.bytes.subarray(off, off + PAGE_SIZE))
      ) continue;
      mismatched++;
      if (addresses.length < ADDRESSES_LISTED) addresses.push(`${b.name}+0x${off.toString(16)}`);
    }
  });
  return {
    memoryEqual: mismatched === 0,
    mismatchedPages: mismatched,
    mismatchedAddresses: addresses,
  };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(
    Buffer.from(b.buffer, b.byteOffset, b.length),
  );
}

/** Evaluates `expect` against a result. Never throws. */
export function evaluateExpectations(expect: Expectations, result: Result): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const check = (name: string, f: () => { ok: boolean; detail: string }) => {
    try {
      out.push({ name, ...f() });
    } catch (e) {
      out.push({ name, ok: false, detail: `unknown: ${(e as Error).message}` });
    }
  };
  const outcome = expect.outcome ?? "completed";
  check("outcome", () => ({
    ok: result.outcome === outcome,
    detail: `${result.outcome}${result.outcome === outcome ? "" : `, expected ${outcome}`}${
      result.error ? ` (${result.error})` : ""
    }`,
  }));
  // A guest that died with its process leaves nothing to compare.
  const memoryEqual = expect.memoryEqual !== undefined
    ? expect.memoryEqual
    : expect.guestLost
    ? null
    : true;
  check("memoryEqual", () => ({
    ok: result.memoryEqual === memoryEqual,
    detail: result.memoryEqual === null
      ? result.guestLost
        ? `nothing to compare: the guest died with its process${
          memoryEqual === null ? "" : ", expected a comparison"
        }`
        : "unknown: no digest to compare"
      : `${
        result.memoryEqual
          ? "equal"
          : `${result.mismatchedPages} pages differ (${result.mismatchedAddresses.join(", ")})`
      }`,
  }));
  checkFailureOutcome(expect, result, check);
  if (expect.downtimeMsMax !== undefined) {
    const max = expect.downtimeMsMax;
    check("downtimeMsMax", () => ({
      ok: result.downtimeMs !== null && result.downtimeMs <= max,
      detail: result.downtimeMs === null
        ? "no downtime: the guest never moved"
        : `${result.downtimeMs.toFixed(1)} ms, limit ${max} ms`,
    }));
  }
  if (expect.totalTimeMsMax !== undefined) {
    const max = expect.totalTimeMsMax;
    check(
      "totalTimeMsMax",
      () => ({
        ok: result.totalTimeMs <= max,
        detail: `${result.totalTimeMs.toFixed(0)} ms, limit ${max} ms`,
      }),
    );
  }
  if (expect.bytesMax !== undefined) {
    const max = expect.bytesMax;
    check(
      "bytesMax",
      () => ({
        ok: result.bytes.total <= max,
        detail: `${result.bytes.total} bytes, limit ${max}`,
      }),
    );
  }
  return out;
}

/**
 * What a run that did not complete must show (nothing lost): the source guest
 * still running, unless the scenario expects it lost with a killed source;
 * the destination discarded; every fault fired; nothing left behind.
 */
function checkFailureOutcome(
  expect: Expectations,
  result: Result,
  check: (name: string, f: () => { ok: boolean; detail: string }) => void,
): void {
  const lost = result.guestLost ?? false;
  if (expect.guestLost !== undefined) {
    check("guestLost", () => ({
      ok: lost === expect.guestLost,
      detail: lost ? "the guest died with its process" : "the guest survived",
    }));
  }
  if (result.outcome !== "completed" && result.sourceGuestRunning !== undefined) {
    check("sourceGuestRunning", () => ({
      ok: result.sourceGuestRunning === true || (lost && expect.guestLost === true),
      detail: result.sourceGuestRunning
        ? "the source guest kept running"
        : lost
        ? "the source guest died with its process"
        : "the source guest is not running",
    }));
  }
  const resumed = result.destination?.resumed;
  if (result.outcome !== "completed" && resumed !== undefined) {
    check("destinationDiscarded", () => ({
      ok: !resumed,
      detail: resumed
        ? "the destination resumed the guest although the migration did not complete"
        : "the destination never resumed the guest",
    }));
  }
  const notFired = result.faultsNotFired;
  if (notFired && (notFired.length || result.faults.length)) {
    check("faultsFired", () => ({
      ok: notFired.length === 0,
      detail: notFired.length
        ? notFired.map((f) => `faults[${f.index}] ${f.action}: ${f.reason}`).join("; ")
        : `${result.faults.length} fired`,
    }));
  }
  const c = result.cleanup;
  if (c) {
    check("cleanup", () => {
      const left = [
        ...c.processesLeft.map((p) => `process ${p}`),
        ...c.tempFilesLeft,
        ...c.namespacesLeft.map((n) => `network namespace ${n}`),
      ];
      return {
        ok: left.length === 0,
        detail: left.length
          ? `left behind: ${left.join(", ")}`
          : "no process, file or namespace left",
      };
    });
  }
}
