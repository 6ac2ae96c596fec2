/**
 * Groups of words whose swap flips the answer: comparatives, superlatives, directions,
 * opposite actions and opposite qualities. Each group lists its poles; words in one pole are
 * interchangeable ("largest" = "biggest").
 * A strict group must match exactly: "what is the largest planet" differs from "what is a
 * planet". A loose group only rejects a conflict (one side says "add", the other "remove"),
 * because its words are often filler ("the best way to", "set up", "a new file").
 */
interface PolarGroup {
  readonly name: string;
  readonly strict: boolean;
  readonly poles: readonly string[];
}

const GROUPS: readonly PolarGroup[] = [
  // Comparatives and superlatives.
  { name: 'more', strict: true, poles: ['more', 'less fewer'] },
  { name: 'most', strict: true, poles: ['most', 'least fewest'] },
  { name: 'bigger', strict: true, poles: ['bigger larger greater', 'smaller lesser'] },
  { name: 'biggest', strict: true, poles: ['biggest largest greatest', 'smallest tiniest'] },
  { name: 'higher', strict: true, poles: ['higher taller', 'lower'] },
  { name: 'highest', strict: true, poles: ['highest tallest', 'lowest'] },
  { name: 'longer', strict: true, poles: ['longer', 'shorter'] },
  { name: 'longest', strict: true, poles: ['longest', 'shortest'] },
  { name: 'faster', strict: true, poles: ['faster quicker', 'slower'] },
  { name: 'fastest', strict: true, poles: ['fastest quickest', 'slowest'] },
  { name: 'better', strict: true, poles: ['better', 'worse'] },
  { name: 'older', strict: true, poles: ['older elder', 'younger newer'] },
  { name: 'oldest', strict: true, poles: ['oldest eldest', 'youngest newest'] },
  { name: 'cheaper', strict: true, poles: ['cheaper', 'costlier pricier'] },
  { name: 'cheapest', strict: true, poles: ['cheapest', 'priciest'] },
  { name: 'hotter', strict: true, poles: ['hotter warmer', 'colder cooler'] },
  { name: 'hottest', strict: true, poles: ['hottest warmest', 'coldest coolest'] },
  { name: 'easier', strict: true, poles: ['easier simpler', 'harder'] },
  { name: 'easiest', strict: true, poles: ['easiest simplest', 'hardest'] },
  { name: 'stronger', strict: true, poles: ['stronger strongest', 'weaker weakest'] },
  { name: 'heavier', strict: true, poles: ['heavier heaviest', 'lighter lightest'] },
  { name: 'earlier', strict: true, poles: ['earlier earliest', 'later latest'] },
  { name: 'richer', strict: true, poles: ['richer richest', 'poorer poorest'] },
  { name: 'safer', strict: true, poles: ['safer safest', 'riskier riskiest'] },
  { name: 'closer', strict: true, poles: ['closer closest nearer nearest', 'farther farthest'] },
  {
    name: 'max',
    strict: true,
    poles: ['max maximum maximal maximize maximise', 'min minimum minimal minimize minimise'],
  },
  // Order in time and space.
  {
    name: 'before',
    strict: true,
    poles: ['before prior preceding', 'after afterwards subsequent'],
  },
  { name: 'above', strict: true, poles: ['above', 'below beneath underneath'] },
  { name: 'first', strict: true, poles: ['first', 'last final'] },
  { name: 'next', strict: true, poles: ['previous past ago', 'next upcoming future'] },
  { name: 'day', strict: true, poles: ['yesterday', 'today tonight', 'tomorrow'] },
  { name: 'ascending', strict: true, poles: ['ascending asc', 'descending desc'] },
  {
    name: 'frequency',
    strict: false,
    poles: ['always', 'usually often frequently', 'sometimes occasionally', 'rarely seldom'],
  },
  // Which thing a follow-up means: "do the same for the other function" / "… for this function"
  // are 0.99 similar to the local embedder. Loose: "do the same" alone is no conflict.
  { name: 'which-one', strict: false, poles: ['this these same', 'other others'] },
  // Plain qualities: loose, since they are often filler.
  { name: 'size', strict: false, poles: ['big large huge', 'small tiny'] },
  { name: 'height', strict: false, poles: ['high tall', 'low'] },
  { name: 'length', strict: false, poles: ['long', 'short'] },
  { name: 'speed', strict: false, poles: ['fast quick', 'slow'] },
  { name: 'good', strict: false, poles: ['good great best', 'bad poor worst'] },
  { name: 'age', strict: false, poles: ['old', 'new young'] },
  { name: 'cost', strict: false, poles: ['cheap inexpensive', 'expensive costly pricey'] },
  { name: 'heat', strict: false, poles: ['hot warm', 'cold cool'] },
  { name: 'difficulty', strict: false, poles: ['easy simple', 'hard difficult'] },
  { name: 'strength', strict: false, poles: ['strong', 'weak'] },
  { name: 'weight', strict: false, poles: ['heavy', 'lightweight'] },
  { name: 'brightness', strict: false, poles: ['light bright', 'dark'] },
  { name: 'timing', strict: false, poles: ['early', 'late'] },
  { name: 'safety', strict: false, poles: ['safe harmless', 'dangerous harmful risky'] },
  { name: 'truth', strict: false, poles: ['true correct', 'false wrong incorrect'] },
  { name: 'sign', strict: false, poles: ['positive', 'negative'] },
  {
    name: 'gender',
    strict: false,
    poles: [
      'man men male males boy boys husband father son brother',
      'woman women female females girl girls lady ladies wife mother daughter sister',
    ],
  },
  {
    name: 'pros',
    strict: false,
    poles: [
      'pro pros advantage advantages benefit benefits',
      'con cons disadvantage disadvantages drawback drawbacks downside downsides',
    ],
  },
  { name: 'life', strict: false, poles: ['alive living', 'dead died dying'] },
  { name: 'fullness', strict: false, poles: ['full', 'empty'] },
  { name: 'wetness', strict: false, poles: ['wet', 'dry'] },
  // Directions and opposite actions: loose.
  {
    name: 'trend',
    strict: false,
    poles: [
      'increase increases increased increasing raise raising grow grows growing rise rising',
      'decrease decreases decreased decreasing reduce reduces reduced reducing shrink shrinking lowering',
    ],
  },
  {
    name: 'vertical',
    strict: false,
    poles: ['up upward upwards upstairs', 'down downward downwards downstairs'],
  },
  { name: 'side', strict: false, poles: ['left', 'right'] },
  {
    name: 'compass',
    strict: false,
    poles: ['north northern', 'south southern', 'east eastern', 'west western'],
  },
  {
    name: 'inside',
    strict: false,
    poles: [
      'inside internal interior indoor indoors',
      'outside external exterior outdoor outdoors',
    ],
  },
  { name: 'edge', strict: false, poles: ['top', 'bottom'] },
  { name: 'front', strict: false, poles: ['front', 'back rear behind'] },
  {
    name: 'start',
    strict: false,
    poles: [
      'start starts started starting begin begins beginning began',
      'stop stops stopped stopping end ends ended ending finish finishes finished',
    ],
  },
  {
    name: 'open',
    strict: false,
    poles: ['open opens opened opening', 'close closes closed closing shut'],
  },
  {
    name: 'enable',
    strict: false,
    poles: [
      'enable enables enabled enabling activate activated',
      'disable disables disabled disabling deactivate deactivated',
    ],
  },
  {
    name: 'add',
    strict: false,
    poles: [
      'add adds added adding insert inserted',
      'remove removes removed removing delete deletes deleted deleting',
    ],
  },
  {
    name: 'trade',
    strict: false,
    poles: ['buy buys buying bought purchase purchased', 'sell sells selling sold'],
  },
  {
    name: 'win',
    strict: false,
    poles: ['win wins winning won gain gains gained gaining', 'lose loses losing lost'],
  },
  { name: 'profit', strict: false, poles: ['profit profits', 'loss losses'] },
  {
    name: 'import',
    strict: false,
    poles: ['import imports imported importing', 'export exports exported exporting'],
  },
  {
    name: 'upload',
    strict: false,
    poles: ['upload uploads uploaded uploading', 'download downloads downloaded downloading'],
  },
  {
    name: 'push',
    strict: false,
    poles: ['push pushes pushed pushing', 'pull pulls pulled pulling'],
  },
  {
    name: 'send',
    strict: false,
    poles: ['send sends sent sending', 'receive receives received receiving'],
  },
  {
    name: 'lend',
    strict: false,
    poles: ['lend lends lent lending', 'borrow borrows borrowed borrowing'],
  },
  {
    name: 'encrypt',
    strict: false,
    poles: [
      'encrypt encrypts encrypted encrypting encryption',
      'decrypt decrypts decrypted decrypting decryption',
    ],
  },
  {
    name: 'encode',
    strict: false,
    poles: ['encode encodes encoded encoding', 'decode decodes decoded decoding'],
  },
  { name: 'io', strict: false, poles: ['input inputs', 'output outputs'] },
  {
    name: 'read',
    strict: false,
    poles: ['read reads reading', 'write writes writing wrote written'],
  },
  { name: 'tier', strict: false, poles: ['client clients frontend', 'server servers backend'] },
  { name: 'visibility', strict: false, poles: ['public', 'private'] },
  { name: 'dynamic', strict: false, poles: ['static', 'dynamic'] },
  {
    name: 'sync',
    strict: false,
    poles: ['sync synchronous synchronously', 'async asynchronous asynchronously'],
  },
  { name: 'remote', strict: false, poles: ['local locally', 'remote remotely'] },
  { name: 'relative', strict: false, poles: ['absolute', 'relative'] },
  { name: 'case', strict: false, poles: ['uppercase', 'lowercase'] },
  { name: 'axis', strict: false, poles: ['horizontal horizontally', 'vertical vertically'] },
  {
    name: 'permit',
    strict: false,
    poles: [
      'allow allows allowed allowing accept accepts accepted permit',
      'deny denies denied reject rejects rejected block blocks blocked forbid forbidden ban banned',
    ],
  },
  {
    name: 'include',
    strict: false,
    poles: ['include includes included including', 'exclude excludes excluded excluding'],
  },
  { name: 'show', strict: false, poles: ['show shows showing shown', 'hide hides hiding hidden'] },
  { name: 'attach', strict: false, poles: ['attach attached', 'detach detached'] },
  {
    name: 'pass',
    strict: false,
    poles: [
      'pass passes passed passing succeed succeeds success successful',
      'fail fails failed failing failure',
    ],
  },
  { name: 'love', strict: false, poles: ['love loves loved', 'hate hates hated'] },
  { name: 'singular', strict: false, poles: ['singular', 'plural'] },
  { name: 'since', strict: false, poles: ['since', 'until till'] },
  { name: 'thickness', strict: false, poles: ['thick', 'thin'] },
  { name: 'width', strict: false, poles: ['wide broad', 'narrow'] },
  { name: 'depth', strict: false, poles: ['deep', 'shallow'] },
  { name: 'loudness', strict: false, poles: ['loud', 'quiet'] },
];

/** Where a word sits in the polar groups. */
export interface PolarEntry {
  readonly group: string;
  readonly strict: boolean;
  readonly pole: number;
}

/** Polar entry of each lower-cased word. */
export const POLAR_WORDS: ReadonlyMap<string, PolarEntry> = (() => {
  const map = new Map<string, PolarEntry>();
  for (const group of GROUPS) {
    group.poles.forEach((words, pole) => {
      for (const word of words.split(' ')) {
        if (map.has(word)) throw new Error(`polar lexicon: "${word}" is listed twice`);
        map.set(word, { group: group.name, strict: group.strict, pole });
      }
    });
  }
  return map;
})();

/** Nouns after "best"/"good" that make it filler ("the best way to"), not a superlative. */
export const FILLER_AFTER_BEST: ReadonlySet<string> = new Set(
  'way ways method methods practice practices approach option options place time idea tool tools'.split(
    ' ',
  ),
);
