import type { Table } from 'drizzle-orm';
import { getTableColumns, getTableName } from 'drizzle-orm';

/**
 * Rows in PostgreSQL's binary COPY format: what the embedded database is sent in batches, so it
 * stores them without parsing text (no JSON, no hex bytea, no timestamp strings), and a batch
 * crosses to the database thread as one transferred buffer.
 */

/** How a column's values are written; one per SQL type the tables written by COPY use. */
type Kind = 'uuid' | 'timestamptz' | 'text' | 'int4' | 'float4' | 'bool' | 'bytea';

const KIND_OF_SQL_TYPE: Record<string, Kind> = {
  uuid: 'uuid',
  'timestamp with time zone': 'timestamptz',
  text: 'text',
  integer: 'int4',
  real: 'float4',
  boolean: 'bool',
  bytea: 'bytea',
};

/** One column of a COPY: the row's field it reads, the column it fills, how it is written. */
export interface CopyColumn<R> {
  key: keyof R & string;
  name: string;
  kind: Kind;
  /** The column's default, used when a row leaves the field out (as an INSERT would). */
  fallback: unknown;
}

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
/** Signature, flags (int32) and header extension length (int32). */
const HEADER_BYTES = SIGNATURE.length + 8;
/** The int16 -1 that ends the data. */
const TRAILER_BYTES = 2;
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;

function fieldOf<R>(row: R, column: CopyColumn<R>): unknown {
  const value = row[column.key];
  return value === undefined ? (column.fallback ?? null) : value;
}

/** A row holds a value its column cannot store; the database would refuse it too. */
export class UnstorableRowError extends TypeError {
  constructor(
    readonly rowId: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnstorableRowError';
  }
}

function invalid<R>(table: CopyTable<R>, column: CopyColumn<R>, row: R, expected: string): Error {
  const id = table.idOf(row);
  return new UnstorableRowError(id, `${table.rowName} ${id}: ${column.name} must be ${expected}`);
}

/** Bytes a non-null value takes (after its length word); checks the value's type and range. */
function sizeOf<R>(table: CopyTable<R>, column: CopyColumn<R>, row: R, value: unknown): number {
  switch (column.kind) {
    case 'uuid':
      if (typeof value !== 'string' || !UUID_RE.test(value))
        throw invalid(table, column, row, 'a UUID');
      return 16;
    case 'timestamptz':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
        throw invalid(table, column, row, 'a valid Date');
      }
      return 8;
    case 'text':
      if (typeof value !== 'string') throw invalid(table, column, row, 'a string');
      // PostgreSQL text cannot hold NUL; an INSERT would refuse it too.
      if (value.includes('\u0000')) throw invalid(table, column, row, 'free of NUL characters');
      return Buffer.byteLength(value, 'utf8');
    case 'int4':
      if (
        !Number.isInteger(value) ||
        (value as number) < INT4_MIN ||
        (value as number) > INT4_MAX
      ) {
        throw invalid(table, column, row, 'a 32-bit integer');
      }
      return 4;
    case 'float4':
      if (typeof value !== 'number') throw invalid(table, column, row, 'a number');
      return 4;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(table, column, row, 'a boolean');
      return 1;
    case 'bytea':
      if (!(value instanceof Uint8Array)) throw invalid(table, column, row, 'bytes');
      return value.length;
  }
}

/**
 * Encodes rows for COPY … WITH (FORMAT binary), in one buffer that owns its memory (so it can be
 * transferred to another thread). Throws UnstorableRowError, before anything is written, for a
 * value its column cannot hold.
 */
export function encodeCopy<R>(table: CopyTable<R>, rows: readonly R[]): Uint8Array<ArrayBuffer> {
  const columns = table.columns;
  let size = HEADER_BYTES + TRAILER_BYTES;
  const values: unknown[] = new Array(rows.length * columns.length);
  const sizes = new Int32Array(rows.length * columns.length);
  let slot = 0;
  for (const row of rows) {
    size += 2;
    for (const column of columns) {
      const value = fieldOf(row, column);
      const bytes = value === null ? -1 : sizeOf(table, column, row, value);
      values[slot] = value;
      sizes[slot++] = bytes;
      size += 4 + Math.max(0, bytes);
    }
  }

  const out = Buffer.from(new ArrayBuffer(size));
  const view = new DataView(out.buffer);
  out.set(SIGNATURE, 0);
  view.setInt32(SIGNATURE.length, 0);
  view.setInt32(SIGNATURE.length + 4, 0);
  let at = HEADER_BYTES;
  slot = 0;
  for (let r = 0; r < rows.length; r++) {
    view.setInt16(at, columns.length);
    at += 2;
    for (const column of columns) {
      const value = values[slot];
      const bytes = sizes[slot++] ?? -1;
      view.setInt32(at, bytes);
      at += 4;
      if (bytes < 0) continue;
      switch (column.kind) {
        case 'uuid':
          out.write((value as string).replaceAll('-', ''), at, 16, 'hex');
          break;
        case 'timestamptz': {
          // Microseconds since 2000-01-01 as a signed 64-bit integer, written as two 32-bit halves.
          const micros = ((value as Date).getTime() - PG_EPOCH_MS) * 1000;
          const high = Math.floor(micros / 2 ** 32);
          view.setInt32(at, high);
          view.setUint32(at + 4, micros - high * 2 ** 32);
          break;
        }
        case 'text':
          out.write(value as string, at, bytes, 'utf8');
          break;
        case 'int4':
          view.setInt32(at, value as number);
          break;
        case 'float4':
          view.setFloat32(at, value as number);
          break;
        case 'bool':
          out[at] = value ? 1 : 0;
          break;
        case 'bytea':
          out.set(value as Uint8Array, at);
          break;
      }
      at += bytes;
    }
  }
  view.setInt16(at, -1);
  return new Uint8Array(out.buffer);
}

/**
 * Statements run in a COPY's transaction: `before` it (making the table it loads) and `after` it
 * (merging what it loaded); the three are stored together or not at all.
 */
export interface CopySteps {
  before: string;
  after: string;
}

/** The two forms of one table's COPY statement: one per database kind. */
export interface CopyStatements {
  /** `copy "table" (columns) from '/dev/blob' with (format binary)`: PGlite reads the batch as its blob. */
  fromBlob: string;
  /** `copy "table" (columns) from stdin with (format binary)`: PostgreSQL reads it off the connection. */
  fromStdin: string;
}

/** A table's columns as COPY writes them, and how its rows are named in errors. */
export interface CopyTable<R> extends CopyStatements {
  columns: readonly CopyColumn<R>[];
  /** What a row is called in an error (`interaction`, `cache entry`). */
  rowName: string;
  idOf(row: R): string;
}

/**
 * The COPY description of `table`'s columns named by `keys` (every column when absent), into
 * `target` (the table itself unless named). Throws for a column type this encoder does not know
 * or a default only the database can compute, so a schema change is taught here first.
 */
export function copyTableOf<R>(
  table: Table,
  options: {
    keys?: readonly (keyof R & string)[];
    target?: string;
    rowName: string;
    idOf: (row: R) => string;
  },
): CopyTable<R> {
  const all = getTableColumns(table);
  const keys = options.keys ?? (Object.keys(all) as (keyof R & string)[]);
  const columns = keys.map((key): CopyColumn<R> => {
    const column = all[key];
    if (!column) throw new Error(`${getTableName(table)} has no column for ${key}`);
    const kind = KIND_OF_SQL_TYPE[column.getSQLType()];
    if (!kind) throw new Error(`binary COPY cannot write ${column.name} (${column.getSQLType()})`);
    if (column.default !== undefined && typeof column.default === 'object') {
      throw new Error(`binary COPY cannot compute the default of ${column.name}`);
    }
    return { key, name: column.name, kind, fallback: column.default };
  });
  const list = columns.map((c) => `"${c.name}"`).join(', ');
  const target = options.target ?? getTableName(table);
  return {
    columns,
    fromBlob: `copy "${target}" (${list}) from '/dev/blob' with (format binary)`,
    fromStdin: `copy "${target}" (${list}) from stdin with (format binary)`,
    rowName: options.rowName,
    idOf: options.idOf,
  };
}
