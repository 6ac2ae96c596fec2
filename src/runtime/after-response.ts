/** Resolves on the next turn of the event loop, after the response has been handed to the socket. */
export const afterResponse = (): Promise<void> =>
  new Promise<void>((resolve) => setImmediate(resolve));
