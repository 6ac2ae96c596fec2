/**
 * A bytea value in PostgreSQL's text input form (`\x` and hex), for rows sent as one JSON parameter
 * (json_populate_recordset): the database decodes it while reading the JSON.
 */
export function byteaText(bytes: Buffer): string {
  return `\\x${bytes.toString('hex')}`;
}
