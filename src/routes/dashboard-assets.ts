import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * The page's own folder: src/dashboard when running from source (tests, `npm run dev`),
 * dist/dashboard when running the build, where `npm run build` put the compiled modules and the page.
 * A build without the page (only the server compiled) falls back to the sources beside it.
 */
const DASHBOARD_DIR =
  [join(HERE, '../dashboard'), join(HERE, '../../src/dashboard')].find((dir) =>
    existsSync(join(dir, 'index.html')),
  ) ?? join(HERE, '../dashboard');

/** A text asset, read (or made) once on first use. */
export function lazyAsset(make: () => string | Promise<string>): () => Promise<string> {
  let text: Promise<string> | undefined;
  return () => {
    text ??= Promise.resolve().then(make);
    return text;
  };
}

/** A file of the uplot package (the gateway serves it: the page needs no CDN). */
export function uplotFile(file: string): string {
  return readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
}

/** The page's markup. */
export function dashboardHtml(): string {
  return readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
}

/** The names (without extension) of the page's browser modules. */
export function browserModules(): string[] {
  if (!existsSync(DASHBOARD_DIR)) return [];
  const built = readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.js'));
  const files = built.length > 0 ? built : readdirSync(DASHBOARD_DIR).filter(isModuleSource);
  return files.map((f) => f.replace(/\.(js|ts)$/, ''));
}

function isModuleSource(file: string): boolean {
  return file.endsWith('.ts') && !file.endsWith('.d.ts');
}

/**
 * One browser module as JavaScript: the built file when there is one, else its TypeScript source
 * transpiled now. Only transpiled, not checked: `npm run lint` type-checks the browser code.
 */
export async function browserModule(name: string): Promise<string> {
  const built = join(DASHBOARD_DIR, `${name}.js`);
  if (existsSync(built)) return readFileSync(built, 'utf8');
  const source = join(DASHBOARD_DIR, `${name}.ts`);
  const { default: ts } = await import('typescript');
  const output = ts.transpileModule(readFileSync(source, 'utf8'), {
    fileName: source,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ES2022,
      verbatimModuleSyntax: true,
    },
  });
  return output.outputText;
}
