/**
 * Resolves a scenario's `migration.transport`: the socket to a destination
 * peer (`tcp`, the default), or a file the source saves the guest to and a
 * fresh destination restores it from (`file`, docs/mapped_ram.md).
 *
 * @example
 * ```ts
 * import { resolveTransport } from "./transport.ts";
 * const errors: string[] = [];
 * const t = resolveTransport({ kind: "file", sizeLimit: "64MiB" }, errors);
 * console.log(t.kind, errors); // file []
 * ```
 * @module
 */
import { parseBandwidth, parseSize } from "../util/size.ts";
import type { FaultSpec } from "../contract/types.ts";

/** The transport, resolved. */
export type ResolvedTransport =
  | { kind: "tcp" }
  | {
    kind: "file";
    /** The file the scenario names (kept after the run); null: a temporary file, removed. */
    path: string | null;
    /** A write past this size fails as a full disk does; null: no limit. */
    sizeLimitBytes: number | null;
    /** Sim mode: the file device's bandwidth. */
    bandwidthBytesPerSec: number;
  };

/** The simulated file device's default bandwidth (2 GiB/s, a local NVMe disk's page cache). */
export const SIM_FILE_BANDWIDTH_DEFAULT = 2 * 1024 ** 3;

/** Fault actions that act on a save to a file: the source and the engine. */
export const FILE_FAULT_ACTIONS = ["kill-source", "stop-source", "cancel"] as const;

/** Fault actions that act on the link or the destination peer: none during a save to a file. */
const LINK_FAULTS = [
  "cut-link",
  "partition",
  "corrupt",
  "kill-destination",
  "stop-destination",
];

/**
 * Resolves `migration.transport` (already checked for unknown fields),
 * pushing every problem to `errors`.
 */
export function resolveTransport(value: unknown, errors: string[]): ResolvedTransport {
  if (value === undefined) return { kind: "tcp" };
  const t = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const where = "migration.transport";
  if (t.kind === "tcp") {
    for (const k of ["path", "sizeLimit", "bandwidth"]) {
      if (t[k] !== undefined) errors.push(`${where}.${k}: only goes with kind "file"`);
    }
    return { kind: "tcp" };
  }
  if (t.kind !== "file") {
    errors.push(`${where}.kind: must be "tcp" or "file", got ${JSON.stringify(t.kind)}`);
    return { kind: "tcp" };
  }
  let path: string | null = null;
  if (t.path !== undefined) {
    if (typeof t.path !== "string" || t.path === "" || t.path.includes("\0")) {
      errors.push(`${where}.path: must be a file name, got ${JSON.stringify(t.path)}`);
    } else path = t.path;
  }
  let sizeLimitBytes: number | null = null;
  if (t.sizeLimit !== undefined) {
    try {
      sizeLimitBytes = parseSize(t.sizeLimit);
      if (!(sizeLimitBytes > 0)) throw new RangeError("must be more than 0 bytes");
    } catch (e) {
      errors.push(`${where}.sizeLimit: ${(e as Error).message}`);
    }
  }
  let bandwidthBytesPerSec = SIM_FILE_BANDWIDTH_DEFAULT;
  if (t.bandwidth !== undefined) {
    try {
      bandwidthBytesPerSec = parseBandwidth(t.bandwidth);
      if (!(bandwidthBytesPerSec > 0)) throw new RangeError("must be more than 0");
    } catch (e) {
      errors.push(`${where}.bandwidth: ${(e as Error).message}`);
    }
  }
  return { kind: "file", path, sizeLimitBytes, bandwidthBytesPerSec };
}

/**
 * What a file transport cannot be combined with: faults on the link or the
 * destination peer (there is none while saving), and `retry`.
 */
export function fileTransportErrors(faults: FaultSpec[], retry: boolean): string[] {
  const out: string[] = [];
  faults.forEach((f, i) => {
    if (LINK_FAULTS.includes(f.action)) {
      out.push(
        `faults[${i}].action: ${f.action} acts on the link or the destination peer, and a save to a file has neither (use migration.transport.sizeLimit, kill-source, stop-source or cancel)`,
      );
    }
  });
  if (retry) out.push('retry: not supported with migration.transport { kind: "file" }');
  return out;
}
