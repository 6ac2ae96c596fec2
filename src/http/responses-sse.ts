import type { ResponseContext } from './responses/response-shell.js';
import { ResponsesStreamTranslator } from './responses/stream-translator.js';
import type { StreamFormat } from './stream-relay.js';

const encoder = new TextEncoder();

/** The Responses API's wire format: named events translated from the chat chunks as they arrive. */
export function responsesStreamFormat(context: ResponseContext): StreamFormat {
  const translator = new ResponsesStreamTranslator(context);
  return {
    start: () => encoder.encode(translator.start()),
    chunk: (chunk) => {
      const frames = translator.push(chunk);
      return frames === '' ? null : encoder.encode(frames);
    },
    end: () => encoder.encode(translator.finish()),
    error: (error) =>
      encoder.encode(
        translator.fail({
          message: error.message,
          type: error.type,
          code: error.code,
          param: error.param,
        }),
      ),
  };
}
