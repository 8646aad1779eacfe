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
import { checkDecimalNumbers, checkNoRepeats } from './options.js';

/** The commands' names (the first word of each module's command string), and policy's group. */
const COMMANDS = [...[run, top, record, predict, profiles].map((c) => String(c.command).split(' ')[0]!), 'policy'];

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
  .help()
  .alias('h', 'help')
  .version()
  // (the help of the command given, where one was: an option's value may come before it)
  .fail(usageFailure(() => hideBin(process.argv).find((a) => COMMANDS.includes(a)), {
    ...Object.fromEntries(COMMANDS.map((c) => [c, null])), profiles: ['list', 'show', 'delete'], policy: ['check'],
  }))
  .parseAsync();
