// A scripted stand-in for the network, for unit tests of the client and of code
// built on it: each request is recorded and answered by the test's handler.
import type { HttpRequest, HttpResponse, Transport } from './http.js';

export type FakeReply =
  | { status: number; json?: unknown; body?: Uint8Array | string; headers?: Record<string, string> }
  | { networkError: string; message?: string };

export interface FakeTransport {
  transport: Transport;
  requests: HttpRequest[];
}

export function fakeTransport(
  handler: (request: HttpRequest, index: number) => FakeReply | Promise<FakeReply>,
): FakeTransport {
  const requests: HttpRequest[] = [];
  const transport: Transport = async (request) => {
    requests.push(request);
    const reply = await handler(request, requests.length - 1);
    if ('networkError' in reply) {
      throw Object.assign(new Error(reply.message ?? `fake ${reply.networkError}`), { code: reply.networkError });
    }
    const body =
      reply.json !== undefined
        ? Buffer.from(JSON.stringify(reply.json))
        : Buffer.from(typeof reply.body === 'string' ? reply.body : (reply.body ?? new Uint8Array()));
    const headers: HttpResponse['headers'] = {};
    for (const [name, value] of Object.entries(reply.headers ?? {})) headers[name.toLowerCase()] = value;
    return { status: reply.status, headers, body };
  };
  return { transport, requests };
}

/** MLflow's error body. */
export function mlflowErrorReply(status: number, errorCode: string, message = errorCode): FakeReply {
  return { status, json: { error_code: errorCode, message } };
}
