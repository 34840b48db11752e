import type * as http2 from 'node:http2';
import { assert } from '../../common/assert.js';
import { SaigaError } from '../../common/errors.js';
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

/**
 * A zero-copy sender for this grpc-js server call, or undefined when its internals are not as
 * expected. A message longer than `messageBytesMax` is refused with ResourceExhausted, as
 * grpc-js refuses one above 'grpc.max_send_message_length'.
 */
export function directSender(call: unknown, queuedBytesMax: number, messageBytesMax: number): FlightDataSender | undefined {
  assert(queuedBytesMax > 0, () => `queuedBytesMax must be positive, got ${queuedBytesMax}`);
  const base = baseCallOf(call);
  if (base === undefined) return undefined;
  const stream = base.stream;
  // grpc-js listens for one 'error' only; a failed write after that must not become uncaught.
  // The call's 'cancelled' (from the stream's close) is how the caller learns of it.
  stream.on('error', () => undefined);
  const gone = (): boolean => stream.destroyed || stream.closed;
  // Bytes handed to the stream whose write has not completed. Counted here from the write
  // callbacks: 'drain' only comes after a write crossed the stream's highWaterMark, so it
  // cannot be what a bound below that waits for.
  let queuedBytes = 0;
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  const wake = (): void => {
    for (let i = 0; i < waiters.length;) {
      const w = waiters[i] as { ready: () => boolean; resolve: () => void };
      if (gone() || w.ready()) {
        waiters.splice(i, 1);
        w.resolve();
      } else {
        i++;
      }
    }
  };
  stream.once('close', wake);
  const waitFor = (ready: () => boolean): Promise<void> => {
    if (ready() || gone()) return Promise.resolve();
    return new Promise((resolve) => waiters.push({ ready, resolve }));
  };
  return {
    send(msg: FlightDataOut): Promise<void> {
      if (gone()) return Promise.resolve();
      const layout = new FlightDataLayout(msg);
      if (layout.size > messageBytesMax) {
        return Promise.reject(new SaigaError('ResourceExhausted',
          `a DoGet message of ${layout.size} bytes is over messageBytesMax (${messageBytesMax}): lower batchRowsMax or raise messageBytesMax`));
      }
      const head = layout.framedHead();
      const size = head.length + layout.size - layout.headSize;
      base.maybeSendMetadata();
      queuedBytes += size;
      const written = (): void => {
        // called once the last chunk of this message is written, or failed on a dead stream
        queuedBytes -= size;
        wake();
      };
      const parts = [head, ...msg.body.filter((b) => b.byteLength > 0)];
      stream.cork();
      for (let i = 0; i < parts.length; i++) {
        if (i === parts.length - 1) stream.write(parts[i] as Uint8Array, written);
        else stream.write(parts[i] as Uint8Array);
      }
      stream.uncork();
      // Waiting only above the bound keeps the next batch's scan and encode overlapping with
      // the socket taking this one.
      return waitFor(() => queuedBytes <= queuedBytesMax);
    },
    flush(): Promise<void> {
      return waitFor(() => queuedBytes === 0);
    },
  };
}
