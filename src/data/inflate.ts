/**
 * Forward reading of a deflated zip member without holding it whole: the member is inflated in
 * chunks from the file and only the output bytes a read asks for are kept. Reads at increasing
 * offsets cost one pass over the member in total; a read behind the current position restarts
 * the pass from the member's start. Sample selections are ascending, so calibration makes one pass.
 */
import fs from 'node:fs';
import { Inflate } from 'fflate';
import { fail } from '../errors.js';

/** Compressed bytes fed to the inflater at a time. */
const CHUNK = 1 << 16;

interface Piece {
  start: number;
  bytes: Uint8Array;
}

export class InflateCursor {
  private inflater!: Inflate;
  private fed = 0;
  private produced = 0;
  private pending: Piece[] = [];

  constructor(
    private readonly file: string,
    private readonly dataOffset: number,
    private readonly compressedSize: number,
    private readonly where: string,
  ) {
    this.restart();
  }

  private restart(): void {
    this.fed = 0;
    this.produced = 0;
    this.pending = [];
    this.inflater = new Inflate((chunk) => {
      // Copy: the inflater may reuse its output buffer for the next chunk.
      this.pending.push({ start: this.produced, bytes: chunk.slice() });
      this.produced += chunk.length;
    });
  }

  /** Returns `length` bytes of the inflated member starting at `start`. */
  read(start: number, length: number): Uint8Array {
    const earliest = this.pending.length > 0 ? this.pending[0]!.start : this.produced;
    if (start < earliest) this.restart();
    const out = new Uint8Array(length);
    const end = start + length;
    let fd = -1;
    try {
      for (;;) {
        while (this.pending.length > 0) {
          const piece = this.pending[0]!;
          const pieceEnd = piece.start + piece.bytes.length;
          if (pieceEnd > start) {
            const from = Math.max(start, piece.start);
            const to = Math.min(end, pieceEnd);
            if (to > from) out.set(piece.bytes.subarray(from - piece.start, to - piece.start), from - start);
            if (pieceEnd > end) break; // still holds bytes a later read may want
          }
          this.pending.shift();
        }
        if (this.produced >= end) return out;
        if (this.fed >= this.compressedSize)
          fail('BAD_CALIBRATION', `${this.where} is corrupt: it inflates to fewer bytes than its .npy header promises.`);
        if (fd < 0) fd = fs.openSync(this.file, 'r');
        const n = Math.min(CHUNK, this.compressedSize - this.fed);
        const chunk = Buffer.allocUnsafe(n);
        let done = 0;
        while (done < n) {
          const got = fs.readSync(fd, chunk, done, n - done, this.dataOffset + this.fed + done);
          if (got === 0) fail('BAD_CALIBRATION', `${this.where} is truncated.`);
          done += got;
        }
        this.fed += n;
        try {
          this.inflater.push(chunk, this.fed === this.compressedSize);
        } catch (e) {
          this.restart();
          fail('BAD_CALIBRATION', `${this.where} is corrupt: ${(e as Error).message}. Re-write the .npz with numpy.savez or numpy.savez_compressed.`, e);
        }
      }
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  }
}
