// A CPU profile of the running agent (test/bench/profile-hook.ts): taken once its programs are
// loaded, it leaves the agent working and writes a profile that shows the agent's tick.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kernelTest } from '../helpers/host.js';
import { headroom, projectRoot } from '../helpers/proc.js';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
}

kernelTest('profile hook: the agent loads its programs, ticks, and leaves a CPU profile of its ticks', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'agent.cpuprofile');
  const hook = resolve(projectRoot, 'dist/test/bench/profile-hook.js');
  const r = await headroom(['top', '--json', '--interval', '1', '--count', '7', '--state-dir', join(dir, 'state')], {
    timeoutMs: 60_000,
    env: { NODE_OPTIONS: `--import ${hook}`, HR_PROFILE_OUT: out, HR_PROFILE_AFTER: '2', HR_PROFILE_SECONDS: '3' },
  }).done;
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.trim().split('\n').length, 7, 'seven reports');
  t.regex(r.stderr, /profile-hook: sampling for 3 s\n(?:.*\n)*profile-hook: wrote /);
  const profile = JSON.parse(readFileSync(out, 'utf8')) as CpuProfile;
  t.true(profile.samples.length > 100, `${profile.samples.length} samples`);
  t.true(profile.nodes.some((n) => n.callFrame.functionName === 'tick' && n.callFrame.url.endsWith('/dist/agent/agent.js')), "the agent's tick is in it");
});
