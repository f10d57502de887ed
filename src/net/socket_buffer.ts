/**
 * Bounds a TCP socket's kernel buffer (SO_SNDBUF or SO_RCVBUF) so that the
 * lab's shaped link buffers what a real path would, not what loopback
 * allows. On loopback, autotuning sizes buffers for a 64 KiB MSS and no
 * round trip: the source's send buffer grows to `tcp_wmem`'s maximum and a
 * slowly reading proxy's receive buffer towards `tcp_rmem`'s (4 and 32 MiB
 * here). Behind a 100 Mbit/s link that is seconds of data, and all of it
 * would drain during the guest's downtime.
 *
 * Deno has no socket options, so this finds the socket's file descriptor
 * (its inode in /proc/net/tcp, matched in /proc/self/fd) and calls libc's
 * `setsockopt` through FFI. Linux only; needs `--allow-ffi` and
 * `--allow-read`; anything missing is returned as a reason, never thrown.
 *
 * @example
 * ```ts ignore
 * const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const why = limitSocketBuffer({ port: (l.addr as Deno.NetAddr).port }, "receive", 256 * 1024);
 * if (why) console.log(`receive buffer left alone: ${why}`);
 * ```
 * @module
 */

import { libc } from "../util/libc.ts";

const SOL_SOCKET = 1;
const OPTION = { send: 7, receive: 8 } as const; // SO_SNDBUF, SO_RCVBUF
const TCP_ESTABLISHED = "01";
const TCP_LISTEN = "0A";

/**
 * Sets the send or receive buffer of this process's IPv4 TCP socket on local
 * `port` (with `peerPort`: the connection to that remote port; without: the
 * listener) to `bytes` (the kernel doubles it for bookkeeping and stops
 * autotuning it). Returns null when done, or why it was not.
 */
export function limitSocketBuffer(
  socket: { port: number; peerPort?: number },
  which: "send" | "receive",
  bytes: number,
): string | null {
  if (Deno.build.os !== "linux") return "socket options need Linux";
  try {
    const hex = (p: number) => `:${p.toString(16).toUpperCase().padStart(4, "0")}`;
    const row = Deno.readTextFileSync("/proc/net/tcp").split("\n").slice(1)
      .map((r) => r.trim().split(/\s+/))
      .find((c) =>
        c[1]?.endsWith(hex(socket.port)) &&
        (socket.peerPort === undefined
          ? c[3] === TCP_LISTEN
          : c[3] === TCP_ESTABLISHED && c[2]?.endsWith(hex(socket.peerPort)))
      );
    if (!row) return `no such socket on port ${socket.port} in /proc/net/tcp`;
    const link = `socket:[${row[9]}]`;
    let fd = -1;
    for (const e of Deno.readDirSync("/proc/self/fd")) {
      try {
        if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) === link) fd = Number(e.name);
      } catch {
        // closed meanwhile
      }
    }
    if (fd < 0) return `the socket on port ${socket.port} is not among this process's files`;
    const lib = libc();
    if (typeof lib === "string") return lib;
    const value = new Int32Array([bytes]);
    const rc = lib.setsockopt(
      fd,
      SOL_SOCKET,
      OPTION[which],
      new Uint8Array(value.buffer),
      4,
    );
    return rc === 0 ? null : `setsockopt failed with ${rc}`;
  } catch (e) {
    return (e as Error).message;
  }
}
