import { describe, expect, it } from 'vitest';
import { parseCacheControl } from '../../src/cache/cache-control.js';
import { replayChunks, splitForReplay } from '../../src/http/chat-replay.js';
import { completionFor } from '../helpers/fake-upstream.js';

describe('parseCacheControl', () => {
  it('reads no-cache, no-store and max-age in any case and order', () => {
    expect(parseCacheControl('No-Store, max-age=30 , no-cache')).toEqual({
      noCache: true,
      noStore: true,
      maxAgeMs: 30_000,
    });
  });

  it('ignores unknown directives and a malformed max-age', () => {
    expect(parseCacheControl('private, max-age=soon')).toEqual({
      noCache: false,
      noStore: false,
      maxAgeMs: null,
    });
    expect(parseCacheControl(undefined).maxAgeMs).toBeNull();
  });
});

describe('cached replay', () => {
  it('splits text into pieces that join back to exactly the text', () => {
    const text = '  Leading space, two  spaces,\nnew line and a tail. ';
    const pieces = splitForReplay(text);
    expect(pieces.join('')).toBe(text);
    expect(pieces.length).toBeGreaterThan(1);
  });

  it('streams role first, content, then finish, with no usage field unless asked', () => {
    const completion = completionFor(
      { model: 'm' },
      'one two three four five six seven eight nine',
    );
    const chunks = replayChunks(completion as never, false);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(
      completion.choices[0]?.message.content,
    );
  });
});
