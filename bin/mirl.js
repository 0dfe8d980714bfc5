#!/usr/bin/env node
// The `mirl` command. Sources are TypeScript run through tsx, so there is no build step
// to forget on a cluster node.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
