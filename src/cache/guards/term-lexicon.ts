function words(list: string): ReadonlySet<string> {
  return new Set(list.split(/\s+/).filter((w) => w !== ''));
}

/**
 * Names that decide the answer even when written in lower case: programming and human
 * languages, platforms, formats, weekdays and unambiguous months. "in python" vs "in java".
 */
export const KEY_TERMS = words(`
  c++ c# f# python java javascript typescript rust golang ruby php perl swift kotlin scala haskell elixir
  erlang clojure lua matlab julia dart fortran cobol sql mysql postgres postgresql sqlite mongodb
  redis bash zsh powershell html css json yaml toml xml csv markdown latex regex
  react vue angular svelte django flask rails laravel express nextjs nodejs deno docker kubernetes
  git github gitlab aws azure gcp excel numpy pandas pytorch tensorflow
  english french spanish german italian portuguese chinese mandarin cantonese japanese korean
  russian arabic hindi bengali dutch swedish norwegian danish finnish turkish greek hebrew latin
  ukrainian vietnamese thai indonesian persian urdu
  linux ubuntu debian fedora centos windows macos osx ios android chrome firefox safari
  monday tuesday wednesday thursday friday saturday sunday
  january february april june july september october november december
  iphone ipad mac pc playstation xbox
`);

/** Titles before names, which are capitalised without being names themselves. */
export const HONORIFICS = words('mr mrs ms dr prof sir st jr sr');

/** Words that negate what follows ("n't" forms are recognised by their ending). */
export const NEGATIONS = words(`
  not no never none nobody nothing nowhere neither nor without cannot non nope
`);

/**
 * Personal pronouns by the person they name: "my name" and "your name", or "Is he older than
 * her?" and "Is she older than him?", ask about someone else. "we" counts as "I" (a paraphrase
 * often swaps them); "us" (also a country), "it" and "they" (often impersonal) are left out.
 */
export const PERSONAL_PRONOUNS: ReadonlyMap<string, string> = new Map([
  ...groupOf('first', 'i me my mine myself we our ours ourselves'),
  ...groupOf('second', 'you your yours yourself yourselves'),
  ...groupOf('he', 'he him his himself'),
  ...groupOf('she', 'she her hers herself'),
]);

function groupOf(person: string, list: string): [string, string][] {
  return list.split(' ').map((word) => [word, person]);
}

/** Question words and the class of answer each asks for. */
export const QUESTION_WORDS: ReadonlyMap<string, string> = new Map([
  ['what', 'what'],
  ['which', 'what'],
  ['how', 'what'],
  ['why', 'why'],
  ['when', 'when'],
  ['where', 'where'],
  ['who', 'who'],
  ['whom', 'who'],
  ['whose', 'who'],
]);

/** "how" followed by these asks for a quantity, not a method. */
export const HOW_QUANTITY: ReadonlyMap<string, string> = new Map([
  ['many', 'how-many'],
  ['much', 'how-many'],
  ['long', 'how-long'],
  ['often', 'how-often'],
  ['far', 'how-far'],
  ['old', 'how-old'],
  ['big', 'how-big'],
  ['large', 'how-big'],
  ['tall', 'how-big'],
  ['high', 'how-big'],
  ['deep', 'how-big'],
  ['wide', 'how-big'],
  ['heavy', 'how-big'],
  ['fast', 'how-fast'],
  ['quickly', 'how-fast'],
]);

/** Words whose two sides are ordered: "convert X to Y", "X faster than Y", "12 - 7". */
export const ORDER_CONNECTORS = words('to into than from vs versus by over per');

/** Words that say how two numbers combine. */
export const OPERATOR_WORDS: ReadonlyMap<string, string> = new Map([
  ['plus', '+'],
  ['minus', '-'],
  ['times', '*'],
  ['multiplied', '*'],
  ['divided', '/'],
  ['mod', '%'],
  ['modulo', '%'],
  ['squared', '^2'],
  ['cubed', '^3'],
]);

/** Operator symbols between numbers, by canonical meaning. */
export const OPERATOR_SYMBOLS: ReadonlyMap<string, string> = new Map([
  ['+', '+'],
  ['-', '-'],
  ['*', '*'],
  ['×', '*'],
  ['/', '/'],
  ['÷', '/'],
  ['^', '^'],
  ['=', '='],
  ['<', '<'],
  ['>', '>'],
]);

/** Prefixes that turn a word into its opposite ("safe" / "unsafe", "able" / "disable"). */
export const NEGATING_PREFIXES = ['un', 'in', 'im', 'il', 'ir', 'dis', 'non', 'de', 'anti', 'mis'];
