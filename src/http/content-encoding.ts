import { constants } from 'node:buffer';
import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import { GatewayError } from './errors.js';

/** A content coding the gateway decodes (RFC 9110 §8.4.1); `identity` means none. */
export type ContentCoding = 'gzip' | 'deflate' | 'br';

const CODINGS: Record<string, ContentCoding | null> = {
  identity: null,
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/**
 * How many codings a body may be stacked in. Each is undone up to the body limit, so every layer
 * costs up to that much inflating: a header naming one coding thousands of times would make a
 * single request hold a zlib thread for a minute. Clients stack one, two at most.
 */
export const MAX_CONTENT_CODINGS = 2;

const DECODERS = {
  gzip: promisify(gunzip),
  deflate: promisify(inflate),
  deflateRaw: promisify(inflateRaw),
  br: promisify(brotliDecompress),
};

/**
 * The codings a request's `Content-Encoding` names, in the order they were applied, or a 415
 * in OpenAI's shape for one the gateway cannot decode (`zstd`, `compress`, a typo): read as
 * plain bytes, its body would only fail later as JSON that is not valid UTF-8. More than
 * MAX_CONTENT_CODINGS stacked are a 415 too.
 */
export function contentCodings(header: string | undefined): ContentCoding[] {
  if (header === undefined) return [];
  const codings: ContentCoding[] = [];
  for (const raw of header.split(',')) {
    const name = raw.trim().toLowerCase();
    if (name === '') continue;
    const coding = CODINGS[name];
    if (coding === undefined) throw unsupportedEncoding(raw.trim());
    if (coding !== null) codings.push(coding);
  }
  if (codings.length > MAX_CONTENT_CODINGS) throw tooManyCodings(codings.length);
  return codings;
}

/**
 * Undoes `codings` (the last applied first). Each step stops at `limitBytes` of output, so a small
 * body that inflates to gigabytes (a zip bomb) is a 413 after at most that much work; bytes that
 * are not what their coding says are a 400.
 */
export async function decodeContent(
  bytes: Buffer,
  codings: ContentCoding[],
  limitBytes: number,
): Promise<Buffer> {
  let body = bytes;
  // No body is no body, whatever coding it is labelled with (nothing was compressed).
  if (body.byteLength === 0) return body;
  for (const coding of [...codings].reverse()) body = await decodeOne(body, coding, limitBytes);
  return body;
}

async function decodeOne(bytes: Buffer, coding: ContentCoding, limitBytes: number) {
  const options = { maxOutputLength: Math.min(Math.max(1, limitBytes), constants.MAX_LENGTH) };
  try {
    return await DECODERS[coding](bytes, options);
  } catch (err) {
    if (isTooLarge(err)) throw GatewayError.payloadTooLarge(limitBytes, 'once decoded');
    // `deflate` is zlib-wrapped by the standard, but some clients send the bare stream.
    if (coding === 'deflate') {
      try {
        return await DECODERS.deflateRaw(bytes, options);
      } catch (rawErr) {
        if (isTooLarge(rawErr)) throw GatewayError.payloadTooLarge(limitBytes, 'once decoded');
      }
    }
    throw GatewayError.invalidRequest(
      `The request body is not valid ${coding} data, as its Content-Encoding says.`,
      null,
      'invalid_content_encoding',
    );
  }
}

function isTooLarge(err: unknown): boolean {
  return err instanceof RangeError && 'code' in err && err.code === 'ERR_BUFFER_TOO_LARGE';
}

function unsupportedEncoding(name: string): GatewayError {
  return new GatewayError({
    status: 415,
    message: `Content-Encoding '${name.slice(0, 64)}' is not supported. Send the body uncompressed, or encoded with gzip, deflate or br.`,
    type: 'invalid_request_error',
    code: 'unsupported_content_encoding',
  });
}

function tooManyCodings(count: number): GatewayError {
  return new GatewayError({
    status: 415,
    message: `Content-Encoding names ${count} codings; at most ${MAX_CONTENT_CODINGS} are decoded. Send the body encoded once, with gzip, deflate or br.`,
    type: 'invalid_request_error',
    code: 'unsupported_content_encoding',
  });
}
