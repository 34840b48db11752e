import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_FRAME_PREFIX_BYTES, FlightDataLayout, encodeFlightData, type FlightDataIn, type FlightDataOut } from '../../src/server/flight/codec.js';
import { directSender } from '../../src/server/flight/h2-send.js';
import { flightService } from '../../src/server/flight/proto.js';
import { mulberry32 as rng } from '../../bench/random.js';

/**
 * The zero-copy DoGet send path (h2-send.ts) against a real grpc-js server and client: the
 * messages arrive whole, in order and byte-identical to grpc-js's own serialization, the send
 * queue bound holds, and a cancelled call does not leave the sender waiting.
 */
const SEED = Number(process.env['SEED'] ?? 31);

/** Random FlightData messages; bodies split into several buffers of 8-aligned sizes like an IPC body. */
function messages(seed: number, count: number, bodyBytesMax: number): FlightDataOut[] {
  const r = rng(seed);
  const out: FlightDataOut[] = [];
  for (let i = 0; i < count; i++) {
    const header = Uint8Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * 256));
    const body: Uint8Array[] = [];
    const parts = Math.floor(r() * 6);
    for (let p = 0; p < parts; p++) {
      const n = 8 * Math.floor((r() * bodyBytesMax) / 8 / Math.max(1, parts));
      const b = new Uint8Array(n);
      for (let k = 0; k < n; k += 97) b[k] = Math.floor(r() * 256);
      body.push(b);
    }
    const meta = r() < 0.3 ? Uint8Array.from({ length: Math.floor(r() * 30) }, () => Math.floor(r() * 256)) : undefined;
    out.push({ dataHeader: header, body, ...(meta === undefined ? {} : { appMetadata: meta }) });
  }
  return out;
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

let server: grpc.Server;
let port = 0;
let client: grpc.Client & Record<string, (...args: unknown[]) => unknown>;
/** What each DoGet (keyed by ticket text) should send, and what the handler observed. */
const plans = new Map<string, { msgs: FlightDataOut[]; queueMax: number }>();
const observed = new Map<string, { direct: boolean; queuedMax: number; finished: boolean }>();

beforeAll(async () => {
  server = new grpc.Server({ 'grpc.max_send_message_length': 64 << 20 });
  server.addService(flightService().service, {
    DoGet: (call: grpc.ServerWritableStream<{ ticket: Buffer }, unknown>) => {
      const key = call.request.ticket.toString();
      const plan = plans.get(key);
      if (plan === undefined) throw new Error(`no plan ${key}`);
      const sender = directSender(call, plan.queueMax, 64 << 20);
      const seen = { direct: sender !== undefined, queuedMax: 0, finished: false };
      observed.set(key, seen);
      void (async () => {
        if (sender === undefined) return call.end();
        const stream = (call as unknown as { call: { stream: { writableLength: number } } }).call.stream;
        for (const m of plan.msgs) {
          await sender.send(m);
          // after send resolves, at most the bound is queued (or the call is gone)
          seen.queuedMax = Math.max(seen.queuedMax, call.cancelled ? 0 : stream.writableLength);
        }
        await sender.flush();
        seen.finished = true;
        if (!call.cancelled) call.end();
      })();
    },
  });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const Ctor = flightService().client;
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 << 20 }) as typeof client;
});

afterAll(async () => {
  client.close();
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
});

function doGet(key: string): grpc.ClientReadableStream<FlightDataIn> {
  return (client['DoGet'] as (r: unknown) => grpc.ClientReadableStream<FlightDataIn>)({ ticket: Buffer.from(key) });
}

describe('directSender (FlightData body buffers written to the HTTP/2 stream without a copy)', () => {
  it(`messages arrive whole, in order, identical to grpc-js framing (seed ${SEED})`, async () => {
    const msgs = messages(SEED, 60, 300_000);
    plans.set('a', { msgs, queueMax: 256 * 1024 });
    const got: FlightDataIn[] = [];
    for await (const m of doGet('a') as AsyncIterable<FlightDataIn>) got.push(m);
    expect(observed.get('a')?.direct).toBe(true);
    expect(observed.get('a')?.finished).toBe(true);
    expect(got.length).toBe(msgs.length);
    for (let i = 0; i < msgs.length; i++) {
      const want = msgs[i]!;
      const w = got[i]!;
      expect(Buffer.from(w.dataHeader.subarray(0, want.dataHeader.length)).equals(Buffer.from(want.dataHeader))).toBe(true);
      expect(Buffer.from(w.appMetadata).equals(Buffer.from(want.appMetadata ?? new Uint8Array(0)))).toBe(true);
      expect(Buffer.from(w.dataBody).equals(concat(want.body))).toBe(true);
    }
    // the queue bound held after every send
    expect(observed.get('a')!.queuedMax).toBeLessThanOrEqual(256 * 1024);
  });

  it(`framedHead + body is the grpc-js frame of encodeFlightData (seed ${SEED})`, () => {
    for (const m of messages(SEED + 1, 40, 5000)) {
      const layout = new FlightDataLayout(m);
      const head = layout.framedHead();
      const whole = encodeFlightData(m);
      expect(head.length).toBe(GRPC_FRAME_PREFIX_BYTES + layout.headSize);
      expect(head[0]).toBe(0);
      expect(head.readUInt32BE(1)).toBe(whole.length);
      expect(concat([head.subarray(GRPC_FRAME_PREFIX_BYTES), ...m.body]).equals(whole)).toBe(true);
    }
  });

  it('a client that cancels mid-stream does not leave the sender waiting', async () => {
    const msgs = messages(SEED + 2, 200, 2_000_000);
    plans.set('c', { msgs, queueMax: 64 * 1024 });
    const call = doGet('c');
    let n = 0;
    await new Promise<void>((resolve) => {
      call.on('data', () => {
        if (++n === 3) {
          call.cancel();
          resolve();
        }
      });
      call.on('error', () => undefined);
    });
    for (let i = 0; i < 200 && observed.get('c')?.finished !== true; i++) await new Promise((r) => setTimeout(r, 10));
    expect(observed.get('c')?.direct).toBe(true);
    expect(observed.get('c')?.finished).toBe(true);
  });
});
