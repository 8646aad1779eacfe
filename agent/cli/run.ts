// `headroom run`: the agent. Observes, forecasts, decides and (in enforce mode) acts, as the
// policy allows; exports to Prometheus; undoes every write when it stops.
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadPolicy, parseListen } from '../plan/policy.js';
import type { Mode } from '../plan/types.js';
import { journalTrustProblem, reconcile, type RestoreReport } from '../actuate/index.js';
import { DirLockedError, lockDir } from '../dir-lock.js';
import { ioReason } from '../predict/traces/lines.js';
import type { Decision } from '../plan/types.js';
import type { KernelEvent, TickReport } from '../report.js';
import type { Agent } from '../agent.js';
import { defaultObjectPath, defaultPolicyPath, defaultStateDir } from './paths.js';
import { renderTable } from './table.js';
import { RunTelling } from './run-telling.js';
import { fitUnder, FRAME_MIN_ROWS, FramedLines, isListenEnd, localAddresses } from './run-output.js';
import { runSession } from './session.js';
import { fail, usageFailure } from './fail.js';
import { checkDuration, checkInterval, checkPaths } from './options.js';
import { shownUrl } from '../plan/http-url.js';
import { printableName } from '../printable.js';
import { badOtlpUrl, otlpChoice, otlpLogsEndpoint } from '../../exporters/otlp-url.js';

interface RunArgs {
  policy: string;
  mode?: Mode;
  'state-dir': string;
  listen?: string;
  prometheus: boolean;
  duration: number;
  json: boolean;
  table?: boolean;
  'bpf-object': string;
  'overhead-window': number;
  events: boolean;
  'profiles-dir'?: string;
  'otlp-endpoint'?: string;
  'otlp-interval'?: number;
}

function listenOption(s: string): { host: string; port: number } {
  const parsed = parseListen(s);
  if (typeof parsed === 'string') throw new Error(`--listen ${parsed}`);
  return parsed;
}

const run: CommandModule<object, RunArgs> = {
  command: 'run',
  describe: 'run the agent with a policy: observe, forecast, decide and (enforce mode) act',
  builder: (y) =>
    y
      .option('policy', { type: 'string', default: defaultPolicyPath, describe: 'policy YAML file' })
      .option('mode', { choices: ['observe', 'recommend', 'enforce'] as const, describe: "override the policy's mode" })
      .option('state-dir', { type: 'string', default: defaultStateDir, describe: 'journal of writes, verifier logs, and task profiles unless the policy or --profiles-dir puts them elsewhere; one agent per state dir' })
      .option('listen', { type: 'string', describe: "Prometheus endpoint HOST:PORT (overrides the policy's)" })
      .option('prometheus', { type: 'boolean', default: true, describe: 'serve the Prometheus endpoint (--no-prometheus to disable)' })
      .option('duration', { type: 'number', default: 0, describe: 'stop after this many seconds (0 = until SIGINT, SIGTERM or SIGHUP)' })
      .option('json', { type: 'boolean', default: false, describe: 'print decisions and events as JSON lines instead of text' })
      .option('events', {
        type: 'boolean', default: false,
        describe: 'also print every kernel event (slow wakeups and I/O, closed connections, retransmits) and every task run; OOM kills, overhead switches, forecast runs and recorded runs are always printed',
      })
      .option('profiles-dir', { type: 'string', describe: "where task runs are recorded (overrides the policy's profiles.dir)" })
      .option('otlp-endpoint', {
        type: 'string',
        describe: "also push the metrics over OTLP/HTTP (JSON) to this URL, e.g. http://127.0.0.1:4318/v1/metrics, and the decisions, overhead switches, OOM kills and task runs as log records beside it (/v1/logs, or OTEL_EXPORTER_OTLP_LOGS_ENDPOINT; OTEL_LOGS_EXPORTER=none: not); overrides the policy's export.otlp.endpoint; with neither, on when OTEL_METRICS_EXPORTER names otlp: then to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT",
      })
      .option('otlp-interval', { type: 'number', describe: "seconds between OTLP pushes (default: the policy's export.otlp.interval, 10 s)" })
      .option('table', { type: 'boolean', describe: 'live table on screen (default: when stdout is a terminal)' })
      .option('bpf-object', { type: 'string', default: defaultObjectPath, hidden: true })
      .option('overhead-window', { type: 'number', default: 5, hidden: true, describe: 'seconds the overhead governor measures over' })
      .check((a) => {
        checkPaths(a, { policy: 'a policy YAML file', 'state-dir': 'the folder of the journal and logs', 'profiles-dir': 'the profile store directory', 'bpf-object': 'the compiled BPF object' });
        checkDuration(a.duration);
        if (a.listen !== undefined) listenOption(a.listen);
        const otlp = a['otlp-endpoint'];
        const badUrl = otlp === undefined ? undefined : badOtlpUrl(otlp);
        if (badUrl !== undefined) throw new Error(`--otlp-endpoint ${badUrl}`);
        // (the environment is checked against the URL chosen, once the policy is read)
        // (a shorter one times out its own pushes: an export may take the interval)
        const interval = a['otlp-interval'];
        if (interval !== undefined) {
          if (!(interval >= 1)) throw new Error('--otlp-interval must be at least 1 second');
          checkInterval('otlp-interval', interval);
        }
        if (a.json && a.table === true) throw new Error('--json and --table both write to stdout: give one of them');
        if (!(a['overhead-window'] > 0)) throw new Error('--overhead-window must be a positive number of seconds');
        return true;
      }),
  handler: async (a) => {
    try {
      const log = (m: string): void => void process.stderr.write(`headroom: ${m}\n`);
      const loaded = loadPolicy(a.policy);
      const otlp = otlpChoice({ endpoint: a['otlp-endpoint'], intervalS: a['otlp-interval'] }, loaded.export.otlp, loaded.file);
      if (otlp.problem !== undefined) usageFailure(() => 'run')(otlp.problem, undefined);
      if (a['otlp-interval'] !== undefined && !otlp.wanted) log(`--otlp-interval ignored: nothing is pushed over OTLP (give --otlp-endpoint or the policy's export.otlp.endpoint, or set OTEL_METRICS_EXPORTER=otlp)`);
      // Loaded here, not at the top: `top` and `policy check` never pay for the OTel SDK.
      const {
        PrometheusEndpoint, OtlpPush, OtlpLogPush, decisionRecord, formatDecision, formatOverhead, overheadRecord, formatKernelEvent, kernelEventRecord, formatRunEvent, runEventRecord,
      } = await import('../../exporters/index.js');
      // the profile store: --profiles-dir, else the policy's, else the state dir's (an agent run
      // apart with its own --state-dir wrote its task runs into /var/lib/headroom all the same)
      const profilesDir = a['profiles-dir'] ? resolve(a['profiles-dir']) : loaded.profiles.dirSet ? loaded.profiles.dir : join(resolve(a['state-dir']), 'profiles');
      const policy = { ...loaded, profiles: { ...loaded.profiles, dir: profilesDir } };
      if (a['profiles-dir'] && !policy.profiles.enabled) log(`--profiles-dir ignored: ${a.policy} turns profiles off (profiles.enabled: false)`);
      const mode = a.mode ?? policy.mode;
      const prom = policy.export.prometheus;
      const listen = a.listen ? listenOption(a.listen) : { host: prom.host, port: prom.port };
      const endpoint = a.prometheus && prom.enabled ? new PrometheusEndpoint(listen) : null;
      if (a.listen !== undefined && endpoint === null) log(`--listen ignored: no Prometheus endpoint is served (${!a.prometheus ? '--no-prometheus' : `${a.policy} turns it off: export.prometheus.enabled: false`})`);
      const push = otlp.wanted ? new OtlpPush({ url: otlp.url, intervalMs: otlp.intervalS * 1000, log }) : null;
      const logs = push ? otlpLogsEndpoint(push.url) : undefined;
      if (logs?.url === undefined && logs?.why) log(logs.why);
      const logPush = logs?.url !== undefined ? new OtlpLogPush({ url: logs.url, guessed: logs.from === 'the metrics URL', log }) : null;
      const table = a.table ?? (process.stdout.isTTY && !a.json);
      let lastReport: TickReport | undefined;
      let agent: Agent | undefined;
      const runTelling = new RunTelling();
      // On a terminal each table frame clears the screen: the lines a tick prints (decisions,
      // events, runs) go under its frame, all of them, and the newest 12 stay under
      // the frames after it, with the time they came (they were wiped by the next frame a tick
      // later: a run's "started" line never seen)
      const framed = table && process.stdout.isTTY;
      const underFrames = new FramedLines();
      const say = (line: string, inFrame: boolean): void => {
        // (a line names cgroups and processes, anyone's to name: their control characters escaped)
        const shown = a.json ? line : printableName(line);
        if (framed && inFrame) underFrames.add(shown);
        else process.stdout.write(`${shown}\n`);
      };
      // the agent's own metrics scrapes are no workload's news: a TCP event with the endpoint at
      // either end (isListenEnd) is not printed (a walkthrough: a tcp_close line at every scrape
      // hid the rest)
      const hostAddresses = endpoint ? localAddresses() : new Set<string>();
      const scrapeOf = (e: KernelEvent): boolean => endpoint !== null && (e.kind === 'tcp_close' || e.kind === 'tcp_retransmit') &&
        ((typeof e.detail.local === 'string' && isListenEnd(e.detail.local, 'local', listen, hostAddresses)) ||
          (typeof e.detail.remote === 'string' && isListenEnd(e.detail.remote, 'remote', listen, hostAddresses)));
      const print = (d: Decision, inFrame = true): void => {
        say(a.json ? JSON.stringify(decisionRecord(d, mode)) : formatDecision(d, mode), inFrame);
        logPush?.emit(d, mode);
      };

      await runSession({
        policy, mode, objectPath: a['bpf-object'], stateDir: a['state-dir'], log, overheadWindowMs: a['overhead-window'] * 1000,
        recordRuns: true, logOverhead: false,
        intervalMs: policy.tickMs, count: 0, durationMs: a.duration * 1000,
        // One agent per state dir, then a journal left by a killed agent: the originals put back
        // before anything else (on a dir another agent holds, they would be that agent's live writes)
        beforeLoad: () => {
          try {
            lockDir(a['state-dir'], 'one agent per state dir: this one would put back the originals of that one\'s live writes (its journal); stop it, or give this one its own --state-dir', log);
          } catch (err) {
            if (err instanceof DirLockedError) throw err;
            // a state dir that cannot be made (a read-only root): observing writes nothing there
            const why = `state dir ${a['state-dir']}: cannot be taken (${ioReason(err)})`;
            if (mode === 'enforce') throw new Error(`${why}: enforce mode journals its writes there, to undo them after a crash; give --state-dir`);
            log(`${why}; ${mode} mode goes on (it writes nothing there)`);
          }
          const journal = join(a['state-dir'], 'journal.jsonl');
          // (an enforcing agent whose journal the stop would refuse to restore from throttled, and
          // its throttles outlived it: refused before anything is loaded)
          const distrust = mode === 'enforce' ? journalTrustProblem(journal) : undefined;
          if (distrust !== undefined) throw new Error(`${distrust}: enforce mode would journal its writes there`);
          reconcile(journal).messages.forEach(log);
        },
        beforeStart: async (started) => {
          agent = started;
          const url = endpoint ? (await endpoint.start()).url : null;
          const pushed = (push ? `; metrics pushed to ${shownUrl(push.url)} every ${otlp.intervalS} s` : '') + (logPush ? `; decisions and events to ${shownUrl(logPush.url)}` : '');
          // (the environment in its tasks' signatures: a profile is found by it)
          const keys = policy.profiles.envKeys;
          const profiles = agent.recordsRuns ? `; task profiles in ${policy.profiles.dir}${keys.length > 0 ? ` (signed with environment ${[...keys].sort().join(', ')})` : ''}` : '';
          log(`running in ${mode} mode with ${a.policy}; programs: ${agent.programs.join(', ')}${url ? `; metrics at ${url}` : ''}${pushed}${profiles}`);
        },
        onReport: (r) => {
          lastReport = r;
          endpoint?.update(r);
          push?.update(r);
          if (table && !framed) process.stdout.write(`${renderTable(r)}\n\n`);
          for (const d of r.decisions) print(d);
          for (const o of r.overheadChanges) {
            say(a.json ? JSON.stringify(overheadRecord(o)) : formatOverhead(o), true);
            logPush?.emitOverhead(o);
          }
          for (const e of r.events) {
            if ((a.events && !scrapeOf(e)) || e.kind === 'oom_kill') say(a.json ? JSON.stringify(kernelEventRecord(e, r.atMs)) : formatKernelEvent(e), true);
            if (e.kind === 'oom_kill') logPush?.emitOomKill(e, r.atMs);
          }
          // every new cgroup is a run: by default only those with something to say (a forecast and
          // its outcome, a profile updated) are printed and pushed; --events prints every one
          for (const e of r.runs) {
            const telling = runTelling.says(e);
            if (a.events || telling) say(a.json ? JSON.stringify(runEventRecord(e)) : formatRunEvent(e), true);
            if (telling) logPush?.emitRun(e);
          }
          if (framed) {
            const under = fitUnder(underFrames.take(), process.stdout.columns, process.stdout.rows);
            // (the lines said under the frame take rows from the table: a frame taller than the terminal scrolled)
            const fit = { width: process.stdout.columns, height: process.stdout.rows > 0 ? Math.max(FRAME_MIN_ROWS, process.stdout.rows - (under.length > 0 ? under.length + 1 : 0)) : undefined };
            process.stdout.write(`\x1b[H\x1b[2J${renderTable(r, fit)}\n${under.length > 0 ? `\n${under.join('\n')}\n` : ''}`);
          }
        },
        onStop: (released) => {
          released.forEach((d) => print(d, false));
          // the releases are decisions too: headroom_decisions_total counts them in the push made
          // at the stop (the last tick's figures, with these decisions, no throttle held any more,
          // and nothing else new)
          if (lastReport && released.length > 0) {
            const workloads = lastReport.workloads.map((w) => ({ ...w, throttleCores: null }));
            const atStop: TickReport = { ...lastReport, atMs: Date.now(), workloads, decisions: released, events: [], runs: [], overheadChanges: [] };
            endpoint?.update(atStop);
            push?.update(atStop);
          }
        },
        afterStop: async () => {
          await Promise.all([endpoint?.shutdown(), push?.shutdown(), logPush?.shutdown()]);
          // (observe and recommend write nothing: "undone" there read as though they had)
          if (mode !== 'enforce' || !agent) {
            log(`stopped (${mode} mode: no change of its own to undo)`);
            return;
          }
          return saidStopped(agent.restoreReport, agent.journalPath, log);
        },
      });
    } catch (err) {
      fail(err);
    }
  },
};

/**
 * The stop's last line in enforce mode, after what the stop put back: every change undone, or
 * what was left (written by someone else since) or could not be put back (exit 1: the journal
 * keeps it, and the next start tries again). It said "every change made was undone", exit 0,
 * whatever the restore had found.
 */
export function saidStopped(report: RestoreReport | undefined, journalPath: string, log: (m: string) => void): number {
  if (!report) {
    log('stopped');
    return 0;
  }
  report.messages.forEach(log);
  const { restored, vanished, changed, failed } = report;
  if (failed.length > 0) {
    log(`stopped; ${failed.length} of its changes could not be undone: ${journalPath} keeps their originals, and the next start puts them back`);
    return 1;
  }
  const left = [
    changed.length > 0 ? `${changed.length} written by someone else since, left as they are` : '',
    vanished.length > 0 ? `${vanished.length} in cgroups that are gone` : '',
  ].filter((x) => x !== '').join(', ');
  if (restored.length === 0 && left === '') log('stopped; it changed nothing');
  else log(`stopped; every change made was undone${left ? ` (but ${left})` : ''}`);
  return 0;
}

export default run;
