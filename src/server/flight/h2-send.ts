import type * as http2 from 'node:http2';
import { assert } from '../../common/assert.js';
import { FlightDataLayout, type FlightDataOut } from './codec.js';

/**
 * DoGet's zero-copy send path.
 *
 * grpc-js sends a server message by allocating one Buffer of `length + 5` bytes and copying the
 * serialized message into it (ServerInterceptingCall.serializeMessage). For a 64k-row lineitem
 * batch that is a fresh 10 MB allocation and a 10 MB copy per message: the copy, its page faults
 * and the garbage collections that the external memory triggers were a third of the server's
 * DoGet CPU. This sender writes the gRPC frame prefix and the FlightData fields (one small
 * Buffer) and then the Arrow body buffers themselves to the call's HTTP/2 stream, corked into one
 * writev. Node's http2 hands the buffers to nghttp2 by reference (NGHTTP2_DATA_FLAG_NO_COPY) and
 * writes them to the socket from there, so the body is never copied in user space; the bytes on
 * the wire are exactly those grpc-js would have sent (test/flight checks both paths).
 *
 * It relies on grpc-js 1.14 internals: a ServerWritableStream's `call` is the
 * BaseServerInterceptingCall (the server configures no interceptors) holding the http2 `stream`
 * and `maybeSendMetadata()` (sends the response headers once). `directSender` returns undefined
 * when they are not there, and the caller falls back to `call.write`.
 *
 * The body buffers must not change until their write completes: DoGet sends scan output, which
 * is immutable, and the write request keeps it alive.
 */
export interface FlightDataSender {
  /** Queues one message; resolves when the caller may queue the next (at most `queuedBytesMax` waiting). */
  send(msg: FlightDataOut): Promise<void>;
  /** Resolves when every queued message has been handed to the socket (or the stream is gone). */
  flush(): Promise<void>;
}

interface BaseCallShape {
  readonly stream: http2.ServerHttp2Stream;
  maybeSendMetadata(): void;
}

function baseCallOf(call: unknown): BaseCallShape | undefined {
  const base = (call as { call?: unknown }).call as Partial<BaseCallShape> | undefined;
  if (typeof base !== 'object' || base === null) return undefined;
  if (typeof base.maybeSendMetadata !== 'function') return undefined;
  const s = base.stream as Partial<http2.ServerHttp2Stream> | undefined;
  if (s === undefined || typeof s.write !== 'function' || typeof s.cork !== 'function' || typeof s.uncork !== 'function' || typeof s.respond !== 'function') return undefined;
  return base as BaseCallShape;
}

/** A zero-copy sender for this grpc-js server call, or undefined when its internals are not as expected. */
export function directSender(call: unknown, queuedBytesMax: number): FlightDataSender | undefined {
  assert(queuedBytesMax > 0, () => `queuedBytesMax must be positive, got ${queuedBytesMax}`);
  const base = baseCallOf(call);
  if (base === undefined) return undefined;
  const stream = base.stream;
  // grpc-js listens for one 'error' only; a failed write after that must not become uncaught.
  // The call's 'cancelled' (from the stream's close) is how the caller learns of it.
  stream.on('error', () => undefined);
  const gone = (): boolean => stream.destroyed || stream.closed;
  const waitFor = (ready: () => boolean): Promise<void> => {
    if (ready() || gone()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stream.off('drain', check);
        stream.off('close', done);
        resolve();
      };
      const check = (): void => {
        if (ready() || gone()) done();
      };
      stream.on('drain', check);
      stream.once('close', done);
    });
  };
  return {
    send(msg: FlightDataOut): Promise<void> {
      if (gone()) return Promise.resolve();
      const layout = new FlightDataLayout(msg);
      base.maybeSendMetadata();
      stream.cork();
      stream.write(layout.framedHead());
      for (const b of msg.body) if (b.byteLength > 0) stream.write(b);
      stream.uncork();
      // 'drain' fires when the queue empties; waiting only above the bound keeps the next
      // batch's scan and encode overlapping with the socket taking this one.
      return waitFor(() => stream.writableLength <= queuedBytesMax);
    },
    flush(): Promise<void> {
      return waitFor(() => stream.writableLength === 0);
    },
  };
}
