// One command run as its own program (`node dist/agent/cli/predict.js predict ...`): the tests
// use predict, profiles and policy check so, without the kernel modules main.ts loads. It parses
// as main.ts does: strict, no option of one value given twice, bad usage one line and exit 2.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { usageFailure } from './fail.js';
import { checkNoRepeats } from './options.js';

/** Whether the module at `moduleUrl` (its import.meta.url) is the program node was started with. */
export const isMain = (moduleUrl: string): boolean =>
  process.argv[1] !== undefined && moduleUrl === pathToFileURL(realpathSync(process.argv[1])).href;

/**
 * Parses the process's arguments for `command` alone; `name` is the command whose help bad usage
 * names, with the subcommand given after it (`profiles show`: its missing id is named, not
 * yargs' "Not enough non-option arguments").
 */
export async function runAlone(command: CommandModule<any, any>, name: string, subcommands: readonly string[] = []): Promise<void> {
  const args = hideBin(process.argv);
  const at = args.indexOf(name);
  const sub = at < 0 ? undefined : args.slice(at + 1).find((a) => subcommands.includes(a));
  await yargs(args).scriptName('headroom').command(command).demandCommand(1).strict()
    .check(checkNoRepeats, true).help()
    .fail(usageFailure(() => (sub === undefined ? name : `${name} ${sub}`), subcommands.length > 0 ? { [name]: subcommands } : undefined))
    .parseAsync();
}
