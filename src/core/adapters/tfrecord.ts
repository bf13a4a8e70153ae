// TFRecord framing, the container of TensorBoard event files: for each record a little-endian
// u64 length, the masked CRC32C of those 8 bytes, the data, and the masked CRC32C of the data
// (tensorflow/tensorboard: tensorboard/summary/writer/record_writer.py). Read incrementally: a
// record not yet fully written waits for the next poll; a checksum that does not match is
// reported, never decoded.
import { crc32c } from '@aws-crypto/crc32c';
import { ByteTail } from './tail';

const MASK_DELTA = 0xa282ead8;
/** Larger records are taken as a corrupted length (summaries are kilobytes). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

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

  constructor(readonly file: string) { this.bytes = new ByteTail(file); }

  poll(): RecordBatch {
    const out: RecordBatch = { records: [], errors: [], restarted: false };
    const { bytes, restarted } = this.bytes.read();
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
        out.errors.push(`${this.file}: record at byte ${at}: length ${length} is implausible: the file is corrupted; reading of this file stops here`);
        this.broken = true;
        break;
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
