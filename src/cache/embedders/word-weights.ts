/**
 * Words that carry little meaning on their own, tiered by how little. Without a corpus to learn
 * inverse document frequency from, this list plays its part: function words barely move the
 * vector, very common content words count half, everything else counts fully.
 */
const FUNCTION_WORDS = `a an the and or but if then so than as of to in on at by for from with into onto
upon about over under up down out off is am are was were be been being do does did doing done have
has had having i me my mine we us our you your he him his she her it its they them their this that
these those there here what which who whom whose when where why how can could will would shall should
may might must just also too very really quite s t d ll m re ve o y please any some all each every
other such own same only both either more most much many few several lot lots get got thing things
something anything one ones way`;

const COMMON_WORDS = `make made use used using go goes going went know knew want need like good
new time people person man men woman women year years day days work way best better find give take
see look come think tell say said try trying help new old first last long little big small great
right still even well back there two`;

function toSet(words: string): ReadonlySet<string> {
  return new Set(words.split(/\s+/).filter((w) => w !== ''));
}

const FUNCTION_SET = toSet(FUNCTION_WORDS);
const COMMON_SET = toSet(COMMON_WORDS);

/** Weight of a lower-cased word before stemming: near zero for function words, up to 1. */
export function wordWeight(word: string, functionWeight: number, commonWeight: number): number {
  if (FUNCTION_SET.has(word)) return functionWeight;
  if (COMMON_SET.has(word)) return commonWeight;
  return 1;
}

/** True for function words, which are left out of bigrams and character n-grams. */
export function isFunctionWord(word: string): boolean {
  return FUNCTION_SET.has(word);
}
