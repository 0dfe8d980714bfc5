// Where Temporal is and how to authenticate, read from the standard TEMPORAL_* variables
// so a laptop dev server, a self-hosted cluster and Temporal Cloud differ only in the
// environment. The CLI connects a client here; workers/worker-connection.ts the worker.
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';
const CONNECT_TIMEOUT_MS = 5_000;

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** false: plaintext even with an API key (the SDK would default to TLS). */
  tls?: TLSConfig | false;
  apiKey?: string;
}

function readPath(variable: string, env: NodeJS.ProcessEnv): Uint8Array | undefined {
  const file = env[variable];
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(
      `${variable}=${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

export function temporalSettings(env: NodeJS.ProcessEnv = process.env): TemporalSettings {
  const address = env.TEMPORAL_ADDRESS || DEFAULT_TEMPORAL_ADDRESS;
  const namespace = env.TEMPORAL_NAMESPACE || DEFAULT_NAMESPACE;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const crt = readPath('TEMPORAL_TLS_CERT', env);
  const key = readPath('TEMPORAL_TLS_KEY', env);
  const ca = readPath('TEMPORAL_TLS_CA', env);
  if (!!crt !== !!key)
    throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY must be set together (mTLS client certificate and key)');
  // An API key implies TLS (Temporal Cloud); so does any certificate setting. As in
  // Temporal's own environment configuration, TEMPORAL_TLS=false turns it off (an API
  // key checked by a plaintext proxy in front of a cluster, or a dev server).
  const tlsDisabled = env.TEMPORAL_TLS === 'false';
  if (tlsDisabled && (crt || ca))
    throw new Error('TEMPORAL_TLS=false contradicts TEMPORAL_TLS_CERT/TEMPORAL_TLS_CA; unset one of them');
  const tls: TLSConfig | false | undefined = tlsDisabled
    ? false
    : crt || ca || apiKey || env.TEMPORAL_TLS === 'true'
      ? { ...(crt && key ? { clientCertPair: { crt, key } } : {}), ...(ca ? { serverRootCACertificate: ca } : {}) }
      : undefined;
  return { address, namespace, tls, apiKey };
}

/** The browser link to a sweep (dev server UI: gRPC port + 1000). */
export function sweepUiLink(sweepId: string, settings: TemporalSettings = temporalSettings()): string {
  const base = process.env.TEMPORAL_UI_URL ?? uiBaseFromAddress(settings.address);
  const query = encodeURIComponent(`MirlSweep="${sweepId}"`);
  return `${base}/namespaces/${encodeURIComponent(settings.namespace)}/workflows?query=${query}`;
}

function uiBaseFromAddress(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return 'http://127.0.0.1:8233';
  return `http://${m[1]}:${Number(m[2]) + 1000}`;
}

export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachable';
}

/** The one-line error for a server that did not answer, shared with the worker's connection. */
export function unreachable(settings: TemporalSettings, err: unknown): TemporalUnreachableError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new TemporalUnreachableError(
    `cannot reach the Temporal server at ${settings.address} (${why}); start the local stack with \`mirl up\` ` +
      `or point TEMPORAL_ADDRESS at a running server`,
  );
}

export async function connectClient(settings: TemporalSettings = temporalSettings()): Promise<Client> {
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: settings.address,
      tls: settings.tls,
      apiKey: settings.apiKey,
      connectTimeout: CONNECT_TIMEOUT_MS,
    });
  } catch (err) {
    throw unreachable(settings, err);
  }
  return new Client({ connection, namespace: settings.namespace });
}
