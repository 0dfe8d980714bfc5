// Where the client reports what it did on the caller's behalf (retries, truncation).
// Injectable so workers can route it into their own logs and tests can capture it.
import { redactText } from './errors.js';

export interface TrackingLogger {
  warn(message: string): void;
}

export const consoleLogger: TrackingLogger = {
  warn: (message) => console.warn(`[mlflow] ${redactText(message)}`),
};

export const silentLogger: TrackingLogger = { warn: () => {} };
