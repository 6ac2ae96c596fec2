import { StringDecoder } from 'node:string_decoder';

/** One server-sent event: its `event` field (null when unnamed) and its data lines joined. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * Turns the bytes of a `text/event-stream` body, in whatever pieces they arrive, into events, as
 * the HTML standard parses them: lines end with LF, CRLF or CR; a blank line dispatches the event;
 * `data:` lines are joined with LF; `event:` names it; comments (`:`), `id:`, `retry:` and unknown
 * fields are skipped; an event without data is not dispatched. A UTF-8 character split between
 * two pieces is decoded whole.
 */
export class SseDecoder {
  private readonly utf8 = new StringDecoder('utf8');
  /** Text after the last complete line. */
  private rest = '';
  private data: string | null = null;
  private event: string | null = null;
  private started = false;

  /** The events completed by this piece of the body. */
  push(bytes: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    let text = this.rest + this.utf8.write(bytes);
    if (!this.started && text.length > 0) {
      this.started = true;
      // A byte order mark may open the stream; it is not part of the first line.
      if (text.charCodeAt(0) === BOM) text = text.slice(1);
    }
    this.lines(text, out);
    return out;
  }

  /** The body ended: what is left is not an event (it was never dispatched by a blank line). */
  end(): void {
    this.utf8.end();
    this.rest = '';
    this.data = null;
    this.event = null;
  }

  private lines(text: string, out: SseEvent[]): void {
    // A CR at the very end may be the first half of a CRLF split between two pieces.
    let usable = text.length;
    if (usable > 0 && text.charCodeAt(usable - 1) === CR) usable -= 1;
    let from = 0;
    const hasCr = text.indexOf('\r') !== -1;
    for (;;) {
      let end = text.indexOf('\n', from);
      if (hasCr) {
        const cr = text.indexOf('\r', from);
        if (cr !== -1 && cr < usable && (end === -1 || cr < end)) end = cr;
      }
      if (end === -1 || end >= usable) break;
      this.line(text.slice(from, end), out);
      from = end + 1;
      if (text.charCodeAt(end) === CR && text.charCodeAt(from) === LF) from += 1;
    }
    this.rest = from === 0 ? text : text.slice(from);
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.data !== null) out.push({ event: this.event, data: this.data });
      this.data = null;
      this.event = null;
      return;
    }
    if (line.charCodeAt(0) === COLON) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = '';
    if (colon !== -1) {
      const start = line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1;
      value = line.slice(start);
    }
    if (field === 'data') this.data = this.data === null ? value : `${this.data}\n${value}`;
    else if (field === 'event') this.event = value;
  }
}

const LF = 10;
const CR = 13;
const SPACE = 32;
const COLON = 58;
const BOM = 0xfeff;
