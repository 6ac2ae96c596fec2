import { GatewayError } from './errors.js';

/** Reads a request body as UTF-8 text, refusing (413) as soon as it passes the byte limit. */
export async function readBodyText(request: Request, limitBytes: number): Promise<string> {
  const declared = Number(request.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes)
    throw GatewayError.payloadTooLarge(limitBytes);
  if (!request.body) return '';
  const reader = request.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      await reader.cancel().catch(() => {});
      throw GatewayError.payloadTooLarge(limitBytes);
    }
    parts.push(value);
  }
  return Buffer.concat(parts, size).toString('utf8');
}
