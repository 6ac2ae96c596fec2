import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';

type ToolCall = NonNullable<ChatCompletion.Choice['message']['tool_calls']>[number];
type Audio = NonNullable<ChatCompletion.Choice['message']['audio']>;
type FunctionCall = NonNullable<ChatCompletion.Choice['message']['function_call']>;

/**
 * A tool call's delta: a function's, or a custom tool's (`custom: { name, input }`, its input in
 * pieces), which the SDK's chunk type does not name.
 */
type ToolCallDelta = Omit<ChatCompletionChunk.Choice.Delta.ToolCall, 'type'> & {
  type?: 'function' | 'custom';
  custom?: { name?: string; input?: string };
};

/** A tool call being assembled; `text` is a function's arguments or a custom tool's input. */
interface ToolCallState {
  id: string;
  type: 'function' | 'custom';
  name: string;
  text: string;
}

interface ChoiceState {
  index: number;
  content: string;
  refusal: string;
  hasContent: boolean;
  hasRefusal: boolean;
  role: string;
  finishReason: ChatCompletion.Choice['finish_reason'] | null;
  toolCalls: Map<number, ToolCallState>;
  /** A deprecated `function_call`: its name as last sent, its arguments joined. */
  functionCall: FunctionCall | null;
  /** Spoken answer (`modalities: ['audio']`): its data and transcript joined, the rest as sent. */
  audio: Partial<Audio> | null;
  logprobs: ChatCompletion.Choice['logprobs'];
  /**
   * The delta's other fields, as the message's (`reasoning_content`, `annotations`, …): text
   * pieces joined, lists appended, anything else as last sent. Null until one arrives.
   */
  extra: Map<string, unknown> | null;
}

/** Delta fields the assembler builds the message from itself. */
const KNOWN_DELTA_FIELDS: ReadonlySet<string> = new Set([
  'role',
  'content',
  'refusal',
  'tool_calls',
  'function_call',
  'audio',
]);

/** A completion's top-level fields that every chunk of its stream carries, or that usage is. */
export const COMPLETION_CHUNK_FIELDS: ReadonlySet<string> = new Set([
  'id',
  'object',
  'created',
  'model',
  'choices',
  'usage',
  'system_fingerprint',
  'service_tier',
]);

/**
 * Chunk fields the assembler builds the completion from itself, and the padding a stream may
 * carry (`obfuscation`), which is no part of the answer.
 */
const KNOWN_CHUNK_FIELDS: ReadonlySet<string> = new Set([
  ...COMPLETION_CHUNK_FIELDS,
  'obfuscation',
]);

/** Adds one delta's piece of a spoken answer, as the openai SDK's stream helper does. */
function mergeAudio(audio: Partial<Audio>, piece: Partial<Audio>): void {
  if (piece.id != null) audio.id = piece.id;
  if (piece.data != null) audio.data = (audio.data ?? '') + piece.data;
  if (piece.transcript != null) audio.transcript = (audio.transcript ?? '') + piece.transcript;
  if (piece.expires_at != null) audio.expires_at = piece.expires_at;
}

/** A delta field the message keeps as the stream sent it, joined over its chunks. */
function mergeExtra(extra: Map<string, unknown>, name: string, value: unknown): void {
  if (value === null || value === undefined) {
    if (!extra.has(name)) extra.set(name, value ?? null);
    return;
  }
  const previous = extra.get(name);
  if (typeof value === 'string' && typeof previous === 'string') extra.set(name, previous + value);
  else if (Array.isArray(value) && Array.isArray(previous))
    extra.set(name, [...previous, ...value]);
  else extra.set(name, value);
}

/** Builds the whole answer out of streamed chunks, so later stages see one completion. */
export class StreamAssembler {
  private id = '';
  private model = '';
  private created = 0;
  private systemFingerprint: string | undefined;
  private serviceTier: ChatCompletion['service_tier'] | undefined;
  private usage: ChatCompletion['usage'] | undefined;
  /** The chunks' other top-level fields (`moderation`, a provider's own), as last sent. */
  private other: Map<string, unknown> | null = null;
  private readonly choices = new Map<number, ChoiceState>();
  /** Number of chunks seen. */
  chunks = 0;

  add(chunk: ChatCompletionChunk): void {
    this.chunks++;
    if (chunk.id) this.id = chunk.id;
    if (chunk.model) this.model = chunk.model;
    if (chunk.created) this.created = chunk.created;
    if (chunk.system_fingerprint) this.systemFingerprint = chunk.system_fingerprint;
    if (chunk.service_tier) this.serviceTier = chunk.service_tier;
    if (chunk.usage) this.usage = chunk.usage;
    for (const name in chunk) {
      const value = (chunk as unknown as Record<string, unknown>)[name];
      if (KNOWN_CHUNK_FIELDS.has(name) || value === null || value === undefined) continue;
      this.other ??= new Map();
      this.other.set(name, value);
    }
    for (const choice of chunk.choices ?? []) {
      let state = this.choices.get(choice.index);
      if (!state) {
        state = {
          index: choice.index,
          content: '',
          refusal: '',
          hasContent: false,
          hasRefusal: false,
          role: 'assistant',
          finishReason: null,
          toolCalls: new Map(),
          functionCall: null,
          audio: null,
          logprobs: null,
          extra: null,
        };
        this.choices.set(choice.index, state);
      }
      const delta = choice.delta ?? {};
      if (delta.role) state.role = delta.role;
      if (typeof delta.content === 'string') {
        state.content += delta.content;
        state.hasContent = true;
      }
      if (typeof delta.refusal === 'string') {
        state.refusal += delta.refusal;
        state.hasRefusal = true;
      }
      for (const tc of (delta.tool_calls ?? []) as ToolCallDelta[]) {
        const call = state.toolCalls.get(tc.index) ?? {
          id: '',
          type: 'function',
          name: '',
          text: '',
        };
        if (tc.id) call.id = tc.id;
        if (tc.type === 'custom') call.type = 'custom';
        // The name as last sent, as the SDK's stream helper keeps it: some OpenAI-compatible
        // servers repeat it on every delta of the call, which joined would name no tool.
        if (tc.function?.name) call.name = tc.function.name;
        if (tc.function?.arguments) call.text += tc.function.arguments;
        if (tc.custom?.name) call.name = tc.custom.name;
        if (tc.custom?.input) call.text += tc.custom.input;
        state.toolCalls.set(tc.index, call);
      }
      if (delta.function_call) {
        const call = state.functionCall ?? { name: '', arguments: '' };
        if (delta.function_call.name) call.name = delta.function_call.name;
        if (delta.function_call.arguments) call.arguments += delta.function_call.arguments;
        state.functionCall = call;
      }
      const audio = (delta as { audio?: Partial<Audio> | null }).audio;
      if (audio) {
        state.audio ??= {};
        mergeAudio(state.audio, audio);
      }
      if (choice.logprobs) {
        const prev = state.logprobs ?? { content: null, refusal: null };
        state.logprobs = {
          content: choice.logprobs.content
            ? [...(prev.content ?? []), ...choice.logprobs.content]
            : prev.content,
          refusal: choice.logprobs.refusal
            ? [...(prev.refusal ?? []), ...choice.logprobs.refusal]
            : prev.refusal,
        };
      }
      if (choice.finish_reason) state.finishReason = choice.finish_reason;
      for (const name in delta) {
        if (KNOWN_DELTA_FIELDS.has(name)) continue;
        state.extra ??= new Map();
        mergeExtra(state.extra, name, (delta as Record<string, unknown>)[name]);
      }
    }
  }

  /** The usage reported by the upstream's usage chunk, if one arrived. */
  get reportedUsage(): ChatCompletion['usage'] | undefined {
    return this.usage;
  }

  /**
   * The completion as a non-streaming call would have returned it; a choice the stream never
   * finished has `finish_reason: null`.
   */
  result(): ChatCompletion {
    const choices = [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((s): ChatCompletion.Choice => {
        const toolCalls: ToolCall[] = [...s.toolCalls.entries()]
          .sort(([a], [b]) => a - b)
          .map(
            ([, c]): ToolCall =>
              c.type === 'custom'
                ? { id: c.id, type: 'custom', custom: { name: c.name, input: c.text } }
                : { id: c.id, type: 'function', function: { name: c.name, arguments: c.text } },
          );
        return {
          index: s.index,
          message: {
            role: 'assistant',
            content: s.hasContent ? s.content : null,
            refusal: s.hasRefusal ? s.refusal : null,
            ...(s.extra ? Object.fromEntries(s.extra) : {}),
            ...(s.audio ? { audio: s.audio as Audio } : {}),
            ...(s.functionCall ? { function_call: s.functionCall } : {}),
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: s.logprobs,
          // Never made up: a choice the upstream did not finish keeps null, so the answer is
          // recorded as it came and not cached as if it were whole.
          finish_reason: s.finishReason as ChatCompletion.Choice['finish_reason'],
        };
      });
    return {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices,
      ...(this.usage ? { usage: this.usage } : {}),
      ...(this.systemFingerprint ? { system_fingerprint: this.systemFingerprint } : {}),
      ...(this.serviceTier ? { service_tier: this.serviceTier } : {}),
      ...(this.other ? Object.fromEntries(this.other) : {}),
    };
  }

  /** True when every choice ended with a finish_reason (the stream was complete). */
  get finished(): boolean {
    if (this.choices.size === 0) return false;
    for (const s of this.choices.values()) if (!s.finishReason) return false;
    return true;
  }
}
