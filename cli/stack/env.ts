// Client commands (sweep *, compare) find the local stack through its state file, so
// `mirl up --temporal-port 17233` needs no exported variables afterwards. Explicit
// TEMPORAL_ADDRESS / MLFLOW_TRACKING_URI always win; the worker and `trial run` never
// read the state file, so a test's worker cannot wander into a developer's stack.
import { stackHome } from './home.js';
import { savedAddresses } from './stack.js';

export function applyStackEnvironment(env: NodeJS.ProcessEnv = process.env, home = stackHome(undefined, env)): void {
  let saved;
  try {
    saved = savedAddresses(home);
  } catch {
    return; // an unreadable state file is `up`'s and `down`'s to report
  }
  if (!saved) return;
  if (!env.TEMPORAL_ADDRESS) {
    env.TEMPORAL_ADDRESS = saved.temporalAddress;
    env.TEMPORAL_UI_URL ??= saved.temporalUi;
  }
  env.MLFLOW_TRACKING_URI ||= saved.mlflowUri;
}
