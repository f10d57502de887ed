/**
 * Where a peer runs (`hosts.source`, `hosts.destination` in a scenario):
 * `"local"` (a process on the runner's machine), `"netns:NAME"` (a process in
 * the existing network namespace NAME on the runner's machine, root) or
 * `"ssh://[user@]host[:port][/path]"` (a process on another host, started
 * over ssh with the ssh client's own configuration; `path` is the Ferry
 * checkout there, by default the same path as the runner's).
 *
 * @example
 * ```ts
 * import { parseHost } from "./host_spec.ts";
 * console.log(parseHost("ssh://ci@10.0.0.7:2222/srv/ferry"));
 * // { kind: "ssh", user: "ci", host: "10.0.0.7", port: 2222, path: "/srv/ferry" }
 * ```
 * @module
 */

/** A peer's placement, parsed. */
export type HostPlacement =
  | { kind: "local" }
  | { kind: "netns"; name: string }
  | { kind: "ssh"; user: string | null; host: string; port: number | null; path: string | null };

/**
 * Parses a placement; throws RangeError saying what is wrong (the caller
 * prefixes the field).
 *
 * @example
 * ```ts
 * import { parseHost } from "./host_spec.ts";
 * console.log(parseHost("netns:lab-a")); // { kind: "netns", name: "lab-a" }
 * ```
 */
export function parseHost(text: string): HostPlacement {
  if (text === "local") return { kind: "local" };
  if (text.startsWith("netns:")) {
    const name = text.slice(6);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) {
      throw new RangeError(`netns:NAME: NAME must be 1 to 64 letters, digits, ".", "_", "-"`);
    }
    return { kind: "netns", name };
  }
  if (text.startsWith("ssh://")) {
    const m =
      /^ssh:\/\/(?:([A-Za-z0-9_][A-Za-z0-9_.-]*)@)?([A-Za-z0-9][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\])(?::(\d+))?(\/[^\s'"\\$`;&|<>()]*)?$/
        .exec(text);
    if (!m) {
      throw new RangeError(
        `must be ssh://[user@]host[:port][/path] (a host name or address; a path without spaces or shell characters), got ${
          JSON.stringify(text)
        }`,
      );
    }
    const port = m[3] === undefined ? null : Number(m[3]);
    if (port !== null && !(port >= 1 && port <= 65535)) {
      throw new RangeError(`ssh port must be 1 to 65535, got ${m[3]}`);
    }
    const path = m[4] && m[4] !== "/" ? m[4].replace(/\/+$/, "") : null;
    return { kind: "ssh", user: m[1] ?? null, host: m[2].replace(/^\[|\]$/g, ""), port, path };
  }
  throw new RangeError(
    `must be "local", "netns:NAME" or "ssh://[user@]host[:port][/path]", got ${
      JSON.stringify(text)
    }`,
  );
}

/**
 * A placement as written in a scenario.
 *
 * @example
 * ```ts
 * import { formatHost } from "./host_spec.ts";
 * console.log(formatHost({ kind: "ssh", user: null, host: "h", port: 22, path: null })); // ssh://h:22
 * ```
 */
export function formatHost(h: HostPlacement): string {
  if (h.kind === "local") return "local";
  if (h.kind === "netns") return `netns:${h.name}`;
  const host = h.host.includes(":") ? `[${h.host}]` : h.host;
  return `ssh://${h.user ? `${h.user}@` : ""}${host}${h.port ? `:${h.port}` : ""}${h.path ?? ""}`;
}
