// What a refused BPF load says: an interrupted verifier (EAGAIN) is told apart from a verdict.
import test from 'ava';
import { constants } from 'node:os';
import { VerifierError } from '../../agent/kernel/object.js';
import { BpfError } from '../../agent/kernel/errors.js';

test('kernel errors: a load interrupted by signals says so, names the cause and the partial log, not a verdict', (t) => {
  const err = new VerifierError('hr_sched_runtime', constants.errno.EAGAIN, '/tmp/state/verifier.log');
  t.is(err.errno, constants.errno.EAGAIN);
  t.regex(err.message, /^loading BPF program 'hr_sched_runtime': interrupted or busy, try again \[E(AGAIN|WOULDBLOCK)\]; /);
  t.regex(err.message, /interrupted by a signal on every try \(not a verdict on the program\)/);
  t.regex(err.message, /sampling profiler/);
  t.regex(err.message, /partial log in \/tmp\/state\/verifier\.log$/);
});

test('kernel errors: a refused program still points at its verifier log', (t) => {
  const err = new VerifierError('hr_sched_switch', constants.errno.EACCES, '/tmp/state/verifier.log');
  t.is(err.message, "loading BPF program 'hr_sched_switch': permission denied (the verifier rejected the program or access was refused) [EACCES]; verifier log written to /tmp/state/verifier.log");
  // (other operations' EAGAIN: explained, with no load advice)
  t.is(new BpfError('reading map', constants.errno.EAGAIN).message.replace('EWOULDBLOCK', 'EAGAIN'), 'reading map: interrupted or busy, try again [EAGAIN]');
});
