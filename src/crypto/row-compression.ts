import { constants, createDeflateRaw, deflateRawSync } from 'node:zlib';

/**
 * deflateRawSync for the small texts most rows hold, without its fixed cost.
 *
 * Each deflateRawSync call builds a zlib stream object and a native compressor, then throws both
 * away: for a few hundred bytes of JSON that is ~11 µs of a ~12 µs call. Here one compressor is
 * kept and reset between inputs, through the same native calls deflateRawSync itself makes
 * (Node's zlib handle: writeSync, then reset). The output is byte for byte what deflateRawSync
 * gives. Inputs above SMALL_INPUT_MAX_BYTES, and every input if this Node's zlib does not have
 * those calls, go to deflateRawSync.
 */

/** Larger inputs pay for their own compressor many times over; they take the public call. */
const SMALL_INPUT_MAX_BYTES = 16 * 1024;
/** Room for the raw deflate of any small input (its worst case is a few bytes over its size). */
const OUTPUT_BYTES = 2 * SMALL_INPUT_MAX_BYTES;

/** The native compressor inside a zlib stream, as Node's own synchronous path drives it. */
interface NativeDeflate {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOffset: number,
    inLength: number,
    output: Uint8Array,
    outOffset: number,
    outLength: number,
  ): void;
  reset(): void;
}

interface Reusable {
  handle: NativeDeflate;
  /** [output bytes left, input bytes left] after each writeSync. */
  state: Uint32Array;
  output: Buffer;
}

function reusable(): Reusable | null {
  const stream = createDeflateRaw() as unknown as { _handle?: unknown; _writeState?: unknown };
  const handle = stream._handle as Partial<NativeDeflate> | undefined;
  const state = stream._writeState;
  if (
    typeof handle?.writeSync !== 'function' ||
    typeof handle.reset !== 'function' ||
    !(state instanceof Uint32Array) ||
    state.length !== 2
  ) {
    return null;
  }
  return { handle: handle as NativeDeflate, state, output: Buffer.allocUnsafe(OUTPUT_BYTES) };
}

/** A deflate-raw function for one thread; its compressor is not shared with any other caller. */
export function createSmallDeflate(): (input: Buffer) => Buffer {
  let engine: Reusable | null | undefined;
  return (input) => {
    if (input.length > SMALL_INPUT_MAX_BYTES) return deflateRawSync(input);
    engine ??= reusable();
    if (!engine) return deflateRawSync(input);
    const { handle, state, output } = engine;
    try {
      handle.writeSync(constants.Z_FINISH, input, 0, input.length, output, 0, output.length);
      const [outLeft = 0, inLeft = 1] = state;
      // Finished only if it took all the input and still had room: otherwise ask the public call.
      if (inLeft !== 0 || outLeft === 0) return deflateRawSync(input);
      return Buffer.from(output.subarray(0, output.length - outLeft));
    } catch {
      engine = null;
      return deflateRawSync(input);
    } finally {
      engine?.handle.reset();
    }
  };
}
