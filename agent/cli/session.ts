// Runs an Agent until a count, a duration or a signal ends it, then undoes everything it did.
import { Agent, type AgentOptions } from '../agent.js';
import { preflight } from '../kernel/index.js';
import type { TickReport } from '../report.js';
import type { Decision } from '../plan/types.js';
import { fail } from './fail.js';

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

export async function runSession(opts: SessionOptions): Promise<void> {
  preflight(opts.log);
  opts.beforeLoad?.();
  const agent = Agent.start(opts);
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    let after: void | number = 0;
    try {
      const released = agent.stop();
      await opts.onStop?.(released);
      after = await opts.afterStop?.();
    } catch (err) {
      fail(err);
    }
    process.exit(code !== 0 ? code : (after ?? 0));
  };
  const onSignal = (): void => void stop(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('uncaughtException', (err) => {
    try { agent.stop(); } catch { /* already reporting an error */ }
    fail(err);
  });

  try {
    await opts.beforeStart?.(agent);
  } catch (err) {
    agent.stop();
    throw err;
  }
  const started = Date.now();
  let ticks = 0;
  const loop = async (): Promise<void> => {
    if (stopping) return;
    try {
      await opts.onReport(agent.tick());
    } catch (err) {
      agent.stop();
      fail(err);
    }
    ticks++;
    const done = (opts.count > 0 && ticks >= opts.count) || (opts.durationMs > 0 && Date.now() - started >= opts.durationMs);
    if (done) return stop(0);
    // schedule against the start time so ticks do not drift by their own duration
    const next = opts.intervalMs - ((Date.now() - started) % opts.intervalMs);
    timer = setTimeout(() => void loop(), next);
  };
  timer = setTimeout(() => void loop(), opts.intervalMs);
}
