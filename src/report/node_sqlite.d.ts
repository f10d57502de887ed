/**
 * Types for the part of `node:sqlite` the results store uses: the project's
 * `@types/node` predates the module, which Deno has built in.
 * @module
 */

declare module "node:sqlite" {
  /** A value SQLite accepts as a parameter. */
  export type SQLInputValue = null | number | bigint | string | Uint8Array;
  /** A value SQLite returns. */
  export type SQLOutputValue = null | number | bigint | string | Uint8Array;

  /** A prepared statement. */
  export interface StatementSync {
    run(...params: SQLInputValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
    get(...params: SQLInputValue[]): Record<string, SQLOutputValue> | undefined;
    all(...params: SQLInputValue[]): Record<string, SQLOutputValue>[];
  }

  /** A database connection. */
  export class DatabaseSync {
    constructor(path: string, options?: { open?: boolean; readOnly?: boolean });
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
    close(): void;
  }
}
