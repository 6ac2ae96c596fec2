import type { ResponseContext, ResponseObject } from './responses/response-shell.js';
import { ResponsesStreamTranslator } from './responses/stream-translator.js';
import type { StreamFormat } from './stream-relay.js';

/** What a Responses stream does with its response once it has ended, however it ended. */
export interface ResponseKeeping {
  /** Stores the response before its last event is sent (`completed`, `incomplete`, `failed`). */
  keep(response: ResponseObject): Promise<ResponseObject>;
  /** Stores, after the client has left, the response as it stood then (`cancelled`). */
  keepLeft(response: ResponseObject): void;
}

/**
 * The Responses API's wire format: named events translated from the chat chunks as they arrive.
 * `keeping`, when given, stores the response however the stream ends.
 */
export function responsesStreamFormat(
  context: ResponseContext,
  keeping?: ResponseKeeping,
): StreamFormat {
  const translator = new ResponsesStreamTranslator(context);
  return {
    start: () => translator.start(),
    chunk: (chunk) => translator.push(chunk),
    end: async () => (keeping ? await translator.finishKept(keeping.keep) : translator.finish()),
    error: async (error) => {
      const failure = {
        message: error.message,
        type: error.type,
        code: error.code,
        param: error.param,
      };
      return keeping ? await translator.failKept(failure, keeping.keep) : translator.fail(failure);
    },
    cancel: () => {
      const left = translator.cancel();
      if (left !== null) keeping?.keepLeft(left);
    },
  };
}
