import type { ResponseContext, ResponseObject } from './responses/response-shell.js';
import { ResponsesStreamTranslator } from './responses/stream-translator.js';
import type { StreamFormat } from './stream-relay.js';

/**
 * The Responses API's wire format: named events translated from the chat chunks as they arrive.
 * `keep`, when given, runs on the finished response before its closing event is sent.
 */
export function responsesStreamFormat(
  context: ResponseContext,
  keep?: (response: ResponseObject) => Promise<ResponseObject>,
): StreamFormat {
  const translator = new ResponsesStreamTranslator(context);
  return {
    start: () => translator.start(),
    chunk: (chunk) => translator.push(chunk),
    end: async () => (keep ? await translator.finishKept(keep) : translator.finish()),
    error: (error) =>
      translator.fail({
        message: error.message,
        type: error.type,
        code: error.code,
        param: error.param,
      }),
  };
}
