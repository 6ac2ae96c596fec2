import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The gateway's version from package.json (two folders up from both src/runtime and dist/runtime). */
export function packageVersion(): string {
  cached ??= (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  return cached;
}
