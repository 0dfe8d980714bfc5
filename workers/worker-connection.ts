// The worker's own connection (Rust core, @temporalio/worker), apart from the client's so
// that CLI commands never load the worker's native module.
import { NativeConnection } from '@temporalio/worker';
import { temporalSettings, unreachable, type TemporalSettings } from '../servers/temporal-connection.js';

export async function connectWorker(settings: TemporalSettings = temporalSettings()): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address: settings.address, tls: settings.tls, apiKey: settings.apiKey });
  } catch (err) {
    throw unreachable(settings, err);
  }
}
