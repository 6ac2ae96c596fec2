import { getTableColumns } from 'drizzle-orm';
import type { NewInteraction } from '../schema.js';
import { interactions } from '../schema.js';

/**
 * Interaction rows in PostgreSQL's binary COPY format: what the writer sends the embedded
 * database, so it stores a batch without parsing text (no JSON, no hex bytea, no timestamp
 * strings) and the batch crosses to the database thread as one transferred buffer.
 */

/** How a column's values are written; one per SQL type the interactions table uses. */
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

interface CopyColumn {
  key: keyof NewInteraction;
  name: string;
  kind: Kind;
  /** The column's default, used when a row leaves the field out (as an INSERT would). */
  fallback: unknown;
}

const COLUMNS: readonly CopyColumn[] = Object.entries(getTableColumns(interactions)).map(
  ([key, column]) => {
    const kind = KIND_OF_SQL_TYPE[column.getSQLType()];
    // A new column type, or a default only the database can compute, must be taught here first.
    if (!kind) throw new Error(`binary COPY cannot write ${column.name} (${column.getSQLType()})`);
    if (column.default !== undefined && typeof column.default === 'object') {
      throw new Error(`binary COPY cannot compute the default of ${column.name}`);
    }
    return { key: key as keyof NewInteraction, name: column.name, kind, fallback: column.default };
  },
);

const COLUMN_LIST = COLUMNS.map((c) => `"${c.name}"`).join(', ');

/** The statement that loads an encoded batch into PGlite (the batch is its `/dev/blob`). */
export const COPY_INTERACTIONS_FROM_BLOB = `copy "interactions" (${COLUMN_LIST}) from '/dev/blob' with (format binary)`;

/** The same, for a PostgreSQL server that reads the batch from the connection. */
export const COPY_INTERACTIONS_FROM_STDIN = `copy "interactions" (${COLUMN_LIST}) from stdin with (format binary)`;

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

function fieldOf(row: NewInteraction, column: CopyColumn): unknown {
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

function invalid(column: CopyColumn, row: NewInteraction, expected: string): Error {
  const id = String(row.id);
  return new UnstorableRowError(id, `interaction ${id}: ${column.name} must be ${expected}`);
}

/** Bytes a non-null value takes (after its length word); checks the value's type and range. */
function sizeOf(column: CopyColumn, row: NewInteraction, value: unknown): number {
  switch (column.kind) {
    case 'uuid':
      if (typeof value !== 'string' || !UUID_RE.test(value)) throw invalid(column, row, 'a UUID');
      return 16;
    case 'timestamptz':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
        throw invalid(column, row, 'a valid Date');
      }
      return 8;
    case 'text':
      if (typeof value !== 'string') throw invalid(column, row, 'a string');
      // PostgreSQL text cannot hold NUL; an INSERT would refuse it too.
      if (value.includes('\u0000')) throw invalid(column, row, 'free of NUL characters');
      return Buffer.byteLength(value, 'utf8');
    case 'int4':
      if (
        !Number.isInteger(value) ||
        (value as number) < INT4_MIN ||
        (value as number) > INT4_MAX
      ) {
        throw invalid(column, row, 'a 32-bit integer');
      }
      return 4;
    case 'float4':
      if (typeof value !== 'number') throw invalid(column, row, 'a number');
      return 4;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(column, row, 'a boolean');
      return 1;
    case 'bytea':
      if (!(value instanceof Uint8Array)) throw invalid(column, row, 'bytes');
      return value.length;
  }
}

/**
 * Encodes rows for COPY … WITH (FORMAT binary), in one buffer that owns its memory (so it can be
 * transferred to another thread). Throws UnstorableRowError, before anything is written, for a
 * value its column cannot hold.
 */
export function encodeInteractionsCopy(rows: readonly NewInteraction[]): Uint8Array<ArrayBuffer> {
  let size = HEADER_BYTES + TRAILER_BYTES;
  const values: unknown[] = new Array(rows.length * COLUMNS.length);
  const sizes = new Int32Array(rows.length * COLUMNS.length);
  let slot = 0;
  for (const row of rows) {
    size += 2;
    for (const column of COLUMNS) {
      const value = fieldOf(row, column);
      const bytes = value === null ? -1 : sizeOf(column, row, value);
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
    view.setInt16(at, COLUMNS.length);
    at += 2;
    for (const column of COLUMNS) {
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
