#!/usr/bin/env node
/**
 * `natter` — the operator's command line: serve, migrate, manage users, rooms and tokens, run the benchmark.
 * Every command has --help. Exit codes: 0 ok, 1 unexpected failure, 64 usage error, 65 bad input (e.g. the user
 * does not exist), 69 a service is unavailable (database, Redis), 78 invalid configuration.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.js';
import { isChatError } from '../core/errors.js';
import { COMMANDS, type Command } from './commands.js';
import { EXIT, UsageError } from './io.js';

const VERSION_TEXT = async () => (await import('../natter.js')).VERSION;

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: natter <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options:',
    '  -h, --help     show help (also: natter <command> --help)',
    '  -v, --version  print the version',
    '',
    'Configuration comes from the environment and ./.env, as for the server (docs/operations.md).',
    'Exit codes: 0 ok, 1 failure, 64 usage, 65 bad input, 69 service unavailable, 78 invalid configuration.',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  const options = Object.entries(c.options ?? {}).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` <${o.valueName ?? 'value'}>` : ''}`;
    return `  ${flag.padEnd(30)} ${o.description}`;
  });
  return [
    `Usage: natter ${c.name}${c.args ? ` ${c.args}` : ''}${options.length ? ' [options]' : ''}`,
    '',
    c.summary,
    ...(c.details ? ['', c.details] : []),
    '',
    'Options:',
    ...options,
    `  ${'-h, --help'.padEnd(30)} show this help`,
  ].join('\n');
}

/** Finds the longest command name at the start of argv ("user create" before "user"). */
function findCommand(argv: string[]): { command: Command | undefined; rest: string[]; group: string | undefined } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words), group: undefined };
  }
  const group = argv[0] !== undefined && COMMANDS.some((c) => c.name.startsWith(`${argv[0]} `)) ? argv[0] : undefined;
  return { command: undefined, rest: argv.slice(1), group };
}

export async function run(argv: string[]): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? findCommand(argv.slice(1)).command : undefined;
    process.stdout.write(`${topic ? commandHelp(topic) : overview()}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`natter ${await VERSION_TEXT()}\n`);
    return EXIT.ok;
  }
  const { command, rest, group } = findCommand(argv);
  if (!command) {
    if (group) {
      const subs = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
      const asked = rest[0] === undefined || rest[0] === '--help' || rest[0] === '-h';
      process[asked ? 'stdout' : 'stderr'].write(
        `${asked ? '' : `natter: unknown command "${group} ${rest[0]}"\n`}Usage: natter ${group} <command>\n\n${subs.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`).join('\n')}\n`,
      );
      return asked && rest[0] !== undefined ? EXIT.ok : EXIT.usage;
    }
    process.stderr.write(`natter: unknown command "${first}" (see natter --help)\n`);
    return EXIT.usage;
  }
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest; // after `--`: the bench's own options
  if (own.includes('--help') || own.includes('-h')) {
    process.stdout.write(`${commandHelp(command)}\n`);
    return EXIT.ok;
  }
  try {
    const parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(Object.entries(command.options ?? {}).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      allowPositionals: true,
      strict: !command.passThrough,
    });
    return await command.run({ values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals, raw: rest });
  } catch (err) {
    return report(err, command);
  }
}

function report(err: unknown, command: Command): number {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`natter ${command.name}: ${(err as Error).message}\n\n${commandHelp(command)}\n`);
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`natter: ${err.message}\n`);
    return EXIT.config;
  }
  if (isChatError(err)) {
    process.stderr.write(`natter ${command.name}: ${err.message} (${err.code})\n`);
    return err.code === 'UNAVAILABLE' ? EXIT.unavailable : err.code === 'INTERNAL' ? EXIT.failure : EXIT.dataError;
  }
  process.stderr.write(`natter ${command.name}: ${err instanceof Error ? err.message : String(err)}\n`);
  return EXIT.failure;
}

run(process.argv.slice(2)).then(
  (code) => {
    // `serve` keeps running; every other command ends here.
    if (code !== EXIT.running) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`natter: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(EXIT.failure);
  },
);
