import * as pw from 'parquet-wasm';

/** Settings of the Parquet writer, shared by the calling thread and the encode workers. */

export type ParquetCompression = 'snappy' | 'zstd' | 'uncompressed';

export interface ParquetEncodeSettings {
  readonly compression: ParquetCompression;
  /** Rows per row group. */
  readonly rowGroupRows: number;
  /**
   * Parquet writer version: 1 (default; data page v1, plain fallback encodings: what every reader
   * reads) or 2 (data page v2 with DELTA_BINARY_PACKED / DELTA_BYTE_ARRAY fallbacks: ~20% smaller
   * TPC-H lineitem, somewhat less encoding CPU; DuckDB reads it, older readers may not).
   */
  readonly version?: 1 | 2;
}

/** Default rows per row group (DuckDB's default too). */
export const ROW_GROUP_ROWS_DEFAULT = 122_880;

const COMPRESSION: Record<ParquetCompression, pw.Compression> = {
  snappy: pw.Compression.SNAPPY,
  zstd: pw.Compression.ZSTD,
  uncompressed: pw.Compression.UNCOMPRESSED,
};

/** Dictionary page size limit: columns whose dictionary outgrows it fall back to plain encoding. */
const DICTIONARY_PAGE_BYTES = 16 * 1024;

/**
 * parquet-wasm writer properties. Measured on TPC-H lineitem (bench/parquet.ts): the defaults
 * (1 MiB dictionary pages, page-level statistics) spend most of the encoding time building
 * dictionaries for high-cardinality columns and page indexes. A 16 KiB dictionary page limit makes
 * those columns fall back to plain encoding early while low-cardinality ones keep their dictionary
 * (same file size); row-group (chunk) statistics are what DuckDB and others use for pruning.
 * Together about 25% less encoding CPU.
 */
export function writerProperties(settings: ParquetEncodeSettings): pw.WriterProperties {
  return new pw.WriterPropertiesBuilder()
    .setCompression(COMPRESSION[settings.compression])
    .setMaxRowGroupSize(settings.rowGroupRows)
    .setDictionaryPageSizeLimit(DICTIONARY_PAGE_BYTES)
    .setStatisticsEnabled(pw.EnabledStatistics.Chunk)
    .setCreatedBy('saiga')
    .setWriterVersion(settings.version === 2 ? pw.WriterVersion.V2 : pw.WriterVersion.V1)
    .build();
}
