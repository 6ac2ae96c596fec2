import { UNCOUNTED_TICKET } from './limit-ticket.js';
import {
  type AdmitResult,
  type LimitState,
  type LimitSubject,
  type RateLimiter,
  UNLIMITED_STATE,
} from './rate-limiter.js';

/** A limiter that admits everything and reports every limit as unlimited (no headers). */
export class NoopRateLimiter implements RateLimiter {
  async admit(_subject: LimitSubject, _reserveTokens: number): Promise<AdmitResult> {
    return { ok: true, state: UNLIMITED_STATE, ticket: UNCOUNTED_TICKET };
  }

  async peek(_subject: LimitSubject): Promise<LimitState> {
    return UNLIMITED_STATE;
  }

  async close(): Promise<void> {}
}
