// The editor-facing JSON Schema of a spec file (sweeps/schema.json), generated from the
// same zod schema the parser uses so the two cannot drift apart.
import { z } from 'zod';
import { specSchema } from './schema.js';

export function specJsonSchema(): Record<string, unknown> {
  // draft-07: the newest draft that yaml-language-server and most editors fully support.
  // io 'input': fields with defaults are optional to write, which is what an editor checks.
  return z.toJSONSchema(specSchema, { target: 'draft-07', io: 'input' }) as Record<string, unknown>;
}

/** The exact text of sweeps/schema.json. */
export function renderSpecJsonSchema(): string {
  return `${JSON.stringify(specJsonSchema(), null, 2)}\n`;
}
