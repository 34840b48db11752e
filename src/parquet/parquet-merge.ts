import { assert } from '../common/assert.js';
import { SaigaError } from '../common/errors.js';
import {
  intField, listField, readThriftStruct, removeThriftField, setThriftField, structField, T_I16, T_I32, T_I64, thriftField, writeThriftStruct,
  type ThriftStruct,
} from './thrift-compact.js';

/**
 * Joins self-contained Parquet byte streams ("parts", each a whole Parquet file holding one or more
 * row groups, written independently, e.g. by encode workers) into one Parquet file with the same
 * schema: the column-chunk bytes of every part in order, then the page-index structures, then one
 * merged footer. Pure: the caller writes the returned byte ranges in order.
 *
 * | bytes | from |
 * |---|---|
 * | `PAR1` | head |
 * | part 0 bytes [4, end of its last column chunk) | add(part 0) |
 * | part 1 bytes [4, end of its last column chunk) ... | add(part 1) ... |
 * | all column indexes (copied), then offset indexes (page offsets shifted), then bloom filters (copied) | finish() |
 * | FileMetaData (Thrift compact): first part's, with every part's row groups (offsets shifted, ordinals renumbered) and summed num_rows | finish() |
 * | footer length (u32 LE), `PAR1` | finish() |
 *
 * Every field this code does not name (statistics, encodings, size statistics, key-value metadata
 * such as ARROW:schema, ...) is kept byte for byte.
 */

const MAGIC = new Uint8Array([0x50, 0x41, 0x52, 0x31]); // "PAR1"

// Field ids from parquet.thrift.
const FMD_SCHEMA = 2;
const FMD_NUM_ROWS = 3;
const FMD_ROW_GROUPS = 4;
const FMD_ENCRYPTION_ALGORITHM = 8;
const RG_COLUMNS = 1;
const RG_FILE_OFFSET = 5;
const RG_ORDINAL = 7;
const CC_FILE_OFFSET = 2;
const CC_META_DATA = 3;
const CC_OFFSET_INDEX_OFFSET = 4;
const CC_OFFSET_INDEX_LENGTH = 5;
const CC_COLUMN_INDEX_OFFSET = 6;
const CC_COLUMN_INDEX_LENGTH = 7;
const CC_CRYPTO_METADATA = 8;
const CMD_TOTAL_COMPRESSED_SIZE = 7;
const CMD_DATA_PAGE_OFFSET = 9;
const CMD_INDEX_PAGE_OFFSET = 10;
const CMD_DICTIONARY_PAGE_OFFSET = 11;
const CMD_BLOOM_FILTER_OFFSET = 14;
const CMD_BLOOM_FILTER_LENGTH = 15;
const OI_PAGE_LOCATIONS = 1;
const PL_OFFSET = 1;

/** A structure outside the column chunks (page index, bloom filter) that moves to the tail. */
interface TailBlock {
  /** Written in this order, as a single writer would: 0 column indexes, 1 offset indexes, 2 bloom filters. */
  readonly kind: 0 | 1 | 2;
  readonly bytes: Uint8Array;
  readonly owner: ThriftStruct;
  readonly offsetField: number;
  readonly lengthField: number | undefined;
}

export interface ParquetMerger {
  /** The file's first bytes (the magic). */
  readonly head: Uint8Array;
  /** Takes one part; returns the bytes to append now (a view into `part`). Parts must come in file order. */
  add(part: Uint8Array, where?: string): Uint8Array;
  /** The bytes that end the file: page indexes, merged footer, its length and the magic. */
  finish(): Uint8Array;
  readonly rowCount: number;
  readonly rowGroupCount: number;
}

function fail(where: string, what: string): never {
  throw new SaigaError('Corruption', `${where}: ${what}`);
}

function shiftI64(s: ThriftStruct, id: number, delta: number): void {
  const v = intField(s, id);
  if (v !== undefined) setThriftField(s, id, T_I64, BigInt(v + delta));
}

export function createParquetMerger(): ParquetMerger {
  let position = MAGIC.length;
  let first: ThriftStruct | undefined;
  let schemaBytes: Uint8Array | undefined;
  const rowGroups: ThriftStruct[] = [];
  const tail: TailBlock[] = [];
  let rowCount = 0;
  let finished = false;

  const add = (part: Uint8Array, where = 'parquet part'): Uint8Array => {
    assert(!finished, 'ParquetMerger.add after finish');
    const n = part.length;
    if (n < 12) fail(where, `expected a Parquet file of at least 12 bytes, found ${n}`);
    for (let i = 0; i < 4; i++) {
      if (part[i] !== MAGIC[i] || part[n - 4 + i] !== MAGIC[i]) fail(where, 'expected PAR1 at both ends');
    }
    const footerLength = new DataView(part.buffer, part.byteOffset + n - 8, 4).getUint32(0, true);
    const footerStart = n - 8 - footerLength;
    if (footerStart < 4) fail(where, `footer length ${footerLength} does not fit in ${n} bytes`);
    const { struct: meta, end } = readThriftStruct(part, footerStart, n - 8);
    if (end !== n - 8) fail(where, `footer ends at ${end}, expected ${n - 8}`);
    if (thriftField(meta, FMD_ENCRYPTION_ALGORITHM) !== undefined) throw new SaigaError('NotSupported', `${where}: encrypted Parquet cannot be merged`);
    const schemaField = thriftField(meta, FMD_SCHEMA);
    if (schemaField === undefined) fail(where, 'footer has no schema');
    const schema = writeThriftStruct({ kind: 'struct', fields: [schemaField] });
    if (schemaBytes === undefined) {
      schemaBytes = schema;
      first = meta;
    } else if (Buffer.compare(schemaBytes, schema) !== 0) {
      throw new SaigaError('InvalidArgument', `${where}: its Parquet schema differs from the first part's`);
    }
    const delta = position - MAGIC.length;
    let dataEnd = MAGIC.length;
    const groups = listField(meta, FMD_ROW_GROUPS)?.items ?? [];
    for (const g of groups) {
      const group = g as ThriftStruct;
      for (const c of listField(group, RG_COLUMNS)?.items ?? []) {
        const chunk = c as ThriftStruct;
        if (thriftField(chunk, CC_CRYPTO_METADATA) !== undefined) throw new SaigaError('NotSupported', `${where}: encrypted column chunks cannot be merged`);
        const md = structField(chunk, CC_META_DATA);
        if (md === undefined) fail(where, 'a column chunk has no metadata');
        const dataPage = intField(md, CMD_DATA_PAGE_OFFSET);
        const size = intField(md, CMD_TOTAL_COMPRESSED_SIZE);
        if (dataPage === undefined || size === undefined) fail(where, 'a column chunk lacks data_page_offset or total_compressed_size');
        const starts = [dataPage, intField(md, CMD_DICTIONARY_PAGE_OFFSET), intField(md, CMD_INDEX_PAGE_OFFSET)]
          .filter((x): x is number => x !== undefined && x > 0);
        const start = Math.min(...starts);
        if (start < MAGIC.length || start + size > footerStart) fail(where, `column chunk [${start}, ${start + size}) lies outside the data [4, ${footerStart})`);
        dataEnd = Math.max(dataEnd, start + size);
        // Structures outside the chunk: page indexes and bloom filters move to the merged tail.
        const moveOut = (kind: TailBlock['kind'], owner: ThriftStruct, offsetField: number, lengthField: number | undefined, rewrite?: (b: Uint8Array) => Uint8Array): void => {
          const off = intField(owner, offsetField);
          if (off === undefined) return;
          const len = lengthField === undefined ? undefined : intField(owner, lengthField);
          if (len === undefined) throw new SaigaError('NotSupported', `${where}: a structure at ${off} has no length; cannot move it`);
          if (off < MAGIC.length || off + len > footerStart) fail(where, `structure [${off}, ${off + len}) lies outside the file body`);
          const bytes = part.slice(off, off + len);
          tail.push({ kind, bytes: rewrite === undefined ? bytes : rewrite(bytes), owner, offsetField, lengthField });
        };
        moveOut(0, chunk, CC_COLUMN_INDEX_OFFSET, CC_COLUMN_INDEX_LENGTH);
        moveOut(1, chunk, CC_OFFSET_INDEX_OFFSET, CC_OFFSET_INDEX_LENGTH, (b) => {
          const { struct: oi, end: oiEnd } = readThriftStruct(b);
          if (oiEnd !== b.length) fail(where, `offset index of ${b.length} bytes decodes to ${oiEnd}`);
          for (const pl of listField(oi, OI_PAGE_LOCATIONS)?.items ?? []) shiftI64(pl as ThriftStruct, PL_OFFSET, delta);
          return writeThriftStruct(oi);
        });
        moveOut(2, md, CMD_BLOOM_FILTER_OFFSET, CMD_BLOOM_FILTER_LENGTH);
        shiftI64(md, CMD_DATA_PAGE_OFFSET, delta);
        shiftI64(md, CMD_DICTIONARY_PAGE_OFFSET, delta);
        shiftI64(md, CMD_INDEX_PAGE_OFFSET, delta);
        // ColumnChunk.file_offset is deprecated; writers put 0 (unset) or a position in the file.
        if ((intField(chunk, CC_FILE_OFFSET) ?? 0) > 0) shiftI64(chunk, CC_FILE_OFFSET, delta);
      }
      if ((intField(group, RG_FILE_OFFSET) ?? 0) > 0) shiftI64(group, RG_FILE_OFFSET, delta);
      // The ordinal is the row group's position in the file (an i16: past 32767 it is left out).
      if (rowGroups.length <= 0x7fff) setThriftField(group, RG_ORDINAL, T_I16, rowGroups.length);
      else removeThriftField(group, RG_ORDINAL);
      rowGroups.push(group);
    }
    rowCount += intField(meta, FMD_NUM_ROWS) ?? 0;
    position += dataEnd - MAGIC.length;
    return part.subarray(MAGIC.length, dataEnd);
  };

  const finish = (): Uint8Array => {
    assert(!finished, 'ParquetMerger.finish called twice');
    if (first === undefined) throw new SaigaError('IllegalState', 'a merged Parquet file needs at least one part');
    finished = true;
    const chunks: Uint8Array[] = [];
    let at = position;
    for (const block of tail.sort((a, b) => a.kind - b.kind)) { // a stable sort: file order within a kind
      setThriftField(block.owner, block.offsetField, T_I64, BigInt(at));
      if (block.lengthField !== undefined) setThriftField(block.owner, block.lengthField, T_I32, block.bytes.length);
      chunks.push(block.bytes);
      at += block.bytes.length;
    }
    const meta: ThriftStruct = { kind: 'struct', fields: first.fields.slice() };
    setThriftField(meta, FMD_NUM_ROWS, T_I64, BigInt(rowCount));
    setThriftField(meta, FMD_ROW_GROUPS, 9, { kind: 'list', collection: 9, elemType: 12, items: rowGroups });
    const footer = writeThriftStruct(meta);
    const trailer = new Uint8Array(8);
    new DataView(trailer.buffer).setUint32(0, footer.length, true);
    trailer.set(MAGIC, 4);
    chunks.push(footer, trailer);
    return Buffer.concat(chunks);
  };

  return {
    head: MAGIC.slice(),
    add,
    finish,
    get rowCount() { return rowCount; },
    get rowGroupCount() { return rowGroups.length; },
  };
}
