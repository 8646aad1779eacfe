// `headroom top`: what each workload is doing with the CPU right now; observes only.
import type { CommandModule } from 'yargs';
import { isRingSize, loadPolicy, MAX_SLOW_EVENT_MS } from '../plan/policy.js';
import { checkInterval, checkPaths, intervalTooShortFor } from './options.js';
import { defaultObjectPath, defaultPolicyPath, defaultStateDir } from './paths.js';
import { renderTable, reportJson, SORT_KEYS, sortProbe, type SortKey } from './table.js';
import { runSession } from './session.js';
import { fail, usageFailure } from './fail.js';

interface TopArgs {
  interval: number;
  once: boolean;
  count: number;
  json: boolean;
  sort: SortKey;
  all: boolean;
  'slow-wakeup-ms'?: number;
  'ring-size'?: number;
  'state-dir': string;
  'bpf-object': string;
  policy: string;
}

const top: CommandModule<object, TopArgs> = {
  command: 'top',
  describe: 'live table per workload: CPU, run-queue p50/p99, switches, page faults, block I/O, TCP (observes only)',
  builder: (y) =>
    y
      .option('interval', { type: 'number', default: 1, describe: 'seconds between refreshes' })
      .option('once', { type: 'boolean', default: false, describe: 'print one refresh (after one interval) and exit (its forecasts stand on that one tick: the table says so)' })
      .option('count', { type: 'number', default: 0, describe: 'exit after this many refreshes (0 = until Ctrl-C)' })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON document per refresh, workloads keyed by cgroup path' })
      .option('sort', { choices: SORT_KEYS, default: 'cpu' as SortKey, describe: 'table order: a column, largest first (saturation: soonest first), or path' })
      .option('all', { type: 'boolean', default: false, describe: 'include idle workloads, every cgroup with processes of its own (asleep on its memory too), with its memory (read from every such cgroup at every tick: thousands of cgroups cost thousands of file reads a tick)' })
      .option('slow-wakeup-ms', { type: 'number', describe: 'ring event for run-queue waits at or above this (default: policy)' })
      .option('ring-size', { type: 'number', describe: 'ring buffer bytes, a power of two >= 4096 (default: policy)' })
      .option('policy', {
        type: 'string', default: defaultPolicyPath,
        describe: "policy YAML whose probe and forecast settings apply (observes only: its mode and workloads' actions do not)",
      })
      .option('state-dir', { type: 'string', default: defaultStateDir, describe: 'where the verifier log is written' })
      .option('bpf-object', { type: 'string', default: defaultObjectPath, hidden: true })
      .check((a) => {
        checkPaths(a, { policy: 'a policy YAML file', 'state-dir': 'where the verifier log is written', 'bpf-object': 'the compiled BPF object' });
        checkInterval('interval', a.interval);
        if (!(Number.isInteger(a.count) && a.count >= 0)) throw new Error('--count must be a whole number of refreshes, 0 or more (0: until Ctrl-C)');
        // (--once won in silence: `--once --count 3` printed one)
        if (a.once && process.argv.some((x) => x === '--count' || x.startsWith('--count='))) throw new Error('--once is --count 1: give one of them');
        const wakeup = a['slow-wakeup-ms'];
        // (0: every run-queue wait is an event, as the ring's flood test asks)
        if (wakeup !== undefined && !(wakeup >= 0 && wakeup <= MAX_SLOW_EVENT_MS)) throw new Error(`--slow-wakeup-ms must be a number of milliseconds from 0 (every wait) to ${MAX_SLOW_EVENT_MS}`);
        if (a['ring-size'] !== undefined && !isRingSize(a['ring-size'])) {
          throw new Error('--ring-size must be a power of two of bytes from 4096 to 1073741824 (1 GiB)');
        }
        return true;
      }),
  handler: async (a) => {
    try {
      const base = loadPolicy(a.policy);
      // a column the policy does not measure would sort every row as equal, in silence
      const probe = sortProbe(a.sort);
      const conflict = probe !== undefined && !base.probes[probe].enabled
        ? `--sort ${a.sort}: the policy ${base.file} turns the ${probe} probe off (probes.${probe}.enabled: false), so that column is not measured`
        : intervalTooShortFor(base, a.interval);
      if (conflict !== undefined) usageFailure(() => 'top')(conflict, undefined);
      const policy = {
        ...base,
        tickMs: a.interval * 1000,
        probes: {
          ...base.probes,
          sched: {
            slowWakeupMs: a['slow-wakeup-ms'] ?? base.probes.sched.slowWakeupMs,
            ringBytes: a['ring-size'] ?? base.probes.sched.ringBytes,
          },
        },
      };
      const live = process.stdout.isTTY && !a.json && !a.once && a.count !== 1;
      await runSession({
        policy, mode: 'observe', objectPath: a['bpf-object'], stateDir: a['state-dir'], reportAll: a.all,
        intervalMs: a.interval * 1000, count: a.once ? 1 : a.count, durationMs: 0,
        log: (m) => process.stderr.write(`headroom: ${m}\n`),
        onReport: (r) => {
          if (a.json) process.stdout.write(`${JSON.stringify(reportJson(r))}\n`);
          else process.stdout.write(`${live ? '\x1b[H\x1b[2J' : ''}${renderTable(r, { sort: a.sort, all: a.all, ...(live ? { width: process.stdout.columns, height: process.stdout.rows } : {}) })}\n${live ? '' : '\n'}`);
        },
      });
    } catch (err) {
      fail(err);
    }
  },
};

export default top;
