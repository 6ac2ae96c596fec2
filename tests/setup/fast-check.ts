import fc from 'fast-check';

/**
 * Every property test checks the same generated cases on every run: a failure repeats, and the
 * work a file does does not vary. Set FC_SEED to explore other cases.
 */
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_261_204) });
