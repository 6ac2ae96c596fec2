/**
 * An incremental RFC 4180 reader: feed it text as it arrives, get complete records back. Keeps only
 * the record in progress, so a test can read a large export without holding it.
 */
export function createCsvReader() {
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let quoteSeen = false;
  let pendingCr = false;
  return {
    push(text: string): string[][] {
      const out: string[][] = [];
      for (const ch of text) {
        if (quoted) {
          if (ch === '"') {
            quoted = false;
            quoteSeen = true;
          } else field += ch;
          continue;
        }
        if (pendingCr) {
          pendingCr = false;
          if (ch === '\n') {
            record.push(field);
            out.push(record);
            record = [];
            field = '';
            continue;
          }
          throw new Error('bare CR outside quotes');
        }
        if (ch === '"') {
          // A quote right after a closing quote is an escaped quote inside the field.
          if (quoteSeen) field += '"';
          quoted = true;
          quoteSeen = false;
        } else if (ch === ',') {
          record.push(field);
          field = '';
          quoteSeen = false;
        } else if (ch === '\r') {
          pendingCr = true;
          quoteSeen = false;
        } else {
          field += ch;
          quoteSeen = false;
        }
      }
      return out;
    },
  };
}
