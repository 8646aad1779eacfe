// record's --out on a pipe or FIFO: written without blocking (a reader that stopped reading
// blocked the recorder in write() for good, deaf to signals), what waits kept in order.
import test from 'ava';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PipeFailed, PipeOut } from '../../agent/cli/pipe-out.js';

/** A FIFO with a reader that reads nothing until told: [reader fd, writer fd (non-blocking)]. */
function fifoPair(t: { teardown: (fn: () => void) => void }): [number, number] {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-pipe-out-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  return [reader, writer];
}

/** Everything the reader can take now. */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  const b = Buffer.alloc(65536);
  for (;;) {
    try {
      const n = readSync(fd, b);
      if (n === 0) break;
      chunks.push(Buffer.from(b.subarray(0, n)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
  }
  return Buffer.concat(chunks).toString();
}

const line = (i: number): string => `${JSON.stringify({ i, pad: 'x'.repeat(90) })}\n`;

test('a reader that reads nothing: writes return at once, the rest queued; a late reader gets every line in order', async (t) => {
  const [reader, writer] = fifoPair(t);
  t.teardown(() => closeSync(reader));
  const out = new PipeOut(writer);
  const lines = Array.from({ length: 3000 }, (_, i) => line(i));
  const started = Date.now();
  for (const l of lines) out.write(l);
  t.true(Date.now() - started < 2000, 'no write waited for the reader');
  const total = lines.join('').length;
  t.true(out.queued > 0 && out.queued < total, `a pipe's worth taken, the rest queued (${out.queued} of ${total})`);
  // the reader starts reading while the close waits for it
  let got = '';
  const reading = setInterval(() => { got += readAll(reader); }, 5);
  const left = await out.close(5000);
  clearInterval(reading);
  got += readAll(reader);
  t.is(left, 0);
  t.is(got, lines.join(''), 'every byte, in order');
});

test('a reader that never reads: the close gives up after its wait and says how much is left', async (t) => {
  const [reader, writer] = fifoPair(t);
  t.teardown(() => closeSync(reader));
  const out = new PipeOut(writer);
  for (let i = 0; i < 2000; i++) out.write(line(i));
  const queued = out.queued;
  t.true(queued > 0);
  const started = Date.now();
  const left = await out.close(300);
  t.true(Date.now() - started < 2000, 'bounded by its wait');
  t.is(left, queued);
  t.is(out.failure, undefined, 'a slow reader is no failure');
});

test('a reader that went away: the write says so (EPIPE), as the reader being gone', (t) => {
  const [reader, writer] = fifoPair(t);
  closeSync(reader);
  const out = new PipeOut(writer);
  const err = t.throws(() => out.write(line(0)), { instanceOf: PipeFailed });
  t.true(err.readerGone);
  // and every later write says so again
  t.throws(() => out.write(line(1)), { instanceOf: PipeFailed });
  return out.close(0).then((left) => t.true(left > 0));
});

test('a reader that goes away while lines wait: the next write fails, and the close does not wait for it', async (t) => {
  const [reader, writer] = fifoPair(t);
  const out = new PipeOut(writer);
  for (let i = 0; i < 2000; i++) out.write(line(i));
  t.true(out.queued > 0);
  closeSync(reader);
  // (the retry timer finds EPIPE)
  await new Promise((r) => setTimeout(r, 100));
  t.true(out.failure?.readerGone);
  t.throws(() => out.write(line(1)), { instanceOf: PipeFailed });
  const started = Date.now();
  await out.close(5000);
  t.true(Date.now() - started < 1000, 'no wait for a reader that is gone');
});
