// What both OTLP pushes (the metrics, the log records) share: an export's outcome said as a user
// reads it, once per streak of failures, and a stop that waits for the last export a bounded time.

/**
 * The longest a stop waits for the last export. The library's timeout fires only on a quiet
 * connection, and it retries refused ones: a collector that never answered held a stop 9 s, one
 * that trickled a byte a second for over a minute.
 */
export const STOP_WAIT_MS = 3000;

/** What an exporter hands its callback (code 0: ExportResultCode.SUCCESS). */
export interface ExportOutcome {
  code: number;
  error?: Error;
}

/** Says a failed export once (until one works again), and the first one that works after it. */
export class ExportWatch {
  private failing = false;

  /** `what`: the export as a line names it ("OTLP export to URL"); `retry`: when it is tried again; `timeoutMs`: how long an export waits for its answer */
  constructor(private readonly what: string, private readonly retry: string, private readonly log: (message: string) => void, private readonly timeoutMs?: number) {}

  /** One export's outcome. */
  seen(result: ExportOutcome): void {
    const failed = result.code !== 0;
    if (failed && !this.failing) this.log(`${this.what} failed (${describe(result.error, this.timeoutMs)}); ${this.retry}`);
    else if (!failed && this.failing) this.log(`${this.what} works again`);
    this.failing = failed;
  }

  /** Waits for `stopping` at most STOP_WAIT_MS; says so when it gave up. */
  async stop(stopping: Promise<unknown>, lastOne: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), STOP_WAIT_MS);
      timer.unref();
    });
    const stopped = stopping.then(() => false, () => false);
    if (await Promise.race([stopped, gaveUp])) this.log(`${this.what}: ${lastOne} did not finish within ${STOP_WAIT_MS / 1000} s; stopped without waiting longer`);
    clearTimeout(timer);
  }
}

/** The collector's HTTP status behind a failed export (the library's OTLPExporterError carries it as a numeric code), if any. */
export function httpStatus(error: Error | undefined): number | undefined {
  const code = errorCode(error);
  return typeof code === 'number' ? code : undefined;
}

/** The error's code, or its cause's (the system's ECONNREFUSED comes wrapped). */
const errorCode = (error: Error | undefined): unknown => (error as { code?: unknown } | undefined)?.code ?? (error?.cause as { code?: unknown } | undefined)?.code;

/**
 * An export error as a user reads it: the system's code (ECONNREFUSED), the collector's HTTP
 * status, else its message; the library's two that name no cause (a 429 said "Export failed
 * with retryable status", a slow collector "Request timed out") in words that do.
 */
function describe(error: Error | undefined, timeoutMs?: number): string {
  if (!error) return 'no reason given';
  const code = errorCode(error);
  if (typeof code === 'number') return `HTTP ${code}${error.message ? `: ${error.message}` : ''}`;
  if (typeof code === 'string') return code;
  // (the library keeps no status for these: its retries end on any of the four)
  if (error.message === 'Export failed with retryable status') return 'the collector answered HTTP 429, 502, 503 or 504 (busy or unavailable: try later) to every try';
  if (error.message === 'Request timed out') return `no answer within ${timeoutMs !== undefined ? `${timeoutMs / 1000} s` : 'the export\'s timeout'}: the collector may have taken it, and be slow to say so`;
  return error.message;
}
