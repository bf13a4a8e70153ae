// The part of yazl (a zip writer, pinned in package.json) that the Ray target uses; yazl ships no types.
declare module 'yazl' {
  import type { Readable } from 'node:stream';
  export class ZipFile {
    addBuffer(buffer: Buffer, metadataPath: string, options?: { mtime?: Date; mode?: number; compress?: boolean }): void;
    end(): void;
    outputStream: Readable;
  }
}
