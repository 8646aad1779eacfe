// Text written as UTF-8 in pieces of about 64 KB: what the exporters' own writers (the
// Prometheus page, the OTLP JSON) append to line by line. A page of tens of MB built as one string
// and encoded at the end costs a copy the size of the page in the heap, and the one string's
// ropes flattened; each piece's short strings are young garbage once the piece is encoded.

/** Pieces of about this many characters. */
const PIECE_CHARS = 1 << 16;

export class TextPieces {
  private readonly pieces: Buffer[] = [];
  private current = '';
  /** characters added so far */
  length = 0;

  add(s: string): void {
    this.current += s;
    this.length += s.length;
    if (this.current.length >= PIECE_CHARS) {
      this.pieces.push(Buffer.from(this.current, 'utf8'));
      this.current = '';
    }
  }

  /** The pieces, in order; the writer is done with after this. */
  done(): Buffer[] {
    if (this.current !== '') this.pieces.push(Buffer.from(this.current, 'utf8'));
    this.current = '';
    return this.pieces;
  }
}

/**
 * The same text written as UTF-8 into one buffer, for a consumer that takes one (the OTLP
 * exporter's transport): sized from the size it was last time, so a push of tens of MB is
 * neither a list of pieces concatenated nor a buffer grown many times.
 */
export class TextBuffer {
  private buffer: Buffer;
  private used = 0;
  private current = '';

  /** `expectedBytes`: about what the text will take (what the last one took). */
  constructor(expectedBytes: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(PIECE_CHARS * 3, Math.ceil(expectedBytes * 1.125)));
  }

  add(s: string): void {
    this.current += s;
    if (this.current.length >= PIECE_CHARS) this.flush();
  }

  /** The text's bytes (a view of the buffer). */
  done(): Buffer {
    this.flush();
    return this.buffer.subarray(0, this.used);
  }

  private flush(): void {
    // a UTF-16 unit takes at most 3 bytes in UTF-8 (a surrogate pair's two take 4)
    const most = this.current.length * 3;
    if (this.used + most > this.buffer.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.used + most));
      this.buffer.copy(bigger, 0, 0, this.used);
      this.buffer = bigger;
    }
    this.used += this.buffer.write(this.current, this.used, 'utf8');
    this.current = '';
  }
}
