import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from '../../src/analytics/csv.js';
import { decodeCursor, encodeCursor } from '../../src/analytics/cursor.js';
import { DEFAULT_PRICES, loadPriceTable, priceRows } from '../../src/analytics/prices.js';
import { createCsvReader } from '../helpers/csv-reader.js';

describe('analytics formats', () => {
  it('quotes CSV fields holding commas, quotes or line breaks, and only those (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(12.5)).toBe('12.5');
    const line = csvRecord(['x', 'a,"b"\r\nc', null, true]);
    expect(line.endsWith('\r\n')).toBe(true);
    expect(createCsvReader().push(line)).toEqual([['x', 'a,"b"\r\nc', '', 'true']]);
  });

  it('13: quotes and prefixes with a single quote any text a spreadsheet would read as a formula (OWASP)', () => {
    expect(csvField('=HYPERLINK("http://evil.test","x")')).toBe(
      '"\'=HYPERLINK(""http://evil.test"",""x"")"',
    );
    expect(csvField('+1')).toBe('"\'+1"');
    expect(csvField('-1')).toBe('"\'-1"');
    expect(csvField('@SUM(A1)')).toBe('"\'@SUM(A1)"');
    expect(csvField('\tx')).toBe('"\'\tx"');
    expect(csvField('\rx')).toBe('"\'\rx"');
    expect(csvField('a=b')).toBe('a=b');
    expect(csvField(-1.5)).toBe('-1.5');
    expect(createCsvReader().push(csvRecord(['=1+1', 'x']))).toEqual([["'=1+1", 'x']]);
  });

  it('quotes a field holding a semicolon or a tab, which other separators would split into a formula cell', () => {
    expect(csvField('x;=HYPERLINK("http://evil.test")')).toBe(
      '"x;=HYPERLINK(""http://evil.test"")"',
    );
    expect(csvField('x\t=1+1')).toBe('"x\t=1+1"');
    expect(createCsvReader().push(csvRecord(['a;=1', 'b']))).toEqual([['a;=1', 'b']]);
  });

  it('11: rejects a cursor whose timestamp is not a real instant', () => {
    const id = '01a2023b-28a3-7e82-99b7-d0b88c224f3d';
    for (const createdAt of [
      '2026-02-30 00:00:00+00',
      '2026-13-01 00:00:00+00',
      '0000-01-01 00:00:00+00',
    ]) {
      const cursor = Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
      expect(decodeCursor(cursor), createdAt).toBeNull();
    }
  });

  it('round-trips a cursor with microseconds and rejects anything else', () => {
    const position = {
      createdAt: '2025-05-01 10:00:00.123456+00',
      id: '01a2023b-28a3-7e82-99b7-d0b88c224f3d',
    };
    expect(decodeCursor(encodeCursor(position))).toEqual(position);
    expect(decodeCursor('garbage')).toBeNull();
    expect(decodeCursor(Buffer.from('["x","y"]').toString('base64url'))).toBeNull();
    expect(
      decodeCursor(
        Buffer.from(`["2025-05-01'; drop table x","${position.id}"]`).toString('base64url'),
      ),
    ).toBeNull();
  });

  it('prices dated snapshots like their model, and reads a price file or names what is wrong in it', () => {
    const rows = priceRows(DEFAULT_PRICES);
    expect(rows.find((r) => r.name === 'gpt-4o-2024-08-06')).toEqual({
      name: 'gpt-4o-2024-08-06',
      input: 2.5,
      cachedInput: 1.25,
      output: 10,
      asOf: '2025-06-10',
    });
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-prices-'));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        as_of: '2030-01-01',
        models: {
          house: { input_per_mtok_usd: 1, output_per_mtok_usd: 2 },
          cached: {
            input_per_mtok_usd: 2,
            cached_input_per_mtok_usd: 0.5,
            output_per_mtok_usd: 8,
            as_of: '2029-12-01',
          },
        },
      }),
    );
    expect(loadPriceTable(good)).toEqual({
      asOf: '2030-01-01',
      models: [
        {
          model: 'house',
          aliases: [],
          asOf: '2030-01-01',
          inputPerMTokUsd: 1,
          cachedInputPerMTokUsd: 1,
          outputPerMTokUsd: 2,
        },
        {
          model: 'cached',
          aliases: [],
          asOf: '2029-12-01',
          inputPerMTokUsd: 2,
          cachedInputPerMTokUsd: 0.5,
          outputPerMTokUsd: 8,
        },
      ],
    });
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({ as_of: 'x', models: { house: { input_per_mtok_usd: -1 } } }),
    );
    expect(() => loadPriceTable(bad)).toThrow(/TOLLGATE_PRICES file .* is invalid: models\.house/);
  });
});
