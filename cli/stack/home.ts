// Where the local stack keeps its state, data and logs: MIRL_HOME, else `.mirl` in the
// current directory, so each checkout (or a test's temp dir) has a stack of its own.
import path from 'node:path';

export const DEFAULT_HOME = '.mirl';

export interface StackPaths {
  home: string;
  stateFile: string;
  logs: string;
  temporalDb: string;
  mlflowDb: string;
  mlflowArtifacts: string;
  checkpoints: string;
}

export function stackHome(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(flag || env.MIRL_HOME || DEFAULT_HOME);
}

export function stackPaths(home: string): StackPaths {
  return {
    home,
    stateFile: path.join(home, 'stack.json'),
    logs: path.join(home, 'logs'),
    temporalDb: path.join(home, 'temporal.db'),
    mlflowDb: path.join(home, 'mlflow.db'),
    mlflowArtifacts: path.join(home, 'mlartifacts'),
    checkpoints: path.join(home, 'checkpoints'),
  };
}
