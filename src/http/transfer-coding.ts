import { GatewayError } from './errors.js';

/**
 * Refuses a request whose `Transfer-Encoding` names a coding besides `chunked` (`gzip, chunked`):
 * Node's parser undoes only the chunked framing and hands over the bytes still in the other
 * coding, which would be read as the body itself and fail as JSON that is not UTF-8. RFC 9112
 * §6.1: a server that receives a transfer coding it does not understand answers 501. The answer
 * closes the connection. (A request whose last coding is not `chunked` cannot be framed at all:
 * Node's parser refuses it with a 400 before the app sees it.)
 */
export function checkTransferCodings(header: string | undefined): void {
  if (header === undefined) return;
  for (const raw of header.split(',')) {
    const name = raw.trim();
    if (name !== '' && name.toLowerCase() !== 'chunked') throw unsupportedTransferCoding(name);
  }
}

function unsupportedTransferCoding(name: string): GatewayError {
  return new GatewayError({
    status: 501,
    message: `Transfer-Encoding '${name.slice(0, 64)}' is not supported: only chunked is. To send a compressed body, use Content-Encoding (gzip, deflate or br).`,
    type: 'invalid_request_error',
    code: 'unsupported_transfer_encoding',
    headers: { connection: 'close' },
  });
}
