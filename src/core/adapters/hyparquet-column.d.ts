// hyparquet's page-header reader (src/column.js, exported by the package as `hyparquet/src/*.js`):
// tsc's `node` module resolution does not read package exports, so its declaration is repeated here.
declare module 'hyparquet/src/column.js' {
  import type { PageHeader } from 'hyparquet';
  export function parquetHeader(reader: { view: DataView; offset: number }): PageHeader;
}
