// Tests that need both servers start them side by side. If one fails to start, the other
// must not outlive the test: its process would keep the test file, and so the whole
// suite, from ever finishing.
import { startMlflowServer, type MlflowServer } from './mlflow-server.js';
import { startTemporalServer, type TemporalServer } from './temporal-server.js';

export interface ServerPairOptions {
  temporalUi?: boolean;
  /** Servers the test stops or restarts: its own even inside a tier that shares them. */
  own?: { temporal?: boolean; mlflow?: boolean };
}

export async function startServerPair(
  options: ServerPairOptions = {},
): Promise<{ temporal: TemporalServer; mlflowServer: MlflowServer }> {
  const [t, m] = await Promise.allSettled([
    startTemporalServer({ ui: options.temporalUi, own: options.own?.temporal }),
    startMlflowServer({ own: options.own?.mlflow }),
  ]);
  if (t.status === 'fulfilled' && m.status === 'fulfilled') return { temporal: t.value, mlflowServer: m.value };
  await Promise.all([
    t.status === 'fulfilled' ? t.value.stop() : null,
    m.status === 'fulfilled' ? m.value.stop() : null,
  ]);
  throw t.status === 'rejected' ? t.reason : (m as PromiseRejectedResult).reason;
}
