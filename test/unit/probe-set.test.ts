// The linked object's programs each belong to a probe by name (hr_<probe>_...): that is how a
// probe the policy turns off is left unloaded and how its cost is charged to it.
import test from 'ava';
import { resolve } from 'node:path';
import { BpfObject } from '../../agent/kernel/index.js';
import { PROBES, probeOfProgram } from '../../agent/probes/probe-set.js';
import { projectRoot } from '../helpers/proc.js';

test('every program of headroom.bpf.o names its probe', (t) => {
  const obj = BpfObject.open(resolve(projectRoot, 'build/bpf/headroom.bpf.o'), { verifierLogPath: '/dev/null' });
  try {
    const names = obj.programNames;
    t.true(names.length >= 4);
    const byProbe = new Map<string, string[]>();
    for (const name of names) {
      const probe = probeOfProgram(name);
      t.true((PROBES as readonly string[]).includes(probe ?? ''), `${name} belongs to no probe`);
      byProbe.set(probe!, [...(byProbe.get(probe!) ?? []), name]);
    }
    t.deepEqual([...byProbe.keys()].sort(), [...PROBES].sort(), 'every probe has programs');
    t.log([...byProbe].map(([p, n]) => `${p}: ${n.join(', ')}`).join('\n'));
  } finally {
    obj.close();
  }
});

test('a probe name is what follows hr_ up to the next underscore', (t) => {
  t.is(probeOfProgram('hr_blockio_rq_complete'), 'blockio');
  t.is(probeOfProgram('hr_fault_oom_victim'), 'fault');
  t.is(probeOfProgram('other'), null);
});
