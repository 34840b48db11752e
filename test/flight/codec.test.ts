import {
  Binary, Bool, DateDay, Decimal, Field, Float32, Float64, Int16, Int32, Int64, Int8, RecordBatch,
  Schema, TimestampMicrosecond, Utf8, makeData, Struct, vectorFromArray, type DataType,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  IpcStreamDecoder, IpcStreamEncoder, concatBytes, decodeFlightData, decodeFlightDescriptor,
  GRPC_FRAME_PREFIX_BYTES, FlightDataFrame, FlightDataLayout, decodeSchemaMessage, encodeFlightData, encodeFlightDescriptor, encodeSchemaMessage,
} from '../../src/server/flight/codec.js';
import { isSaigaError } from '../../src/common/errors.js';
import { mulberry32 as rng } from '../../bench/random.js';

const SEED = Number(process.env['SEED'] ?? 20240611);

function sampleBatch(rows: number, seed: number): RecordBatch {
  const r = rng(seed);
  const nullable = <T>(f: () => T): (T | null)[] => Array.from({ length: rows }, () => (r() < 0.1 ? null : f()));
  const cols: [string, DataType, unknown[]][] = [
    ['b', new Bool(), nullable(() => r() < 0.5)],
    ['i8', new Int8(), nullable(() => Math.floor(r() * 256) - 128)],
    ['i16', new Int16(), nullable(() => Math.floor(r() * 65536) - 32768)],
    ['i32', new Int32(), nullable(() => Math.floor(r() * 2 ** 32) - 2 ** 31)],
    ['i64', new Int64(), nullable(() => BigInt(Math.floor(r() * 2 ** 53)) * (r() < 0.5 ? -1n : 1n) * 977n)],
    ['f32', new Float32(), nullable(() => Math.fround(r() * 1e6))],
    ['f64', new Float64(), nullable(() => r() * 1e12)],
    ['s', new Utf8(), nullable(() => 'x'.repeat(Math.floor(r() * 20)) + 'é€😀')],
    ['bin', new Binary(), nullable(() => Uint8Array.from({ length: Math.floor(r() * 9) }, () => Math.floor(r() * 256)))],
    ['d', new DateDay(), nullable(() => Math.floor(r() * 40000) - 10000)],
    ['ts', new TimestampMicrosecond(), nullable(() => Math.floor(r() * 2 ** 50))],
  ];
  const fields: Field[] = [];
  const children = [];
  for (const [name, type, values] of cols) {
    fields.push(new Field(name, type, true));
    children.push(vectorFromArray(values, type).data[0]!);
  }
  // decimal128(20, 4): build the buffer directly (4 little-endian 32-bit words per value).
  const words = new Uint32Array(rows * 4);
  const validity = new Uint8Array(Math.ceil(rows / 8));
  const decValues: (bigint | null)[] = [];
  for (let i = 0; i < rows; i++) {
    if (r() < 0.1) {
      decValues.push(null);
      continue;
    }
    validity[i >> 3]! |= 1 << (i & 7);
    const v = BigInt(Math.floor(r() * 2 ** 52)) * 100003n * (r() < 0.5 ? -1n : 1n);
    decValues.push(v);
    const u = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++) words[i * 4 + w] = Number((u >> BigInt(32 * w)) & 0xffffffffn);
  }
  const decType = new Decimal(4, 20, 128);
  fields.push(new Field('dec', decType, true));
  const nullCount = decValues.filter((v) => v === null).length;
  children.push(makeData({ type: decType, length: rows, nullCount, nullBitmap: validity, data: words }));
  const schema = new Schema(fields);
  const data = makeData({ type: new Struct(fields), length: rows, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

/** Row values as plain JS for comparison (decimals compared by their 128-bit words). */
function rowsOf(batch: RecordBatch): unknown[][] {
  const out: unknown[][] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const row: unknown[] = [];
    for (let c = 0; c < batch.numCols; c++) {
      const v = batch.getChildAt(c)!.get(i) as unknown;
      if (v instanceof Uint32Array) row.push(Array.from(v));
      else if (v instanceof Uint8Array) row.push(Array.from(v));
      else row.push(v);
    }
    out.push(row);
  }
  return out;
}

describe('FlightData framing', () => {
  it('round-trips descriptor, header, metadata and a multi-part body', () => {
    const descriptor = { type: 'path' as const, path: ['db', 'table'] };
    const buf = encodeFlightData({
      descriptor,
      dataHeader: Uint8Array.of(1, 2, 3),
      appMetadata: Uint8Array.of(9),
      body: [Uint8Array.of(4, 5), Uint8Array.of(6, 7, 8)],
    });
    const back = decodeFlightData(buf);
    expect(back.descriptor).toEqual(descriptor);
    // data_header may be zero-padded so that data_body lands 8-aligned after the gRPC prefix
    expect(Array.from(back.dataHeader.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(back.dataHeader.subarray(3).every((b) => b === 0)).toBe(true);
    expect(back.dataHeader.length).toBeLessThan(3 + 8);
    expect((GRPC_FRAME_PREFIX_BYTES + back.dataBody.byteOffset) % 8).toBe(0);
    expect(Array.from(back.appMetadata)).toEqual([9]);
    expect(Array.from(back.dataBody)).toEqual([4, 5, 6, 7, 8]);
  });

  it('round-trips a command descriptor', () => {
    const d = { type: 'cmd' as const, cmd: Uint8Array.of(0, 255, 7) };
    const back = decodeFlightDescriptor(encodeFlightDescriptor(d));
    expect(back.type).toBe('cmd');
    expect(back.type === 'cmd' && Array.from(back.cmd)).toEqual([0, 255, 7]);
  });

  it('rejects truncated messages with InvalidArgument', () => {
    const buf = encodeFlightData({ dataHeader: new Uint8Array(40), body: [new Uint8Array(300)] });
    for (const cut of [1, 10, buf.length - 1]) {
      let err: unknown;
      try {
        decodeFlightData(buf.subarray(0, cut));
      } catch (e) {
        err = e;
      }
      expect(isSaigaError(err, 'InvalidArgument'), `cut at ${cut}`).toBe(true);
    }
  });
});

describe('Arrow IPC codec', () => {
  it(`round-trips every Saiga type through schema + batch frames (seed ${SEED})`, () => {
    const batches = [sampleBatch(1000, SEED), sampleBatch(1, SEED + 1), sampleBatch(0, SEED + 2)];
    const schema = batches[0]!.schema;
    const enc = new IpcStreamEncoder(schema);
    const dec = new IpcStreamDecoder();
    const schemaFrame = enc.schemaFrame();
    const first = dec.push(schemaFrame.header, concatBytes(schemaFrame.body));
    expect(first.kind).toBe('schema');
    expect(first.kind === 'schema' && first.schema.fields.map((f) => String(f.type))).toEqual(schema.fields.map((f) => String(f.type)));
    for (const b of batches) {
      const frames = enc.batchFrames(b);
      expect(frames.length).toBe(1);
      const f = frames[0]!;
      // through the wire framing as well
      const wire = decodeFlightData(encodeFlightData({ dataHeader: f.header, body: f.body }));
      const m = dec.push(wire.dataHeader, wire.dataBody);
      expect(m.kind).toBe('batch');
      if (m.kind !== 'batch') continue;
      expect(m.batch.numRows).toBe(b.numRows);
      expect(rowsOf(m.batch)).toEqual(rowsOf(b));
    }
  });

  it('round-trips the encapsulated schema message', () => {
    const schema = sampleBatch(1, SEED).schema;
    const back = decodeSchemaMessage(encodeSchemaMessage(schema));
    expect(back.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(schema.fields.map((f) => [f.name, String(f.type), f.nullable]));
  });

  it('rejects a batch before the schema, a short body and garbage headers', () => {
    const b = sampleBatch(50, SEED);
    const enc = new IpcStreamEncoder(b.schema);
    const sf = enc.schemaFrame();
    const bf = enc.batchFrames(b)[0]!;
    const body = concatBytes(bf.body);
    const expectInvalid = (f: () => unknown, what: string): void => {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(isSaigaError(err, 'InvalidArgument'), `${what}: ${String(err)}`).toBe(true);
    };
    expectInvalid(() => new IpcStreamDecoder().push(bf.header, body), 'batch before schema');
    const dec = new IpcStreamDecoder();
    dec.push(sf.header, concatBytes(sf.body));
    expectInvalid(() => dec.push(bf.header, body.subarray(0, body.length - 8)), 'short body');
    expectInvalid(() => dec.push(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), body), 'garbage header');
    expectInvalid(() => dec.push(new Uint8Array(0), body), 'empty header');
    // the decoder still works after rejecting bad input
    const ok = dec.push(bf.header, body);
    expect(ok.kind === 'batch' && ok.batch.numRows).toBe(50);
  });
});

describe('FlightDataFrame (the body written straight into the gRPC frame)', () => {
  /** What grpc-js does with a serialized message: allocate length + 5, copy at 5, strip the 5 on receipt. */
  function throughGrpcFrame(frame: FlightDataFrame): Uint8Array {
    const out = Buffer.alloc(frame.length + GRPC_FRAME_PREFIX_BYTES, 0xee);
    out.writeUInt8(0, 0);
    out.writeUInt32BE(frame.length, 1);
    expect(frame.copy(out, GRPC_FRAME_PREFIX_BYTES)).toBe(frame.length);
    expect(out.byteOffset % 8).toBe(0);
    return out.subarray(GRPC_FRAME_PREFIX_BYTES);
  }

  it(`streams every type, many batches and empty batches, with aligned in-place bodies (seed ${SEED})`, () => {
    const r = rng(SEED + 100);
    const sizes = [0, 1, 7, 1000, 0, 333, 4096, 2];
    const batches = sizes.map((n, i) => sampleBatch(n, SEED + 10 + i));
    const schema = batches[0]!.schema;
    const enc = new IpcStreamEncoder(schema);
    const dec = new IpcStreamDecoder();
    const sf = enc.schemaFrame();
    const first = dec.push(...((): [Uint8Array, Uint8Array] => {
      const w = decodeFlightData(throughGrpcFrame(new FlightDataFrame(new FlightDataLayout({ dataHeader: sf.header, body: sf.body }))));
      return [w.dataHeader, w.dataBody];
    })());
    expect(first.kind).toBe('schema');
    for (let i = 0; i < batches.length; i++) {
      const b = batches[i]!;
      const frames = enc.batchFrames(b);
      expect(frames.length).toBe(1);
      const f = frames[0]!;
      // descriptor and app_metadata of varying sizes move the body around: every padding is exercised
      const meta = r() < 0.8 ? Uint8Array.from({ length: Math.floor(r() * 40) }, () => Math.floor(r() * 256)) : undefined;
      const descriptor = r() < 0.5 ? { type: 'path' as const, path: ['db'.repeat(1 + Math.floor(r() * 5)), 't'] } : undefined;
      const frame = new FlightDataFrame(new FlightDataLayout({
        dataHeader: f.header, body: f.body, ...(meta === undefined ? {} : { appMetadata: meta }), ...(descriptor === undefined ? {} : { descriptor }),
      }));
      const received = throughGrpcFrame(frame);
      // byte-identical to the Buffer encoder
      expect(Buffer.from(received).equals(frame.toBuffer())).toBe(true);
      expect(Buffer.from(received).equals(encodeFlightData(frame.layout.msg))).toBe(true);
      const wire = decodeFlightData(received);
      expect(wire.descriptor).toEqual(descriptor);
      expect(Array.from(wire.appMetadata)).toEqual(meta === undefined ? [] : Array.from(meta));
      if (wire.dataBody.byteLength > 0) expect(wire.dataBody.byteOffset % 8).toBe(0);
      const m = dec.push(wire.dataHeader, wire.dataBody);
      expect(m.kind).toBe('batch');
      if (m.kind !== 'batch') continue;
      expect(m.batch.numRows).toBe(b.numRows);
      expect(rowsOf(m.batch)).toEqual(rowsOf(b));
      if (b.numRows > 0) {
        // aligned body: Arrow reads the column buffers in place (no copy out of the received frame)
        const values = m.batch.getChildAt(3)!.data[0]!.values as Int32Array;
        expect(values.buffer).toBe(received.buffer);
      }
    }
  });

  it('copies partial ranges like Buffer.copy', () => {
    const frame = new FlightDataFrame(new FlightDataLayout({ dataHeader: Uint8Array.of(1, 2, 3), body: [Uint8Array.of(4, 5, 6, 7, 8, 9, 10, 11)] }));
    const whole = frame.toBuffer();
    const part = Buffer.alloc(4);
    expect(frame.copy(part, 0, 2, 6)).toBe(4);
    expect(Array.from(part)).toEqual(Array.from(whole.subarray(2, 6)));
  });
});
