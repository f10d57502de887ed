/**
 * Mutual challenge-response authentication of a migration connection, run
 * after accept/connect and before a single stream byte is parsed.
 *
 * Both peers hold a secret the runner gave them for this migration (never on
 * a command line or in a log). Each side sends a fresh random nonce; each
 * proves it holds the secret with an HMAC-SHA-256 (from `@noble/hashes`) over
 * a role label, both nonces, the migration id and the stream version. The
 * labels differ per role, so a MAC cannot be reflected back; the server's
 * nonce is fresh per connection, so a recorded handshake cannot be replayed.
 *
 * ```
 * client hello  := "FRYA" version:u16 idLen:u8 id:ascii[idLen] nonceC:u8[32]
 * server hello  := "FRYA" nonceS:u8[32] macS:u8[32]
 * client proof  := macC:u8[32]
 * server status := 0x01 (accepted) | 0x00 (refused; the server closes)
 * macS := HMAC(secret, "ferry-auth-v1 server" | nonceC | nonceS | id | version:u16)
 * macC := HMAC(secret, "ferry-auth-v1 client" | nonceC | nonceS | id | version:u16)
 * ```
 *
 * The exchange is lock-step: the client sends nothing after its proof until it
 * reads the status, so the server never reads a stream byte while
 * authenticating. Every read is bounded by the handshake's deadline, and every
 * length is checked before anything is allocated.
 *
 * The module works on any {@link Link}, so the control channel across hosts
 * can use it too ({@link clientHandshake}, {@link serverHandshake}).
 *
 * @example
 * ```ts
 * import { memoryLinkPair } from "./link.ts";
 * import { clientHandshake, newSecret, serverHandshake } from "./handshake.ts";
 * const auth = { secret: newSecret(), migrationId: "m-1", streamVersion: 2 };
 * const [a, b] = memoryLinkPair();
 * const [server] = await Promise.all([serverHandshake(b, auth), clientHandshake(a, auth)]);
 * console.log(server.ok); // true
 * ```
 * @module
 */
import { hmac } from "@noble/hashes/hmac";
import { sha256 } from "@noble/hashes/sha2";
import type { Link } from "../contract/ports.ts";

/** The handshake's magic, "FRYA". */
export const AUTH_MAGIC = 0x46525941;
/** Bytes of each nonce. */
export const NONCE_BYTES = 32;
/** Bytes of each MAC (HMAC-SHA-256). */
export const MAC_BYTES = 32;
/** Bytes of a secret the runner generates; shorter secrets are refused. */
export const SECRET_BYTES = 32;
/** The longest migration id, in bytes (printable ASCII). */
export const MIGRATION_ID_BYTES_MAX = 64;
/** Default deadline of the whole handshake. */
export const HANDSHAKE_TIMEOUT_MS_DEFAULT = 5_000;
/** The environment variable a peer run by hand reads its secret from (hex). */
export const SECRET_ENV = "FERRY_SECRET";
/** The environment variable a peer run by hand reads its migration id from (default "by-hand"). */
export const MIGRATION_ID_ENV = "FERRY_MIGRATION_ID";

const STATUS_OK = 0x01;
const STATUS_REFUSED = 0x00;
const MAGIC_BYTES = 4;
const VERSION_BYTES = 2;
const ID_LEN_BYTES = 1;

/** What both sides must agree on. */
export interface HandshakeAuth {
  /** The per-migration secret, at least {@link SECRET_BYTES} bytes. */
  secret: Uint8Array;
  /** The migration's id: printable ASCII, 1..{@link MIGRATION_ID_BYTES_MAX} bytes. */
  migrationId: string;
  /** The stream version the connection will carry. */
  streamVersion: number;
}

/** Handshake options. */
export interface HandshakeOptions {
  /** Deadline of the whole handshake; default {@link HANDSHAKE_TIMEOUT_MS_DEFAULT}. */
  timeoutMs?: number;
  /**
   * Server only: client nonces already seen by this listener; a nonce seen
   * again is refused as a replay, and the new one is added.
   */
  seenNonces?: Set<string>;
}

/** The outcome of one side's handshake. */
export type HandshakeResult = { ok: true; reason?: undefined } | { ok: false; reason: string };

/**
 * A fresh random secret of {@link SECRET_BYTES} bytes.
 *
 * @example
 * ```ts
 * import { newSecret } from "./handshake.ts";
 * console.log(newSecret().length); // 32
 * ```
 */
export function newSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
}

/**
 * A fresh migration id: "m-" and 16 random hex digits.
 *
 * @example
 * ```ts
 * import { newMigrationId } from "./handshake.ts";
 * console.log(newMigrationId().startsWith("m-")); // true
 * ```
 */
export function newMigrationId(): string {
  return `m-${toHex(crypto.getRandomValues(new Uint8Array(8)))}`;
}

/**
 * Bytes the client sends before the stream (hello and proof) for
 * `migrationId`: a proxy that counts stream offsets skips them.
 *
 * @example
 * ```ts
 * import { clientPreambleBytes } from "./handshake.ts";
 * console.log(clientPreambleBytes("m-1")); // 74
 * ```
 */
export function clientPreambleBytes(migrationId: string): number {
  return MAGIC_BYTES + VERSION_BYTES + ID_LEN_BYTES + new TextEncoder().encode(migrationId).length +
    NONCE_BYTES + MAC_BYTES;
}

/**
 * Reads a hex secret from the environment variable `name` (default
 * {@link SECRET_ENV}); null when it is unset. Throws when it is set but not
 * hex or shorter than {@link SECRET_BYTES} bytes (the message never holds it).
 *
 * @example
 * ```ts ignore
 * const secret = secretFromEnv(); // Uint8Array | null
 * ```
 */
export function secretFromEnv(name: string = SECRET_ENV): Uint8Array | null {
  const hex = Deno.env.get(name);
  if (hex === undefined || hex === "") return null;
  if (!/^([0-9a-fA-F]{2})+$/.test(hex) || hex.length < SECRET_BYTES * 2) {
    throw new TypeError(
      `${name} must hold at least ${SECRET_BYTES} bytes as hex digits (${hex.length} characters given)`,
    );
  }
  return fromHex(hex);
}

/**
 * Authenticates the connecting side (the source). Resolves `{ ok: true }`
 * once the server accepted, or `{ ok: false, reason }`; never throws. On
 * failure the caller closes the link.
 *
 * @example
 * ```ts ignore
 * const r = await clientHandshake(link, { secret, migrationId, streamVersion: 2 });
 * if (!r.ok) throw new Error(`Handshake refused: ${r.reason}`);
 * ```
 */
export async function clientHandshake(
  link: Link,
  auth: HandshakeAuth,
  options: HandshakeOptions = {},
): Promise<HandshakeResult> {
  const deadline = new Deadline(options.timeoutMs);
  try {
    checkAuth(auth);
    const id = new TextEncoder().encode(auth.migrationId);
    const nonceC = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const hello = new Uint8Array(
      MAGIC_BYTES + VERSION_BYTES + ID_LEN_BYTES + id.length + NONCE_BYTES,
    );
    const v = new DataView(hello.buffer);
    v.setUint32(0, AUTH_MAGIC);
    v.setUint16(MAGIC_BYTES, auth.streamVersion);
    hello[MAGIC_BYTES + VERSION_BYTES] = id.length;
    hello.set(id, MAGIC_BYTES + VERSION_BYTES + ID_LEN_BYTES);
    hello.set(nonceC, hello.length - NONCE_BYTES);
    await deadline.run(link.write(hello), "sending the client hello");
    const first = await readExactly(link, 1, deadline, "the server hello");
    if (first[0] === STATUS_REFUSED) {
      return { ok: false, reason: "the server refused the client hello" };
    }
    const reply = new Uint8Array(MAGIC_BYTES + NONCE_BYTES + MAC_BYTES);
    reply[0] = first[0];
    reply.set(
      await readExactly(link, reply.length - 1, deadline, "the server hello"),
      1,
    );
    if (new DataView(reply.buffer).getUint32(0) !== AUTH_MAGIC) {
      return { ok: false, reason: "the server hello has a wrong magic: not a Ferry destination" };
    }
    const nonceS = reply.subarray(MAGIC_BYTES, MAGIC_BYTES + NONCE_BYTES);
    const macS = reply.subarray(MAGIC_BYTES + NONCE_BYTES);
    const want = mac(auth, "server", nonceC, nonceS);
    if (!equalConstantTime(macS, want)) {
      return { ok: false, reason: "the server's proof is wrong: it does not hold the secret" };
    }
    await deadline.run(link.write(mac(auth, "client", nonceC, nonceS)), "sending the client proof");
    const status = await readExactly(link, 1, deadline, "the server's verdict");
    if (status[0] !== STATUS_OK) return { ok: false, reason: "the server refused the client" };
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/**
 * Authenticates the accepting side (the destination) and the client: reads
 * the client hello, proves itself, checks the client's proof, and answers the
 * verdict. Never throws; on failure the caller closes the link.
 *
 * @example
 * ```ts ignore
 * const r = await serverHandshake(link, auth, { timeoutMs: 5000, seenNonces });
 * if (!r.ok) console.error(`refused: ${r.reason}`);
 * ```
 */
export async function serverHandshake(
  link: Link,
  auth: HandshakeAuth,
  options: HandshakeOptions = {},
): Promise<HandshakeResult> {
  const deadline = new Deadline(options.timeoutMs);
  const refuse = async (reason: string): Promise<HandshakeResult> => {
    try {
      await deadline.run(link.write(new Uint8Array([STATUS_REFUSED])), "sending the refusal");
    } catch {
      // the client is gone or stalled: the refusal is best effort
    }
    return { ok: false, reason };
  };
  try {
    checkAuth(auth);
    const head = await readExactly(
      link,
      MAGIC_BYTES + VERSION_BYTES + ID_LEN_BYTES,
      deadline,
      "the client hello",
    );
    const hv = new DataView(head.buffer);
    if (hv.getUint32(0) !== AUTH_MAGIC) {
      return { ok: false, reason: "the client hello has a wrong magic: not a Ferry source" };
    }
    const version = hv.getUint16(MAGIC_BYTES);
    if (version !== auth.streamVersion) {
      return await refuse(
        `the client speaks stream version ${version}, this destination ${auth.streamVersion}`,
      );
    }
    const idLen = head[MAGIC_BYTES + VERSION_BYTES];
    if (idLen < 1 || idLen > MIGRATION_ID_BYTES_MAX) {
      return { ok: false, reason: `the client hello declares a migration id of ${idLen} bytes` };
    }
    const rest = await readExactly(link, idLen + NONCE_BYTES, deadline, "the client hello");
    const id = new TextDecoder().decode(rest.subarray(0, idLen));
    if (id !== auth.migrationId) {
      return await refuse("the client names another migration");
    }
    const nonceC = rest.slice(idLen);
    const key = toHex(nonceC);
    if (options.seenNonces?.has(key)) {
      return await refuse("the client hello replays a nonce already seen");
    }
    options.seenNonces?.add(key);
    const nonceS = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const hello = new Uint8Array(MAGIC_BYTES + NONCE_BYTES + MAC_BYTES);
    new DataView(hello.buffer).setUint32(0, AUTH_MAGIC);
    hello.set(nonceS, MAGIC_BYTES);
    hello.set(mac(auth, "server", nonceC, nonceS), MAGIC_BYTES + NONCE_BYTES);
    await deadline.run(link.write(hello), "sending the server hello");
    const macC = await readExactly(link, MAC_BYTES, deadline, "the client proof");
    if (!equalConstantTime(macC, mac(auth, "client", nonceC, nonceS))) {
      return await refuse("the client's proof is wrong: wrong secret or a replayed handshake");
    }
    await deadline.run(link.write(new Uint8Array([STATUS_OK])), "sending the verdict");
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/**
 * Lower-case hex of `bytes`.
 *
 * @example
 * ```ts
 * import { toHex } from "./handshake.ts";
 * console.log(toHex(new Uint8Array([1, 255]))); // "01ff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Bytes of a hex string (even length, hex digits only: the caller checks).
 *
 * @example
 * ```ts
 * import { fromHex } from "./handshake.ts";
 * console.log(fromHex("01ff")); // Uint8Array [1, 255]
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function checkAuth(auth: HandshakeAuth): void {
  if (auth.secret.length < SECRET_BYTES) {
    throw new RangeError(`The secret has ${auth.secret.length} bytes, fewer than ${SECRET_BYTES}`);
  }
  const id = auth.migrationId;
  if (!/^[\x21-\x7e]+$/.test(id) || id.length > MIGRATION_ID_BYTES_MAX) {
    throw new RangeError(
      `The migration id must be 1..${MIGRATION_ID_BYTES_MAX} printable ASCII characters`,
    );
  }
  if (
    !Number.isInteger(auth.streamVersion) || auth.streamVersion < 0 || auth.streamVersion > 0xffff
  ) {
    throw new RangeError(`Stream version ${auth.streamVersion} is not a u16`);
  }
}

function mac(
  auth: HandshakeAuth,
  role: "client" | "server",
  nonceC: Uint8Array,
  nonceS: Uint8Array,
): Uint8Array {
  const label = new TextEncoder().encode(`ferry-auth-v1 ${role}`);
  const id = new TextEncoder().encode(auth.migrationId);
  const version = new Uint8Array([auth.streamVersion >> 8, auth.streamVersion & 0xff]);
  const h = hmac.create(sha256, auth.secret);
  // Fixed-width fields, and the one variable field (id) last but for its fixed-width tail.
  h.update(label).update(nonceC).update(nonceS).update(new Uint8Array([id.length])).update(id)
    .update(version);
  return h.digest();
}

/** Compares two byte arrays in time that depends only on their length. */
function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/** One deadline for the whole handshake: a peer that trickles bytes cannot extend it. */
class Deadline {
  #endMs: number;
  #ms: number;
  constructor(ms = HANDSHAKE_TIMEOUT_MS_DEFAULT) {
    this.#ms = ms;
    this.#endMs = Date.now() + ms;
  }
  remainingMs(what: string): number {
    const left = this.#endMs - Date.now();
    if (left <= 0) throw new Error(`the handshake passed its ${this.#ms} ms deadline ${what}`);
    return left;
  }
  async run<T>(p: Promise<T>, what: string): Promise<T> {
    const left = this.remainingMs(what);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        p,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the handshake passed its ${this.#ms} ms deadline ${what}`)),
            left,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readExactly(
  link: Link,
  n: number,
  deadline: Deadline,
  what: string,
): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = await deadline.run(
      link.read(out.subarray(got), deadline.remainingMs(`reading ${what}`)),
      `reading ${what}`,
    );
    if (k === null) throw new Error(`the peer closed the connection during ${what}`);
    got += k;
  }
  return out;
}
