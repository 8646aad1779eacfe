// The command line's bad-usage path: one line naming the problem, exit code 2, nothing written.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { headroom } from '../helpers/proc.js';

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown recorded resource', ['--resources', 'cpu_cores,bogus'], /--resources: unknown 'bogus'; known: cpu_cores, /],
  ['a malformed --limit', ['--limit', 'cpu_cores'], /--limit expects RESOURCE=LEVEL, got 'cpu_cores'/],
  ['a zero --interval', ['--interval', '0'], /--interval must be a positive number of seconds/],
];

for (const [what, args, message] of cases) {
  test(`record with ${what}: one line, exit 2, no trace written`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-cli-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'trace.jsonl');
    const r = await headroom(['record', '--out', out, ...args], { timeoutMs: 20_000 }).done;
    t.is(r.code, 2, r.stderr);
    t.regex(r.stderr, message);
    t.notRegex(r.stderr, /^\s+at /m, 'no stack trace');
    t.false(existsSync(out));
  });
}

test('an unknown command: the usage line, exit 2', async (t) => {
  const r = await headroom(['frobnicate'], { timeoutMs: 20_000 }).done;
  t.is(r.code, 2);
  t.regex(r.stderr, /Unknown argument: frobnicate\nRun 'headroom --help' for usage/);
});
