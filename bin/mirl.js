#!/usr/bin/env node
// The `mirl` command. Sources are TypeScript; the CLI runs from a bundle that
// bin/cli-build.mjs keeps in step with them (rebuilt after any change), or through tsx
// when the bundle cannot be built, so there is no build step to forget on a cluster node.
import { builtCli } from './cli-build.mjs';

const bundle = await builtCli();
if (bundle) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}
