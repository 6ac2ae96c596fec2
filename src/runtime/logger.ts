import type { Logger } from 'pino';
import { pino } from 'pino';
import { loggableError } from './error-reason.js';

export type { Logger } from 'pino';

/** Paths that must never reach a log line, wherever they appear. */
const REDACT_PATHS = [
  'authorization',
  'apiKey',
  'key',
  'secret',
  'headers.authorization',
  'req.headers.authorization',
  '*.apiKey',
  '*.authorization',
];

/** The process logger: JSON lines on stderr, levels as names (`"level":"info"`), secrets redacted. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: loggableError },
      base: { service: 'tollgate', pid: process.pid },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
