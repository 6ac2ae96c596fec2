// A process that opens an embedded data directory, for the lock tests: run with `node --import tsx`.
// `hold <dir>`: opens, migrates, writes one tenant, prints "held", closes when stdin ends.
// `open <dir>`: opens; prints "opened", or the refusal on stderr with exit code 3.
import { DataDirBusyError } from '../../src/storage/data-dir-lock.js';
import { openDatabase } from '../../src/storage/database.js';
import { tenants } from '../../src/storage/schema.js';

const [mode, dataDir] = process.argv.slice(2);
if (!dataDir || (mode !== 'hold' && mode !== 'open')) {
  process.stderr.write('usage: data-dir-holder hold|open <dir>\n');
  process.exit(2);
}
try {
  const handle = await openDatabase({ kind: 'pglite', dataDir });
  if (mode === 'hold') {
    await handle.migrate();
    await handle.db.insert(tenants).values({ id: 'ten_holder', name: 'written by the holder' });
    process.stdout.write(`held by pid ${process.pid}\n`);
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.once('end', resolve));
  } else {
    process.stdout.write('opened\n');
  }
  await handle.close();
} catch (err) {
  if (err instanceof DataDirBusyError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(3);
  }
  throw err;
}
