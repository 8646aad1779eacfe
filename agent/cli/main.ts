// headroom's command line: thin commands over the rooms of agent/.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import run from './run.js';
import top from './top.js';
import policyCheck from './policy-check.js';
import record from './record.js';
import predict from './predict.js';
import profiles from './profiles.js';
import { ExitCode } from '../kernel/index.js';
import { fail, usageMessage } from './fail.js';

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
  .help()
  .alias('h', 'help')
  .version()
  .fail((msg, err) => {
    // a message: bad usage (an option's check threw, or yargs' own validation); none: a command
    // failed unexpectedly (one line all the same, the stack with HEADROOM_DEBUG)
    if (!msg && err) fail(err);
    // the help of the command given, where one was (an option's value may come before it)
    const command = hideBin(process.argv).find((a) => COMMANDS.includes(a));
    const help = command !== undefined ? `headroom ${command} --help` : 'headroom --help';
    process.stderr.write(`headroom: ${msg ? usageMessage(msg) : err?.message}\nRun '${help}' for usage.\n`);
    process.exit(ExitCode.USAGE);
  })
  .parseAsync();
