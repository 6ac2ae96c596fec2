/** The label value of every model that has not earned one of its own. */
export const OTHER_MODEL = 'other';

/** How many model names answered by the upstream become label values of their own, at most. */
export const LEARNED_MODELS_MAX = 100;

/**
 * The `model` label of the metrics, kept to a bounded set: the client chooses the model name, and
 * every distinct value would be a new series of every metric that carries it, forever. A name is
 * its own label value when configuration names it (the routing table's models and aliases) or
 * once a request for it was answered successfully (by the upstream, or from the cache of such an
 * answer), up to `LEARNED_MODELS_MAX` learned names; every other name is `other`. One set lookup
 * per request; nothing is allocated once a name is known.
 */
export class ModelLabels {
  readonly #known: Set<string>;
  #learned = 0;

  constructor(
    configured: Iterable<string>,
    private readonly learnedMax = LEARNED_MODELS_MAX,
  ) {
    this.#known = new Set(configured);
  }

  /** The label value for a model; `answered` learns it while there is room. */
  of(model: string, answered: boolean): string {
    if (this.#known.has(model)) return model;
    if (!answered || this.#learned >= this.learnedMax) return OTHER_MODEL;
    this.#known.add(model);
    this.#learned++;
    return model;
  }
}
