/** A bad command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A flag a command takes: text after it (`--rpm 60`, `--rpm=60`) or a switch (`--json`). */
export type FlagSpec =
  | { type: 'string'; value: string; help: string; required?: boolean }
  | { type: 'boolean'; help: string };

/** A command's flags by name (without the dashes). */
export type FlagSpecs = Record<string, FlagSpec>;

/** The flags given, typed by their specs. */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]?: F[K] extends { type: 'boolean' } ? boolean : string;
};

/** A positional argument. */
export interface ArgSpec {
  name: string;
  help: string;
  optional?: boolean;
}

/** A command or a group of commands: runs from its own arguments, or prints its help. */
export interface Command {
  /** Its words after `tollgate`: `keys create`. */
  name: string;
  /** One line for the lists in the help of the group above it. */
  summary: string;
  run(argv: readonly string[]): Promise<void>;
}

/** Whether the arguments ask for help (before a `--`, which ends the flags). */
export function asksForHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '-h' || arg === '--help') return true;
  }
  return false;
}

/** Writes a help text to stdout. */
export function printHelp(text: string): void {
  process.stdout.write(`${text.trimEnd()}\n`);
}

/** Two columns: names padded to one width, then their help. */
export function columns(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
}

function flagUsage(name: string, spec: FlagSpec): string {
  const text = spec.type === 'string' ? `--${name} ${spec.value}` : `--${name}`;
  return spec.type === 'string' && spec.required ? text : `[${text}]`;
}

/** Where usage lines wrap. */
const USAGE_WIDTH = 100;

/** The usage line of a command: `usage: tollgate keys revoke <id> [--json]`. */
export function usageLine(name: string, args: readonly ArgSpec[], flags: FlagSpecs): string {
  const parts = [
    ...args.map((a) => (a.optional ? `[<${a.name}>]` : `<${a.name}>`)),
    ...Object.entries(flags).map(([flag, spec]) => flagUsage(flag, spec)),
  ];
  const lead = `usage: tollgate ${name}`;
  const lines = [lead];
  for (const part of parts) {
    const last = lines.length - 1;
    if (`${lines[last]} ${part}`.length > USAGE_WIDTH && lines[last] !== lead) {
      lines.push(`${' '.repeat(lead.length)} ${part}`);
    } else lines[last] = `${lines[last]} ${part}`;
  }
  return lines.join('\n');
}

/**
 * Reads a command's arguments: `--flag value`, `--flag=value`, switches, positionals, and `--`
 * before positionals that start with a dash. Every mistake is one line in our words.
 */
export function parseCommandLine<F extends FlagSpecs>(
  command: string,
  argv: readonly string[],
  specs: { args: readonly ArgSpec[]; flags: F },
): { flags: FlagValues<F>; args: string[] } {
  const flags: Record<string, string | boolean> = {};
  const args: string[] = [];
  const see = `(see tollgate ${command} --help)`;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      args.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq === -1 ? undefined : eq) : '';
    const spec = Object.hasOwn(specs.flags, name) ? specs.flags[name] : undefined;
    const shown = eq === -1 ? arg : arg.slice(0, eq);
    if (!spec) throw new UsageError(`unknown flag ${shown} for 'tollgate ${command}' ${see}`);
    if (name in flags) throw new UsageError(`${shown} is given twice`);
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`${shown} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new UsageError(`${shown} needs a value (${spec.value})`);
    flags[name] = value;
  }
  const required = specs.args.filter((a) => !a.optional).length;
  const missing = specs.args[args.length];
  if (args.length < required && missing) {
    throw new UsageError(`'tollgate ${command}' needs <${missing.name}> ${see}`);
  }
  if (args.length > specs.args.length) {
    throw new UsageError(
      `unexpected argument '${args[specs.args.length]}' for 'tollgate ${command}' ${see}`,
    );
  }
  return { flags: flags as FlagValues<F>, args };
}

/** What a command is: its words, its help, its arguments and what it does with them. */
export interface CommandSpec<F extends FlagSpecs> {
  name: string;
  summary: string;
  /** More to say in `--help`, below the usage line. */
  description?: string;
  args?: readonly ArgSpec[];
  flags: F;
  action(input: { flags: FlagValues<F>; args: string[] }): Promise<void>;
}

/** The help text of a command. */
function commandHelp<F extends FlagSpecs>(spec: CommandSpec<F>, args: readonly ArgSpec[]): string {
  const rows: [string, string][] = [
    ...args.map((a): [string, string] => [`<${a.name}>`, a.help]),
    ...Object.entries(spec.flags).map(([name, flag]): [string, string] => [
      flag.type === 'string' ? `--${name} ${flag.value}` : `--${name}`,
      flag.help,
    ]),
    ['-h, --help', 'show this help'],
  ];
  const about = spec.description ? `${spec.summary}\n\n${spec.description}` : spec.summary;
  return `${usageLine(spec.name, args, spec.flags)}\n\n${about}\n\n${columns(rows)}\n`;
}

/** A command that answers `-h`/`--help` with its own usage and acts only otherwise. */
export function defineCommand<F extends FlagSpecs>(spec: CommandSpec<F>): Command {
  const args = spec.args ?? [];
  return {
    name: spec.name,
    summary: spec.summary,
    async run(argv) {
      if (asksForHelp(argv)) return printHelp(commandHelp(spec, args));
      await spec.action(parseCommandLine(spec.name, argv, { args, flags: spec.flags }));
    },
  };
}

/** A command with subcommands (`keys create`, `keys list`…), with a help that lists them. */
export function defineGroup(spec: {
  name: string;
  summary: string;
  commands: readonly Command[];
}): Command {
  const sub = (c: Command) => c.name.slice(spec.name.length + 1);
  const names = spec.commands.map(sub).join(', ');
  const rows = spec.commands.map((c): [string, string] => [sub(c), c.summary]);
  const help = [
    `usage: tollgate ${spec.name} <command> [arguments] [flags]`,
    spec.summary,
    `commands:\n${columns([...rows, ['-h, --help', 'show this help']])}`,
    `Run 'tollgate ${spec.name} <command> --help' for a command's arguments and flags.`,
  ].join('\n\n');
  return {
    name: spec.name,
    summary: spec.summary,
    async run(argv) {
      const [word, ...rest] = argv;
      if (word === undefined) {
        throw new UsageError(`'tollgate ${spec.name}' needs a command: ${names}`);
      }
      if (word === '-h' || word === '--help' || word === 'help') return printHelp(help);
      const command = spec.commands.find((c) => sub(c) === word);
      if (!command) throw new UsageError(`unknown ${spec.name} command '${word}' (${names})`);
      await command.run(rest);
    },
  };
}
