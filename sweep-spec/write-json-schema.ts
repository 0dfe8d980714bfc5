// Regenerates sweeps/schema.json: node --import tsx sweep-spec/write-json-schema.ts
// (test/unit/spec-json-schema.test.ts fails when the checked-in file is stale).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderSpecJsonSchema } from './json-schema.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../sweeps/schema.json', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(SCHEMA_PATH, renderSpecJsonSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
