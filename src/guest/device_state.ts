/**
 * Device state: everything about the guest that is not RAM. Today the vCPU's
 * state, which is the workload's (its PRNG, position and counters); later
 * devices add their own keys. Encoded with msgpack; decoding treats the bytes
 * as hostile and checks every field.
 *
 * @example
 * ```ts
 * import { decodeDeviceState, encodeDeviceState } from "./device_state.ts";
 * import { Workload } from "./workload.ts";
 * const w = Workload.fresh({ kind: "idle", touchesPerSec: 0, writeBytes: 1 }, 1);
 * const back = decodeDeviceState(encodeDeviceState({ workload: w.state() }));
 * console.log(back.workload.config.kind); // "idle"
 * ```
 * @module
 */
import { Packr } from "msgpackr";
import { checkMsgpackBounds } from "../util/msgpack_bounds.ts";
import { printable } from "../util/printable.ts";
import { validateWorkloadState, type WorkloadState } from "./workload.ts";

/** The device state. */
export interface DeviceState {
  workload: WorkloadState;
}

const packr = new Packr({ useRecords: false, moreTypes: false });
const DEVICE_STATE_VERSION = 1;

/** Encodes device state. */
export function encodeDeviceState(state: DeviceState): Uint8Array {
  return packr.pack({ version: DEVICE_STATE_VERSION, ...state });
}

/** Decodes and checks device state; throws TypeError or RangeError saying what is wrong. */
export function decodeDeviceState(bytes: Uint8Array): DeviceState {
  let v: unknown;
  try {
    // Bounds first: a declared length past the input costs the decoder seconds (fuzzer's find).
    checkMsgpackBounds(bytes);
    v = packr.unpack(bytes);
  } catch (e) {
    throw new TypeError(`Device state is not valid msgpack: ${printable((e as Error).message)}`);
  }
  const o = v as { version?: unknown; workload?: unknown };
  if (typeof o !== "object" || o === null) throw new TypeError("Device state is not a map");
  if (o.version !== DEVICE_STATE_VERSION) {
    throw new RangeError(
      `Device state version ${JSON.stringify(o.version)} is not ${DEVICE_STATE_VERSION}`,
    );
  }
  validateWorkloadState(o.workload);
  return { workload: o.workload };
}
