import type { ResponseReasoningItem } from 'openai/resources/responses/responses';
import type { ResponsesRequest } from './responses-request.js';
import type { FrameWriter } from './stream-frames.js';

/**
 * Reasoning as the Responses API shows it: an upstream that reasons in the open (DeepSeek, vLLM,
 * and others) sends its thinking beside the answer, in the message's or the delta's
 * `reasoning_content` (or `reasoning`); a request that asks for `reasoning.summary` gets it as a
 * `reasoning` output item, its text as the item's one `summary_text`, before the answer.
 */

/** The fields OpenAI-compatible servers carry their reasoning text in, in the order read. */
const REASONING_FIELDS = ['reasoning_content', 'reasoning'] as const;

/** The reasoning text a chat message or delta carries; '' when it has none. */
export function reasoningTextOf(fields: object): string {
  const record = fields as Record<string, unknown>;
  for (const field of REASONING_FIELDS) {
    const value = record[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return '';
}

/** Whether the request asked for a summary of the model's reasoning (`reasoning.summary`). */
export function wantsReasoningSummary(request: ResponsesRequest): boolean {
  const summary = request.params.reasoning?.summary;
  return summary !== undefined && summary !== null;
}

/**
 * A reasoning output item holding the text as its summary. A whole item has no status, as
 * OpenAI's have none; one cut short by a failure is `incomplete`.
 */
export function reasoningItem(
  id: string,
  text: string,
  status?: 'incomplete',
): ResponseReasoningItem {
  return {
    id,
    type: 'reasoning',
    summary: [{ type: 'summary_text', text }],
    ...(status !== undefined ? { status } : {}),
  };
}

/** The reasoning item being streamed: where it stands, and its text so far. */
export interface StreamedReasoning {
  outputIndex: number;
  id: string;
  text: string;
}

function summaryPlace(reasoning: StreamedReasoning): Record<string, unknown> {
  return { item_id: reasoning.id, output_index: reasoning.outputIndex, summary_index: 0 };
}

/** The events that open a reasoning item: the item, empty, then its summary part. */
export function reasoningOpened(frame: FrameWriter, reasoning: StreamedReasoning): string {
  return (
    frame('response.output_item.added', {
      output_index: reasoning.outputIndex,
      item: { id: reasoning.id, type: 'reasoning', summary: [] },
    }) +
    frame('response.reasoning_summary_part.added', {
      ...summaryPlace(reasoning),
      part: { type: 'summary_text', text: '' },
    })
  );
}

/** The event for more reasoning text. */
export function reasoningDelta(
  frame: FrameWriter,
  reasoning: StreamedReasoning,
  delta: string,
): string {
  return frame('response.reasoning_summary_text.delta', { ...summaryPlace(reasoning), delta });
}

/** The events that close a reasoning item: its text, its summary part, then the whole item. */
export function reasoningClosed(frame: FrameWriter, reasoning: StreamedReasoning): string {
  const { text } = reasoning;
  return (
    frame('response.reasoning_summary_text.done', { ...summaryPlace(reasoning), text }) +
    frame('response.reasoning_summary_part.done', {
      ...summaryPlace(reasoning),
      part: { type: 'summary_text', text },
    }) +
    frame('response.output_item.done', {
      output_index: reasoning.outputIndex,
      item: reasoningItem(reasoning.id, text),
    })
  );
}
