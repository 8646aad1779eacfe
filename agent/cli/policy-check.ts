// `headroom policy check <file>`: validate a policy and say, in one line, what it permits.
// Exit codes: 0 valid, 3 invalid or unreadable (problems on stderr, or in the JSON on stdout).
import type { Argv, CommandModule } from 'yargs';
import { loadPolicy, PolicyError, type PolicyProblem } from '../plan/policy.js';
import type { Policy } from '../plan/types.js';
import { isMain, runAlone } from './alone.js';
import { shownUrl } from '../plan/http-url.js';

export const EXIT_OK = 0;
export const EXIT_INVALID = 3;

export interface CheckOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The whole command without touching the process: what to print and the exit code. */
export function checkPolicyFile(file: string, json = false): CheckOutcome {
  let policy: Policy;
  try {
    policy = loadPolicy(file);
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err;
    const problems: PolicyProblem[] = err.problems;
    return json
      ? { exitCode: EXIT_INVALID, stdout: JSON.stringify({ ok: false, problems }) + '\n', stderr: '' }
      : { exitCode: EXIT_INVALID, stdout: '', stderr: `${err.message}\n${countProblems(problems.length)} in ${file}\n` };
  }
  return json
    ? { exitCode: EXIT_OK, stdout: JSON.stringify({ ok: true, problems: [] }) + '\n', stderr: '' }
    : { exitCode: EXIT_OK, stdout: `${file}: ok: ${summarize(policy)}\n`, stderr: '' };
}

function countProblems(n: number): string {
  return n === 1 ? '1 problem' : `${n} problems`;
}

/** "mode enforce; 3 workloads (web critical, ...); may throttle CPU of batch (2 -> 0.25 cores)" */
export function summarize(policy: Policy): string {
  const { workloads } = policy;
  const listed = workloads.length === 0
    ? 'no workloads'
    : `${workloads.length} workload${workloads.length === 1 ? '' : 's'} (${workloads.map((w) => `${w.name} ${w.class}`).join(', ')})`;
  const throttles = workloads
    .filter((w) => w.cpu?.throttle)
    .map((w) => `${w.name} (${w.cpu!.throttle!.maxCores} -> ${w.cpu!.throttle!.minCores} cores, ${w.cpu!.throttle!.stepCores} a step)`);
  const protectedOnes = workloads.filter((w) => w.objectives?.runqueueP99Ms !== undefined).map((w) => w.name);

  let acts: string;
  if (policy.mode === 'observe') acts = 'observes only, actuates nothing';
  else if (throttles.length === 0) acts = 'no workload permits a throttle, nothing to actuate';
  else if (protectedOnes.length === 0) acts = 'no critical workload has an objective, nothing to actuate';
  else {
    const verb = policy.mode === 'enforce' ? 'may throttle' : 'would throttle (recommend only, writes nothing)';
    acts = `${verb} CPU of ${throttles.join(', ')} to protect ${protectedOnes.join(', ')}`;
  }
  const otlp = policy.export.otlp.endpoint !== null ? `; \`run\` pushes OTLP to ${shownUrl(policy.export.otlp.endpoint)} every ${policy.export.otlp.intervalMs / 1000} s` : '';
  return `mode ${policy.mode}; ${listed}; ${acts}${otlp}`;
}

interface CheckArgs {
  file: string;
  json: boolean;
}

/** `check <file>`: the default export, mounted under a `policy` command by main.ts. */
const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check <file>',
  describe: 'validate a policy file; exit 0 when valid, 3 when not',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'policy YAML file' })
      .option('json', { type: 'boolean', default: false, describe: 'print {ok, problems} as JSON' })
      .check((a) => {
        if (a.file === '') throw new Error('the policy file needs a path (it was given as an empty string)');
        return true;
      }),
  handler: (args) => {
    const out = checkPolicyFile(args.file, args.json);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    process.exitCode = out.exitCode;
  },
};

export default checkCommand;

/** `policy check <file>` whole, for a CLI that mounts it at the top: `.command(policyCommand)`. */
export const policyCommand: CommandModule = {
  command: 'policy',
  describe: 'work with policy files',
  builder: (y: Argv) => y.command(checkCommand).demandCommand(1, 'name a policy subcommand (check)'),
  handler: () => {},
};

// Runnable on its own too (`node dist/agent/cli/policy-check.js policy check FILE`): the tests
// use it without depending on every command main.ts loads.
if (isMain(import.meta.url)) await runAlone(policyCommand, 'policy', ['check']);
