// A pipe or FIFO given as record's --out, written without blocking. With a blocking fd, a reader
// that stopped reading (`record --out /dev/stdout | less`, left unscrolled) blocked the process in
// write() once the pipe's 64 KiB were full: deaf to Ctrl-C, SIGTERM and --duration, only SIGKILL
// ended it. Here the fd is non-blocking: what the pipe cannot take yet waits in memory and is
// retried on a timer, the event loop stays free, and a stop waits a while for the reader.
import { closeSync, writeSync } from 'node:fs';
import { ioReason } from '../predict/traces/lines.js';

/** Bytes the reader may leave untaken before the recording fails (a reader that stopped reading for good). */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** How long a stop waits for the reader to take what is queued. */
export const DRAIN_WAIT_MS = 10_000;
/** How often what the pipe could not take is tried again. */
const RETRY_MS = 20;

/** A write to the pipe failed: its reader went away (EPIPE), or `reason`. */
export class PipeFailed extends Error {
  constructor(readonly readerGone: boolean, readonly reason: string) {
    super(reason);
  }
}

export class PipeOut {
  /** what the pipe has not taken yet, oldest first; the first from `taken` on */
  private readonly waiting: Buffer[] = [];
  private taken = 0;
  private waitingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private failed: PipeFailed | undefined;

  /** `fd`: the pipe or FIFO, opened with O_NONBLOCK for writing; closed by close(). */
  constructor(private readonly fd: number) {}

  /** Bytes written but not yet taken by the reader. */
  get queued(): number {
    return this.waitingBytes;
  }

  /** The write that failed, if one did (a retry's failure is kept for the next write or the close). */
  get failure(): PipeFailed | undefined {
    return this.failed;
  }

  /** Writes `text`, or what the pipe takes of it now, the rest queued; throws the failure of this write or an earlier retry. */
  write(text: string): void {
    if (this.failed) throw this.failed;
    const b = Buffer.from(text);
    this.waiting.push(b);
    this.waitingBytes += b.length;
    this.flush();
    if (this.failed) throw this.failed;
  }

  /**
   * Waits until the reader has taken everything (or a write failed, or `waitMs` passed), then
   * closes the pipe. Returns the bytes left untaken: 0 when all arrived.
   */
  async close(waitMs = DRAIN_WAIT_MS): Promise<number> {
    const until = Date.now() + waitMs;
    while (this.waitingBytes > 0 && !this.failed && Date.now() < until) {
      await new Promise((r) => setTimeout(r, RETRY_MS));
      this.flush();
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    closeSync(this.fd);
    return this.waitingBytes;
  }

  /** Writes what waits until the pipe is full (then retries on a timer) or a write fails. */
  private flush(): void {
    while (this.waiting.length > 0 && !this.failed) {
      const b = this.waiting[0]!;
      let n: number;
      try {
        n = writeSync(this.fd, b, this.taken, b.length - this.taken);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') break;
        this.failed = new PipeFailed(code === 'EPIPE', ioReason(err));
        break;
      }
      this.taken += n;
      this.waitingBytes -= n;
      if (this.taken === b.length) {
        this.waiting.shift();
        this.taken = 0;
      }
    }
    if (this.waiting.length > 0 && !this.failed && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, RETRY_MS);
    }
  }
}
