// headroom's command line: thin commands over the rooms of agent/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import run from './run.js';
import top from './top.js';
import policyCheck from './policy-check.js';
import record from './record.js';
import predict from './predict.js';
import profiles from './profiles.js';
import { usageFailure } from './fail.js';
import { checkDecimalNumbers, checkNoRepeats, checkValuesGiven } from './options.js';

/** The commands' names (the first word of each module's command string), and policy's group. */
const COMMANDS = [...[run, top, record, predict, profiles].map((c) => String(c.command).split(' ')[0]!), 'policy'];

/** Each command's subcommands (null: none). */
const SUBCOMMANDS: Readonly<Record<string, readonly string[] | null>> = {
  ...Object.fromEntries(COMMANDS.map((c) => [c, null])), profiles: ['list', 'show', 'delete'], policy: ['check'],
};

/** The command given, and its subcommand where it has them and one was given: `policy check`. */
function givenCommand(): string | undefined {
  const args = hideBin(process.argv);
  const at = args.findIndex((a) => COMMANDS.includes(a));
  if (at < 0) return undefined;
  const sub = args.slice(at + 1).find((a) => SUBCOMMANDS[args[at]!]?.includes(a));
  return sub === undefined ? args[at] : `${args[at]} ${sub}`;
}

await yargs(hideBin(process.argv))
  .scriptName('headroom')
  .usage('$0 <command> [options]\n\neBPF observability and actuation agent: sees a shortage coming, makes room, explains every move.')
  .command(run)
  .command(top)
  .command(record)
  .command(predict)
  .command(profiles)
  .command('policy', 'work with policy files', (y) => y.command(policyCheck).demandCommand(1, 'name a policy subcommand (check)'))
  .demandCommand(1, 'name a command (run, top, record, predict, profiles, policy)')
  .strict()
  .check(checkNoRepeats, true)
  .check((_argv, options) => checkDecimalNumbers(hideBin(process.argv), options as { number?: string[] }), true)
  .check((_argv, options) => checkValuesGiven(hideBin(process.argv), options as Parameters<typeof checkValuesGiven>[1]), true)
  .help()
  .alias('h', 'help')
  .version()
  // (the help of the command given, where one was: an option's value may come before it)
  .fail(usageFailure(givenCommand, SUBCOMMANDS))
  .parseAsync();
