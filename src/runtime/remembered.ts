import { LRUCache } from 'lru-cache';

/**
 * `compute` with its answers remembered, for a pure function of a string asked the same few
 * questions on every request (a model's encoding, a URL's parts, a prompt prefix's key): the
 * least recently used answers beyond `maxEntries` are forgotten, so inputs a client invents
 * cannot grow it without bound.
 */
export function remembered<V extends {}>(
  maxEntries: number,
  compute: (input: string) => V,
): (input: string) => V {
  const answers = new LRUCache<string, V>({ max: maxEntries });
  return (input) => {
    let answer = answers.get(input);
    if (answer === undefined) {
      answer = compute(input);
      answers.set(input, answer);
    }
    return answer;
  };
}
