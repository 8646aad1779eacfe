// Runs an Agent until a count, a duration or a signal ends it, then undoes everything it did.
import { Agent, type AgentOptions } from '../agent.js';
import { preflight } from '../kernel/index.js';
import type { TickReport } from '../report.js';
import type { Decision } from '../plan/types.js';
import { fail } from './fail.js';
import { ioReason } from '../predict/traces/lines.js';

export interface SessionOptions extends AgentOptions {
  intervalMs: number;
  /** stop after this many ticks (0 = until a signal or the duration) */
  count: number;
  /** stop after this long (0 = no limit) */
  durationMs: number;
  onReport: (r: TickReport) => void | Promise<void>;
  /** decisions made when stopping (every throttle given back) */
  onStop?: (released: Decision[]) => void | Promise<void>;
  /** after the host checks, before anything is loaded (e.g. reconciling a journal) */
  beforeLoad?: () => void;
  beforeStart?: (agent: Agent) => void | Promise<void>;
  /** the last step when stopping; a non-zero exit code it returns fails a stop that was clean */
  afterStop?: () => void | number | Promise<void | number>;
}

/** Thrown by onReport when its output's reader went away (EPIPE): the session stops as for a signal, exit 0. */
export class OutputClosed extends Error {
  override readonly name = 'OutputClosed';
}

export async function runSession(opts: SessionOptions): Promise<void> {
  // The signal handlers first: a SIGINT, SIGTERM or SIGHUP while the probes load (a second or so, synchronous)
  // is heard once they have loaded, and the stop is as clean as any (it killed the process, 130
  // or 143, with nothing said and a recording's reason lost). The price: a load that hangs is not
  // stopped by Ctrl-C, only by SIGKILL. (Handlers run only between callbacks: by then `agent` is set,
  // or Agent.start threw and the caller is failing.)
  let agent: Agent | undefined;
  let stopping = false;
  let stopSaid = false;
  let outputFailed = false;
  const onSignal = (): void => {
    if (!agent) return;
    // Heard for as long as the process lives, not once: a second signal while stopping (a second
    // Ctrl-C while the final push waits, or `timeout`'s signal reaching the whole process group)
    // took the default action, exit 130 mid-stop, with the writes not undone and the lock left.
    // The stop is bounded (the final push waits at most 3 s); SIGKILL is for one that is not.
    if (stopping) {
      if (!stopSaid) opts.log?.('stopping already: it ends once what it changed is undone and its output flushed (SIGKILL to stop at once, leaving any writes to the next start\'s journal)');
      stopSaid = true;
      return;
    }
    void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // (the hangup of the terminal or SSH session it was started from: it killed the agent, 129,
  // its writes left to the next start's journal and its lock behind). Its terminal is gone: a
  // write there fails with EIO from now on, and is no failure of the agent's
  let hungUp = false;
  process.on('SIGHUP', () => {
    hungUp = true;
    onSignal();
  });
  // (stderr is where a failure is said: once it fails too there is nowhere to say it, and an
  // unheard 'error' event would end the stop half way as an uncaught exception)
  process.stderr.on('error', () => {});
  // `top --json | head`: a closed pipe stops the session as a signal does (it failed: "write EPIPE", exit 1)
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // (EIO on a terminal: it is gone, whether or not its SIGHUP has been heard yet)
    if (err.code === 'EPIPE' || (err.code === 'EIO' && (hungUp || process.stdout.isTTY))) {
      // (while stopping, a reader gone during the last flush: nothing more to say)
      if (!stopping) onSignal();
      return;
    }
    // (`top > /dev/full` said only "ENOSPC: no space left on device, write"; and exiting at once
    // would leave an enforcing agent's writes to the next start's journal: stopped as for a signal)
    const failed = new Error(`cannot write its output to stdout (${ioReason(err)})`, { cause: err });
    if (!agent) fail(failed);
    process.stderr.write(`headroom: ${failed.message}\n`);
    // (during a stop too: its exit code says so)
    outputFailed = true;
    if (!stopping) void stop(1);
  });
  preflight(opts.log);
  opts.beforeLoad?.();
  agent = Agent.start(opts);
  const running = agent;
  let timer: NodeJS.Timeout | null = null;

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    let after: void | number = 0;
    try {
      const released = running.stop();
      await opts.onStop?.(released);
      after = await opts.afterStop?.();
    } catch (err) {
      fail(err);
    }
    // (what is still queued for a pipe whose reader is slower: process.exit dropped it, and
    // `top --once --json | jq` read a document cut at 64 KiB, the pipe's buffer, with exit 0)
    await stdoutFlushed(opts.log ?? ((m) => void process.stderr.write(`headroom: ${m}\n`)));
    process.exit(code !== 0 ? code : outputFailed ? 1 : (after ?? 0));
  };
  process.once('uncaughtException', (err) => {
    try { running.stop(); } catch { /* already reporting an error */ }
    fail(err);
  });

  try {
    await opts.beforeStart?.(running);
  } catch (err) {
    running.stop();
    throw err;
  }
  if (stopping) return;
  const startedAt = Date.now();
  let ticks = 0;
  const loop = async (): Promise<void> => {
    if (stopping) return;
    try {
      await opts.onReport(running.tick());
    } catch (err) {
      // (the output's reader went away: the end of the session, as a signal is)
      if (err instanceof OutputClosed) return stop(0);
      running.stop();
      fail(err);
    }
    ticks++;
    const done = (opts.count > 0 && ticks >= opts.count) || (opts.durationMs > 0 && Date.now() - startedAt >= opts.durationMs);
    if (done) return stop(0);
    // schedule against the start time so ticks do not drift by their own duration
    const next = opts.intervalMs - ((Date.now() - startedAt) % opts.intervalMs);
    timer = setTimeout(() => void loop(), next);
  };
  timer = setTimeout(() => void loop(), opts.intervalMs);
}

/** How long a stop waits for stdout's reader to take what is queued for it. */
const FLUSH_WAIT_MS = 10_000;

/**
 * Resolves once every write queued on stdout has reached it (a write's callback comes after the
 * ones before it), or it failed (its reader gone), or after FLUSH_WAIT_MS, said on stderr: a
 * reader that takes nothing more must not keep a stopping agent from exiting.
 */
export function stdoutFlushed(log: (message: string) => void, waitMs = FLUSH_WAIT_MS): Promise<void> {
  const out = process.stdout;
  if (out.writableLength === 0 || out.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`stdout's reader took nothing more for ${waitMs / 1000} s: the last ${out.writableLength} bytes of output are lost`);
      resolve();
    }, waitMs);
    out.write('', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
