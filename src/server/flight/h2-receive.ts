import * as http2 from 'node:http2';
import { status } from '@grpc/grpc-js';
import { assert } from '../../common/assert.js';
import { PooledMessageDecoder, type MessageBufferSource } from './put-receive.js';

/**
 * The Flight client's receive path for server-streaming calls (DoGet), on its own HTTP/2
 * session instead of grpc-js's channel.
 *
 * grpc-js keeps every received chunk (a view on a 64 KiB socket read buffer) until its message
 * is complete and then joins them with Buffer.concat into a fresh buffer: for a 64k-row lineitem
 * batch a new ~10 MB allocation per message. With 4 DoGets in parallel on one connection each
 * message's chunks stay alive ~4x longer (frames of the streams interleave), and the external
 * memory of the fresh message buffers made V8 run a full (concurrent) collection every ~64 MB
 * received: its marking and sweeping threads were ~40% of the client process's CPU. Here each
 * chunk is copied into the message's buffer as it arrives (PooledMessageDecoder), and a reader
 * that gives messages back (`MessageBufferPool`) has them reassembled into reused buffers: no
 * fresh memory per message, no collection for it.
 *
 * The protocol is gRPC over HTTP/2 as grpc-js speaks it: POST `/package.Service/Method` with
 * `content-type: application/grpc` and `te: trailers`, the request as one length-prefixed
 * message, responses as length-prefixed messages, and the status in the trailers (or in the
 * headers of a trailers-only response). Messages are never compressed (no grpc-accept-encoding
 * other than identity is offered). Errors are shaped as grpc-js's ServiceError (`code`,
 * `details`, message `"<code> <NAME>: <details>"`), so callers see the same error whichever
 * transport served the call.
 */

/** A failed gRPC call, shaped as grpc-js's ServiceError. */
export class GrpcCallError extends Error {
  constructor(readonly code: status, readonly details: string) {
    super(`${code} ${status[code] ?? 'UNKNOWN'}: ${details}`);
  }
}

export interface ServerStreamOptions {
  /** Request headers besides the gRPC ones (e.g. authorization). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Where messages of >= 64 KiB are reassembled (a pool the caller gives buffers back to, or fresh ones). */
  readonly buffers: MessageBufferSource;
}

const PREFIX_BYTES = 5;

/** One HTTP/2 connection to a gRPC server, for server-streaming calls with a raw message callback. */
export class GrpcStreamSession {
  /** The connection, and its calls in progress: it keeps the process alive only while there are some. */
  private conn: { readonly session: http2.ClientHttp2Session; active: number } | undefined;

  /**
   * `windowBytes`: the HTTP/2 receive window per stream and per connection (as grpc-js's
   * 'grpc-node.flow_control_window'); `maxMessageBytes`: larger messages fail the call with
   * RESOURCE_EXHAUSTED (as 'grpc.max_receive_message_length').
   */
  constructor(private readonly address: string, private readonly windowBytes: number, private readonly maxMessageBytes: number) {
    assert(windowBytes >= 65_535 && windowBytes < 2 ** 31, () => `HTTP/2 window must be 65535 .. 2^31-1 bytes, got ${windowBytes}`);
  }

  private connect(): { readonly session: http2.ClientHttp2Session; active: number } {
    const c = this.conn;
    if (c !== undefined && !c.session.closed && !c.session.destroyed) return c;
    const session = http2.connect(`http://${this.address}`, { settings: { initialWindowSize: this.windowBytes } });
    // A connection error reaches every open stream as its 'error'; the session's own must not be uncaught.
    session.on('error', () => undefined);
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(this.windowBytes);
    });
    session.unref();
    this.conn = { session, active: 0 };
    return this.conn;
  }

  /**
   * Calls `path` (`/package.Service/Method`) with one request message and hands each response
   * message (the protobuf bytes, a view on its reassembled buffer) to `onMessage` as it
   * completes. A throw from `onMessage` cancels the call and rejects with that error. Resolves
   * once the server ends the call with status OK.
   */
  serverStream(path: string, request: Uint8Array, options: ServerStreamOptions, onMessage: (message: Buffer) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      let conn: { readonly session: http2.ClientHttp2Session; active: number };
      try {
        conn = this.connect();
        stream = conn.session.request({
          ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers',
          'grpc-accept-encoding': 'identity', ...options.headers,
        });
      } catch (e) {
        reject(new GrpcCallError(status.UNAVAILABLE, `cannot start a call to ${this.address}: ${(e as Error).message}`));
        return;
      }
      if (conn.active++ === 0) conn.session.ref();
      const decoder = new PooledMessageDecoder(options.buffers, this.maxMessageBytes);
      let failed: Error | undefined;
      let grpcStatus: number | undefined;
      let grpcMessage = '';
      const fail = (e: Error): void => {
        if (failed !== undefined) return;
        failed = e;
        if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
      };
      const takeStatus = (h: http2.IncomingHttpHeaders): void => {
        const s = h['grpc-status'];
        if (s === undefined) return;
        grpcStatus = Number(s);
        const m = h['grpc-message'];
        if (typeof m === 'string') {
          try {
            grpcMessage = decodeURIComponent(m);
          } catch {
            grpcMessage = m;
          }
        }
      };
      stream.on('response', (h) => {
        const code = h[':status'];
        if (code !== 200) fail(new GrpcCallError(code === 404 ? status.UNIMPLEMENTED : status.UNKNOWN, `the server answered HTTP status ${String(code)}, expected 200`));
        else takeStatus(h);
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (chunk: Buffer) => {
        if (failed !== undefined) return;
        try {
          decoder.writeEach(chunk, (m) => {
            if (failed !== undefined) return;
            if (m[0] !== 0) {
              fail(new GrpcCallError(status.INTERNAL, 'received a compressed message, but no compression was offered'));
              return;
            }
            try {
              onMessage(m.subarray(PREFIX_BYTES));
            } catch (e) {
              fail(e instanceof Error ? e : new Error(String(e)));
            }
          });
        } catch (e) {
          // only the decoder throws here: a message over maxMessageBytes
          fail(new GrpcCallError(status.RESOURCE_EXHAUSTED, (e as Error).message));
        }
      });
      stream.on('error', (e) => fail(new GrpcCallError(status.UNAVAILABLE, `connection to ${this.address} failed: ${e.message}`)));
      stream.on('close', () => {
        if (--conn.active === 0 && !conn.session.destroyed) conn.session.unref();
        if (failed !== undefined) reject(failed);
        else if (grpcStatus === undefined) reject(new GrpcCallError(status.UNAVAILABLE, `the call to ${path} ended without a status (HTTP/2 code ${stream.rstCode ?? 'none'})`));
        else if (grpcStatus !== status.OK) reject(new GrpcCallError(grpcStatus as status, grpcMessage));
        else if (decoder.readState !== 0) reject(new GrpcCallError(status.INTERNAL, 'the call ended inside a message'));
        else resolve();
      });
      const framed = Buffer.allocUnsafe(PREFIX_BYTES + request.byteLength);
      framed[0] = 0;
      framed.writeUInt32BE(request.byteLength, 1);
      framed.set(request, PREFIX_BYTES);
      stream.end(framed);
    });
  }

  close(): void {
    this.conn?.session.close();
    this.conn = undefined;
  }
}
