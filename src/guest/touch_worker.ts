/**
 * Worker that touches every page of the shared buffers it is sent (writes
 * zeros), so a second thread can take the first-touch page faults of one
 * guest's RAM while the main thread fills another's. Replies "done".
 * @module
 */
/// <reference lib="deno.worker" />
self.onmessage = (e: MessageEvent<SharedArrayBuffer[]>) => {
  for (const sab of e.data) new Int32Array(sab).fill(0);
  self.postMessage("done");
  self.close();
};
