import { tableToIPC, tableFromArrays } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { isSaigaError } from '../../src/common/errors.js';
import {
  readThriftStruct, T_BINARY, T_BOOL_FALSE, T_BOOL_TRUE, T_DOUBLE, T_I16, T_I32, T_I64, T_I8, T_LIST, T_MAP, T_SET, T_STRUCT,
  writeThriftStruct, type ThriftStruct,
} from '../../src/parquet/thrift-compact.js';
import { mulberry32 } from '../../bench/random.js';

function footerOf(file: Uint8Array): Uint8Array {
  const len = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true);
  return file.subarray(file.length - 8 - len, file.length - 8);
}

describe('Thrift compact protocol', () => {
  it('re-encodes a parquet-wasm footer byte for byte', () => {
    const t = tableFromArrays({
      a: Int32Array.from({ length: 5000 }, (_, i) => i - 2500),
      s: Array.from({ length: 5000 }, (_, i) => `v${i % 13}`),
      d: Float64Array.from({ length: 5000 }, (_, i) => i / 7),
    });
    const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(1000).build();
    const file = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(t, 'stream')), props);
    const footer = footerOf(file);
    const { struct, end } = readThriftStruct(footer);
    expect(end).toBe(footer.length);
    expect(Buffer.from(writeThriftStruct(struct)).equals(Buffer.from(footer))).toBe(true);
    // FileMetaData: num_rows (3) = 5000, five row groups (4).
    expect(struct.fields.find((f) => f.id === 3)?.value).toBe(5000n);
    const groups = struct.fields.find((f) => f.id === 4)?.value;
    expect(typeof groups === 'object' && !(groups instanceof Uint8Array) && groups.kind === 'list' ? groups.items.length : -1).toBe(5);
  });

  it('round-trips every type, long field-id gaps, negative and 64-bit values', () => {
    const seed = 20261121;
    const rnd = mulberry32(seed);
    for (let round = 0; round < 50; round++) {
      const big = BigInt(Math.floor(rnd() * 2 ** 53)) * (rnd() < 0.5 ? -1n : 1n) * 1024n;
      const s: ThriftStruct = {
        kind: 'struct',
        fields: [
          { id: 1, type: T_BOOL_TRUE, value: true },
          { id: 2, type: T_BOOL_FALSE, value: false },
          { id: 3, type: T_I8, value: -7 },
          { id: 4, type: T_I16, value: -300 },
          { id: 5, type: T_I32, value: Math.floor((rnd() - 0.5) * 2 ** 31) },
          { id: 30, type: T_I64, value: big },
          { id: 31, type: T_DOUBLE, value: rnd() * 1e9 },
          { id: 32, type: T_BINARY, value: Uint8Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)) },
          { id: 33, type: T_LIST, value: { kind: 'list', collection: T_LIST, elemType: T_I32, items: Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 1000)) } },
          { id: 34, type: T_LIST, value: { kind: 'list', collection: T_LIST, elemType: T_BOOL_TRUE, items: [true, false, true] } },
          { id: 35, type: T_SET, value: { kind: 'list', collection: T_SET, elemType: T_BINARY, items: [Uint8Array.of(1, 2)] } },
          { id: 36, type: T_MAP, value: { kind: 'map', keyType: T_BINARY, valueType: T_I64, entries: [[Uint8Array.of(65), -5n], [Uint8Array.of(66), 1n << 62n]] } },
          { id: 37, type: T_MAP, value: { kind: 'map', keyType: 0, valueType: 0, entries: [] } },
          { id: 20, type: T_STRUCT, value: { kind: 'struct', fields: [{ id: 500, type: T_I64, value: -1n }] } },
        ],
      };
      const bytes = writeThriftStruct(s);
      const back = readThriftStruct(bytes);
      expect(back.end, `seed ${seed} round ${round}`).toBe(bytes.length);
      expect(back.struct, `seed ${seed} round ${round}`).toEqual(s);
      expect(Buffer.from(writeThriftStruct(back.struct)).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('reports truncated or malformed input as Corruption', () => {
    const bytes = writeThriftStruct({ kind: 'struct', fields: [{ id: 1, type: T_BINARY, value: new Uint8Array(100) }] });
    expect(() => readThriftStruct(bytes.subarray(0, 50))).toThrow(expect.objectContaining({ code: 'Corruption' }));
    let caught: unknown;
    try { readThriftStruct(Uint8Array.of(0x1d)); } catch (e) { caught = e; } // field 1 of type 13: no such type
    expect(isSaigaError(caught, 'Corruption')).toBe(true);
  });
});
