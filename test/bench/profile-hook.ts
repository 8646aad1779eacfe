// A CPU profile of the running agent, for whoever looks for where its time goes. Loaded into
// the agent's Node with --import (see README, make bench): it starts the inspector's sampling
// profiler HR_PROFILE_AFTER seconds in (default 20) and writes HR_PROFILE_OUT (a .cpuprofile,
// for Chrome's DevTools or any reader of that format) HR_PROFILE_SECONDS later (default 30),
// sampling every HR_PROFILE_INTERVAL_US microseconds (default 1000).
//
// Why not `node --cpu-prof`: its profiler starts with the process, and its sampling signal
// interrupts the verifier's bpf() calls while the programs load (EWOULDBLOCK); started once they
// are loaded, the same profiler is harmless.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.HR_PROFILE_OUT;
const seconds = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

if (out) {
  const after = seconds('HR_PROFILE_AFTER', 20);
  const span = seconds('HR_PROFILE_SECONDS', 30);
  const session = new Session();
  session.connect();
  const post = <T = unknown>(method: string, params: object = {}): Promise<T> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))));
  const say = (m: string): void => void process.stderr.write(`profile-hook: ${m}\n`);
  // (unref'd: the hook never keeps the agent alive, nor delays its exit)
  setTimeout(() => {
    void (async () => {
      try {
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: Math.max(1, Math.round(seconds('HR_PROFILE_INTERVAL_US', 1000))) });
        await post('Profiler.start');
        say(`sampling for ${span} s`);
        setTimeout(() => {
          void post<{ profile: unknown }>('Profiler.stop').then(({ profile }) => {
            writeFileSync(out, JSON.stringify(profile));
            say(`wrote ${out}`);
          }, (err: unknown) => say(`could not stop the profiler: ${String(err)}`));
        }, span * 1000).unref();
      } catch (err) {
        say(`could not start the profiler: ${String(err)}`);
      }
    })();
  }, after * 1000).unref();
}
