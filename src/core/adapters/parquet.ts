// A Parquet file of another framework (TRL's completions) decoded within bounds. Parquet's encodings
// make a tiny file decode huge: a dictionary page with one 24 KB string and RLE indices of 60,000 rows
// is a 3.5 KB file and 1.4 GB of text; an RLE run or a page header can claim a billion values. So before
// anything is decoded every page header is read and checked (values per column, uncompressed bytes per
// page and per file), the rows are capped, and the text the caller keeps is counted by the caller
// (TEXT_CAP_CHARS). A file over a bound is refused or cut with one line that says which bound.
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { formatSize } from '../run/files';

/** Rows of one file (TRL writes one file per logged step: prompts x generations of that step). */
export const MAX_PARQUET_ROWS = 200_000;
/** Leaf values of one column (lists of messages hold several per row). */
export const MAX_COLUMN_VALUES = 4_000_000;
/** Bytes of one decompressed page, and of all the pages of a file. */
export const MAX_PAGE_BYTES = 64 * 2 ** 20;
export const MAX_DECODED_BYTES = 512 * 2 ** 20;
/** Characters of text a caller keeps from one file's rows (the samples of one step). */
export const TEXT_CAP_CHARS = 32 * 2 ** 20;

export class ParquetBoundError extends Error {}

type Rows = Record<string, unknown>[];

/** Throws ParquetBoundError naming the bound a file's declared sizes break; any other error: not a readable Parquet file. */
export function checkParquetBounds(buf: ArrayBuffer): void {
  const meta = parquetMetadata(buf);
  const rows = Number(meta.num_rows);
  if (!(rows <= MAX_PARQUET_ROWS)) throw new ParquetBoundError(`${rows.toLocaleString('en-US')} rows, more than the ${MAX_PARQUET_ROWS.toLocaleString('en-US')} read from one file`);
  const view = new DataView(buf);
  let decoded = 0;
  const values = new Map<string, number>();
  for (const group of meta.row_groups) {
    for (const chunk of group.columns) {
      const m = chunk.meta_data;
      if (!m) continue;
      const name = m.path_in_schema.join('.');
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      if (!(start >= 0 && end <= buf.byteLength)) throw new Error(`column ${name}: its pages lie outside the file`);
      const reader = { view, offset: start };
      while (reader.offset < end) {
        const h = parquetHeader(reader);
        const pageBytes = Number(h.uncompressed_page_size);
        if (!(pageBytes >= 0 && pageBytes <= MAX_PAGE_BYTES)) throw new ParquetBoundError(`column ${name}: a page of ${formatSize(pageBytes)} when decompressed, more than ${formatSize(MAX_PAGE_BYTES)}`);
        decoded += pageBytes;
        if (decoded > MAX_DECODED_BYTES) throw new ParquetBoundError(`pages of more than ${formatSize(MAX_DECODED_BYTES)} when decompressed`);
        const n = Number(h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values ?? h.dictionary_page_header?.num_values ?? 0);
        const total = (values.get(name) ?? 0) + n;
        if (!(n >= 0 && total <= MAX_COLUMN_VALUES)) throw new ParquetBoundError(`column ${name}: more than ${MAX_COLUMN_VALUES.toLocaleString('en-US')} values`);
        values.set(name, total);
        const step = Number(h.compressed_page_size);
        if (!(step >= 0)) throw new Error(`column ${name}: a page header with a negative size`);
        reader.offset += step;
      }
    }
  }
}

/** The rows of a Parquet file, its sizes checked first (checkParquetBounds). */
export async function readParquetRows(buf: ArrayBuffer): Promise<Rows> {
  checkParquetBounds(buf);
  return await parquetReadObjects({ file: buf }) as Rows;
}
