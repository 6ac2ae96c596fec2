/** Every prompt compression mode: not at all, only meaning-preserving edits, or also measured lossy ones. */
export const COMPRESSION_MODES = ['off', 'safe', 'aggressive'] as const;

/** How hard to compress. */
export type CompressionMode = (typeof COMPRESSION_MODES)[number];

/** Whether a text (a header, a stored key setting) names a compression mode. */
export function isCompressionMode(value: string | null | undefined): value is CompressionMode {
  return (COMPRESSION_MODES as readonly (string | null | undefined)[]).includes(value);
}

/** The modes as a sentence fragment for messages: `off, safe or aggressive`. */
export const COMPRESSION_MODES_TEXT = `${COMPRESSION_MODES.slice(0, -1).join(', ')} or ${COMPRESSION_MODES.at(-1)}`;
