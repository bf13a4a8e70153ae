// TFRecord framing, the container of TensorBoard event files: for each record a little-endian
// u64 length, the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data
// (tensorflow/tensorboard: tensorboard/summary/writer/record_writer.py). Read incrementally: a
// record not yet fully written waits for the next poll; a checksum that does not match is
// reported, never decoded. Bounded: at most 16 MiB is read per poll, a record over MAX_RECORD_BYTES
// (an image summary, say) is skipped without being held, and the file is opened through the run
// folder's guard (a FIFO or a link to a device is refused, never read).
import { crc32c } from '@aws-crypto/crc32c';
import { ByteTail } from './tail';

const MASK_DELTA = 0xa282ead8;
/** Larger records are skipped, never held (scalars and text summaries are kilobytes). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** TensorFlow's masked CRC: rotate right by 15 bits and add a constant, so a CRC of CRCs stays useful. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

export interface RecordBatch {
  records: Uint8Array[];
  /** One line per problem: file, byte offset, what is wrong. */
  errors: string[];
  restarted: boolean;
}

export class TFRecordTail {
  readonly bytes: ByteTail;
  private carry: Buffer = Buffer.alloc(0);
  private carryAt = 0;     // file offset of carry[0]
  private broken = false;  // the framing is lost (bad length checksum): nothing after it can be trusted

  constructor(readonly file: string) { this.bytes = new ByteTail(file, 'tfevents'); }

  poll(): RecordBatch {
    const out: RecordBatch = { records: [], errors: [], restarted: false };
    const { bytes, restarted, problem } = this.bytes.read();
    if (problem) out.errors.push(problem);
    if (restarted) { this.carry = Buffer.alloc(0); this.carryAt = 0; this.broken = false; out.restarted = true; }
    if (this.broken || bytes.length === 0) return out;
    const buf = this.carry.length ? Buffer.concat([this.carry, bytes]) : bytes;
    let pos = 0;
    while (buf.length - pos >= 12) {
      const at = this.carryAt + pos;
      const lengthBytes = buf.subarray(pos, pos + 8);
      if (buf.readUInt32LE(pos + 8) !== maskedCrc32c(lengthBytes)) {
        out.errors.push(`${this.file}: record at byte ${at}: length checksum (CRC32C) does not match: the file is corrupted; reading of this file stops here`);
        this.broken = true;
        break;
      }
      const length = Number(buf.readBigUInt64LE(pos));
      if (length > MAX_RECORD_BYTES) {
        // its length passed its checksum: a real record, too large to read here; skipped without holding it
        out.errors.push(`${this.file}: record at byte ${at}: ${length} bytes, more than the ${MAX_RECORD_BYTES} read: skipped`);
        const next = at + 12 + length + 4;
        if (buf.length - pos >= 12 + length + 4) { pos += 12 + length + 4; continue; }
        this.bytes.skip(next);
        this.carry = Buffer.alloc(0);
        this.carryAt = next;
        return out;
      }
      if (buf.length - pos < 12 + length + 4) break; // torn: the writer has not finished this record
      const data = buf.subarray(pos + 12, pos + 12 + length);
      if (buf.readUInt32LE(pos + 12 + length) === maskedCrc32c(data)) out.records.push(data);
      else out.errors.push(`${this.file}: record at byte ${at}: data checksum (CRC32C) does not match: record skipped`);
      pos += 12 + length + 4;
    }
    this.carry = this.broken ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    this.carryAt += pos;
    return out;
  }
}
