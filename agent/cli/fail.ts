// Turns the errors a user can meet into one line and a distinct exit code, never a stack trace.
import { hideBin } from 'yargs/helpers';
import { BpfError, ExitCode, PreflightError, VerifierError } from '../kernel/index.js';

export function exitCodeOf(err: unknown): number {
  if (err instanceof PreflightError) return err.exitCode;
  if (err instanceof VerifierError) return ExitCode.VERIFIER_REJECTED;
  if (err instanceof BpfError && err.op.startsWith('attaching')) return ExitCode.ATTACH_FAILED;
  if (err instanceof BpfError && (err.code === 'EPERM' || err.code === 'EACCES')) return ExitCode.NO_PRIVILEGE;
  if ((err as { name?: string })?.name === 'PolicyError') return ExitCode.POLICY_INVALID;
  return ExitCode.FAILURE;
}

export function fail(err: unknown): never {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`headroom: ${msg}\n`);
  if (process.env.HEADROOM_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exit(exitCodeOf(err));
}

/**
 * A yargs usage message as the user should read it: yargs names an unknown `--some-flag` twice,
 * as typed and camel-cased ("Unknown arguments: some-flag, someFlag"); once, as typed, is enough.
 */
export function usageMessage(msg: string): string {
  const m = /^(Unknown arguments?): (.*)$/s.exec(msg);
  if (!m) return msg;
  const names = m[2]!.split(', ');
  // yargs' own direction: a dashed name and its camel-cased twin (foo-1 -> foo1, Xy-z -> XyZ)
  const camel = (n: string): string => n.replace(/-+(.)/g, (_, c: string) => c.toUpperCase());
  const kept = names.filter((n) => !names.some((other) => other !== n && camel(other) === n));
  return `${kept.length === 1 ? 'Unknown argument' : 'Unknown arguments'}: ${kept.join(', ')}`;
}

/** What each command's positional argument is, for a command given without it. */
const POSITIONALS: Readonly<Record<string, string>> = {
  'profiles show': 'the profile to show: its signature, or a prefix only it has (`headroom profiles list` lists them)',
  'profiles delete': 'the profile to delete: its signature, or a prefix only it has (`headroom profiles list` lists them)',
  'policy check': 'the policy file to check (a YAML file)',
};

/**
 * yargs' "Not enough non-option arguments: got 0, need at least 1" as the argument that is
 * missing (`profiles show` without an id named nothing it wanted); undefined for another message.
 */
export function missingPositionalMessage(msg: string, command: string | undefined): string | undefined {
  if (!/^Not enough non-option arguments: got \d+, need at least \d+$/.test(msg) || command === undefined) return undefined;
  const what = POSITIONALS[command];
  return what === undefined ? undefined : `${command} needs ${what}`;
}

/**
 * An unknown command or subcommand as such. Where a word is not a command, yargs reports every
 * option after it as unknown too, the word among them: `profiles lst --dir d` read "Unknown
 * arguments: dir, lst", though --dir is `list`'s. `commands`: each command, with its
 * subcommands where it is a group. undefined where no unknown word is the command's place.
 */
export function unknownCommandMessage(msg: string, argv: readonly string[], commands: Readonly<Record<string, readonly string[] | null>>): string | undefined {
  const m = /^Unknown arguments?: (.*)$/s.exec(msg);
  if (!m) return undefined;
  const unknown = new Set(m[1]!.split(', '));
  const words = argv.filter((a) => !a.startsWith('-'));
  const first = words[0];
  if (first !== undefined && unknown.has(first) && !(first in commands)) {
    return `unknown command "${first}"; expected one of ${Object.keys(commands).join(', ')}`;
  }
  const sub = first !== undefined ? commands[first] : undefined;
  const second = words[1];
  if (sub && second !== undefined && unknown.has(second) && !sub.includes(second)) {
    return `unknown ${first} subcommand "${second}"; expected ${sub.length > 2 ? `one of ${sub.join(', ')}` : sub.join(' or ')}`;
  }
  return undefined;
}

/**
 * yargs' fail handler. A message is bad usage (an option's check threw, or yargs' own
 * validation): one line, the help to read, exit 2. None: a command failed unexpectedly: `fail`'s
 * one line (the stack with HEADROOM_DEBUG). `command`: the command whose help to name, if any.
 */
export function usageFailure(command: () => string | undefined, commands?: Readonly<Record<string, readonly string[] | null>>) {
  return (msg: string | undefined, err: Error | undefined): never => {
    if (!msg && err) fail(err);
    const c = command();
    const unknownCommand = msg && commands ? unknownCommandMessage(msg, hideBin(process.argv), commands) : undefined;
    const said = unknownCommand ?? (msg ? missingPositionalMessage(msg, c) ?? usageMessage(msg) : err?.message);
    process.stderr.write(`headroom: ${said}\nRun '${c !== undefined ? `headroom ${c} --help` : 'headroom --help'}' for usage.\n`);
    process.exit(ExitCode.USAGE);
  };
}
