import { isRecord } from '../runtime/is-record.js';
import { AGGRESSIVE_MIN_TOKENS, aggressiveTransform } from './aggressive-transforms.js';
import type { CompressionMode } from './compression-mode.js';
import { DuplicateRegistry } from './duplicate-registry.js';
import { registerUnits } from './duplicate-removal.js';
import { minifyJsonDocument } from './json-minify.js';
import { compressSafeText } from './safe-transforms.js';
import { countTokensWithEncoding, encodingForModel, type TokenEncoding } from './token-count.js';
import { countEditedTokens } from './token-delta.js';

/** How hard to compress (the modes are listed in compression-mode.ts). */
export type { CompressionMode } from './compression-mode.js';

/** What `compressMessages` did. */
export interface CompressionResult {
  /** The messages to send upstream (the input array itself when nothing was done). */
  messages: unknown[];
  /** Tokens of the compressible content before compression, in the model's encoding. */
  tokensBefore: number;
  /** Tokens of the same content after compression. */
  tokensAfter: number;
  /** Whether any text was changed. */
  changed: boolean;
}

/** Options of {@link compressMessages}. */
export interface CompressionOptions {
  mode: CompressionMode;
  /** The requested model; chooses the token encoding. */
  model: string;
  /**
   * Count whole texts (default true). The request path passes false: in safe mode only the text
   * around the edits is tokenized, tokensBefore − tokensAfter is still the exact saving, but the
   * two values are no longer the texts' full counts.
   */
  countUnchanged?: boolean;
}

/** One compressible text (a string content or a `type: "text"` part) and its versions' counts. */
interface TextSlot {
  original: string;
  originalTokens: number;
  safe: string;
  safeTokens: number;
  final: string;
  finalTokens: number;
}

/**
 * Compresses the text of a chat request's messages. System, developer and user text (string
 * content and `type: "text"` parts) gets the mode's transforms; tool results (role `tool` or
 * legacy `function`) are minified when their content is one JSON object or array; assistant
 * turns, images, other parts and anything of an unexpected shape pass through untouched.
 * `aggressive` adds lossy transforms only to messages of at least
 * {@link AGGRESSIVE_MIN_TOKENS} tokens (smaller ones get `safe`). No text ever ends up with more
 * tokens than it started with. The input is never mutated; unchanged messages keep their
 * identity. Mode `off` returns the input array and counts nothing (both counts 0). Never throws:
 * an internal failure returns the input unchanged.
 */
export function compressMessages(
  messages: readonly unknown[],
  options: CompressionOptions,
): CompressionResult {
  // The result type is mutable for callers' convenience; `off` hands back the caller's own array.
  const untouched: CompressionResult = {
    messages: messages as unknown[],
    tokensBefore: 0,
    tokensAfter: 0,
    changed: false,
  };
  if (!Array.isArray(messages)) return untouched;
  if (options.mode !== 'safe' && options.mode !== 'aggressive') return untouched;
  try {
    return new MessageCompressor(
      options.mode,
      encodingForModel(options.model),
      options.countUnchanged ?? true,
    ).run(messages);
  } catch {
    return untouched;
  }
}

class MessageCompressor {
  private tokensBefore = 0;
  private tokensAfter = 0;
  private changed = false;
  private readonly duplicates = new DuplicateRegistry();

  constructor(
    private readonly mode: 'safe' | 'aggressive',
    private readonly encoding: TokenEncoding,
    private readonly countUnchanged: boolean,
  ) {}

  run(messages: readonly unknown[]): CompressionResult {
    const out = messages.map((message) => this.compressMessage(message));
    return {
      messages: out,
      tokensBefore: this.tokensBefore,
      tokensAfter: this.tokensAfter,
      changed: this.changed,
    };
  }

  private compressMessage(message: unknown): unknown {
    if (!isRecord(message)) return message;
    const role = message.role;
    if (role === 'tool' || role === 'function') return this.compressToolResult(message);
    if (role !== 'system' && role !== 'developer' && role !== 'user') return message;
    const content = message.content;
    const slots: TextSlot[] = [];
    if (typeof content === 'string') {
      slots.push(this.safeSlot(content));
    } else if (Array.isArray(content)) {
      for (const part of content) {
        if (isTextPart(part)) slots.push(this.safeSlot(part.text));
      }
    }
    if (slots.length === 0) return message;
    this.applyAggressive(slots);
    let slotIndex = 0;
    const next = (): string => slots[slotIndex++]?.final ?? '';
    if (typeof content === 'string') return this.rebuild(message, slots, next());
    if (!Array.isArray(content)) return message;
    const parts = content.map((part) => {
      if (!isTextPart(part)) return part;
      const text = next();
      return text === part.text ? part : { ...part, text };
    });
    return this.rebuild(message, slots, parts);
  }

  private compressToolResult(message: Record<string, unknown>): unknown {
    const content = message.content;
    if (typeof content === 'string') {
      const slot = this.jsonSlot(content);
      return this.rebuild(message, [slot], slot.final);
    }
    if (!Array.isArray(content)) return message;
    const slots: TextSlot[] = [];
    const parts = content.map((part) => {
      if (!isTextPart(part)) return part;
      const slot = this.jsonSlot(part.text);
      slots.push(slot);
      return slot.final === part.text ? part : { ...part, text: slot.final };
    });
    return this.rebuild(message, slots, parts);
  }

  /** Counts the slots and returns the message with new content when a slot changed. */
  private rebuild(message: Record<string, unknown>, slots: TextSlot[], content: unknown): unknown {
    let changed = false;
    for (const slot of slots) {
      this.tokensBefore += slot.originalTokens;
      this.tokensAfter += slot.finalTokens;
      if (slot.final !== slot.original) changed = true;
    }
    if (!changed) return message;
    this.changed = true;
    return { ...message, content };
  }

  private safeSlot(text: string): TextSlot {
    return this.guarded(text, compressSafeText(text));
  }

  private jsonSlot(text: string): TextSlot {
    return this.guarded(text, minifyJsonDocument(text) ?? text);
  }

  /** Keeps `candidate` only if it does not have more tokens than `original`. */
  private guarded(original: string, candidate: string): TextSlot {
    // On the request path only the saving matters: tokenize just the text around safe mode's
    // edits (counting is the dominant cost there); unchanged text is not tokenized at all.
    if (this.mode === 'safe' && !this.countUnchanged) {
      const delta =
        candidate === original ? 0 : countEditedTokens(original, 0, candidate, this.encoding);
      const keep = delta <= 0 ? candidate : original;
      const saved = delta <= 0 ? -delta : 0;
      return {
        original,
        originalTokens: saved,
        safe: keep,
        safeTokens: 0,
        final: keep,
        finalTokens: 0,
      };
    }
    const originalTokens = countTokensWithEncoding(original, this.encoding);
    const tokens = countEditedTokens(original, originalTokens, candidate, this.encoding);
    const safe = tokens <= originalTokens ? candidate : original;
    const safeTokens = Math.min(tokens, originalTokens);
    return { original, originalTokens, safe, safeTokens, final: safe, finalTokens: safeTokens };
  }

  /** Lossy transforms for a large message; every text still feeds the duplicate registry. */
  private applyAggressive(slots: TextSlot[]): void {
    if (this.mode !== 'aggressive') return;
    const tokens = slots.reduce((sum, slot) => sum + slot.safeTokens, 0);
    const large = tokens >= AGGRESSIVE_MIN_TOKENS;
    for (const slot of slots) {
      if (!large) {
        registerUnits(slot.safe, this.duplicates);
        continue;
      }
      const candidate = aggressiveTransform(slot.safe, this.duplicates);
      const candidateTokens = countEditedTokens(
        slot.safe,
        slot.safeTokens,
        candidate,
        this.encoding,
      );
      // A lossy edit has to pay for itself.
      if (candidateTokens < slot.safeTokens) {
        slot.final = candidate;
        slot.finalTokens = candidateTokens;
      }
    }
  }
}

function isTextPart(part: unknown): part is Record<string, unknown> & { text: string } {
  return isRecord(part) && part.type === 'text' && typeof part.text === 'string';
}
