/** The first line of an error's message: what a log line may say of a failure (never a statement). */
export function errorReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
