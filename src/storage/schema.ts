import { sql } from 'drizzle-orm';
import {
  customType,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** PostgreSQL bytea; PGlite returns Uint8Array and postgres.js Buffer, so both are normalised. */
export const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType() {
    return 'bytea';
  },
  fromDriver(value) {
    return Buffer.isBuffer(value)
      ? value
      : Buffer.from(value.buffer, value.byteOffset, value.length);
  },
});

/** A tenant: the unit of isolation for keys, cache entries and encrypted rows. */
export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  dataKeyWrapped: bytea('data_key_wrapped'),
  masterKeyId: text('master_key_id'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  forgottenAt: timestamp('forgotten_at', { withTimezone: true, mode: 'date' }),
});

/** API keys, stored as public id + SHA-256 of the secret; never the secret itself. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    publicId: text('public_id').notNull(),
    secretHash: text('secret_hash').notNull(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull().default(sql`ARRAY['chat']::text[]`),
    rpm: integer('rpm'),
    tpm: integer('tpm'),
    maxConcurrency: integer('max_concurrency'),
    allowedModels: text('allowed_models').array(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    uniqueIndex('api_keys_public_id_key').on(t.publicId),
    index('api_keys_tenant_idx').on(t.tenantId),
  ],
);
