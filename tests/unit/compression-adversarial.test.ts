import { describe, expect, it } from 'vitest';
import { aggressiveTransform } from '../../src/compression/aggressive-transforms.js';
import { DuplicateRegistry } from '../../src/compression/duplicate-registry.js';
import { compressSafeText } from '../../src/compression/safe-transforms.js';
import { ADVERSARIAL_INPUTS } from '../helpers/adversarial-inputs.js';

/**
 * Linear work on 100 kB takes tens of milliseconds; a quadratic pattern takes minutes and runs
 * into the test timeout. The time budget itself is checked by `npm run bench:timing`, where a busy
 * machine cannot break the suite.
 */
describe('compression on adversarial input', () => {
  for (const [name, text] of Object.entries(ADVERSARIAL_INPUTS)) {
    it(`handles ${name}: a stable result no longer than the input`, () => {
      const safe = compressSafeText(text);
      const aggressive = aggressiveTransform(safe, new DuplicateRegistry());
      expect(safe.length, name).toBeLessThanOrEqual(text.length);
      expect(compressSafeText(safe), name).toBe(safe);
      expect(aggressive.length, name).toBeLessThanOrEqual(safe.length);
    });
  }
});
