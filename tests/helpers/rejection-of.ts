/** The error `p` rejects with; fails the test when it resolves or rejects with a non-Error. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  const outcome = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a rejection, got ${String(outcome)}`);
  return outcome;
}
