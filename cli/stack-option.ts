// The --home option, defined once, and the wrapper that points a command at the stack it
// names: resolved before the handler runs (cli/stack/env.ts), written into the variables
// the Temporal and MLflow clients read, and a server that does not answer reported with
// the home and the address mirl tried instead of the client's own words.
import type { Argv, CommandModule, Options } from 'yargs';
import { TemporalUnreachableError } from '../servers/temporal-connection.js';
import { ActionableError } from './errors.js';
import { MlflowUnreachableError } from './mlflow-connection.js';
import {
  applyStackTarget,
  resolveStackTarget,
  unreachableLine,
  type StackService,
  type StackTarget,
} from './stack/env.js';

export const HOME_OPTION = {
  type: 'string',
  describe:
    "the stack's home: its state file (stack.json, written by `mirl up`), data and logs (default: MIRL_HOME, else ./.mirl)",
} as const satisfies Options;

export interface HomeArgs {
  home?: string;
}

export function withHomeOption<T>(y: Argv<T>): Argv<T & HomeArgs> {
  return y.option('home', HOME_OPTION);
}

/** A server of the stack that did not answer, told as where mirl looked and how to point elsewhere. */
export class StackUnreachableError extends ActionableError {}

/** `err` in the stack's words when it is a server of `target` that did not answer; anything else as it was. */
export function explainUnreachable(err: unknown, target: StackTarget): unknown {
  if (err instanceof TemporalUnreachableError)
    return new StackUnreachableError(unreachableLine('temporal', target.temporal.address, target), { cause: err });
  if (err instanceof MlflowUnreachableError && err.failure === 'unreachable')
    return new StackUnreachableError(unreachableLine('mlflow', err.trackingUri, target), { cause: err });
  return err;
}

/** Runs `work` against the stack that --home (`flag`), MIRL_HOME or the environment names. */
export async function onStack<T>(
  flag: string | undefined,
  needs: readonly StackService[],
  work: (target: StackTarget) => T | Promise<T>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  const target = resolveStackTarget(flag, env, needs);
  applyStackTarget(target, env);
  try {
    return await work(target);
  } catch (err) {
    throw explainUnreachable(err, target);
  }
}

/**
 * `cmd` with --home, run on the stack it names. `needs`: the servers it cannot do
 * without (a home named but never brought up must leave those to the address variables).
 */
export function stackCommand<A>(
  needs: readonly StackService[],
  cmd: CommandModule<object, A>,
): CommandModule<object, A & HomeArgs> {
  const { builder } = cmd;
  return {
    ...cmd,
    builder: (y: Argv<object>) => {
      const built = typeof builder === 'function' ? builder(y) : y.options((builder ?? {}) as Record<string, Options>);
      if (!isArgv<A>(built)) throw new Error(`${String(cmd.command)}: an asynchronous builder cannot take --home`);
      return withHomeOption(built);
    },
    handler: (args) => onStack(args.home, needs, () => cmd.handler(args)),
  };
}

function isArgv<A>(built: unknown): built is Argv<A> {
  return typeof (built as { option?: unknown }).option === 'function';
}
