import pg from 'pg';

/** Calls `fn` with a new session to the PostgreSQL server at `url`, closed when `fn` settles. */
export async function withServerSession<T>(
  url: string,
  fn: (session: pg.Client) => Promise<T>,
): Promise<T> {
  const session = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  // A failure reaches the caller through its query; the client's own event must not end the run.
  session.on('error', () => {});
  await session.connect();
  try {
    return await fn(session);
  } finally {
    await session.end().catch(() => {});
  }
}

/** Runs `statements` in order on one new session to the server at `url`. */
export async function runOnServer(url: string, ...statements: string[]): Promise<void> {
  await withServerSession(url, async (session) => {
    for (const statement of statements) await session.query(statement);
  });
}
