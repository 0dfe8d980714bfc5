import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRITICS } from '../../ml/config.js';
import { renderSpecJsonSchema, specJsonSchema } from '../../sweep-spec/json-schema.js';
import { allowedValues } from '../../sweep-spec/schema.js';

const schemaFile = fileURLToPath(new URL('../../sweeps/schema.json', import.meta.url));

describe('sweeps/schema.json', () => {
  it('is up to date (regenerate: node --import tsx sweep-spec/write-json-schema.ts)', () => {
    assert.equal(readFileSync(schemaFile, 'utf8'), renderSpecJsonSchema());
  });

  it('describes the spec keys, forbids unknown keys and carries the enums of the trial schema', () => {
    const schema = specJsonSchema() as {
      properties: Record<string, unknown>;
      required: string[];
      additionalProperties: boolean;
      definitions: Record<
        string,
        { properties: Record<string, { enum?: string[]; items?: { enum?: string[] } }>; additionalProperties: boolean }
      >;
    };
    assert.deepEqual(schema.required, ['name', 'study']);
    assert.equal(schema.additionalProperties, false);
    for (const key of [
      'name',
      'study',
      'description',
      'trial',
      'grid',
      'zip',
      'seeds',
      'profiles',
      'max_concurrent_trials',
      'resources',
    ]) {
      assert.ok(key in schema.properties, key);
    }
    assert.deepEqual(schema.definitions.TrialSettings.properties.critic.enum, [...CRITICS]);
    assert.deepEqual(schema.definitions.Grid.properties.critic.items?.enum, [...CRITICS]);
    assert.equal(schema.definitions.TrialSettings.additionalProperties, false);
    assert.ok(!('seed' in schema.definitions.TrialSettings.properties));
  });

  it('allowedValues reads enum members (and list-of-enum members) from the trial schema', () => {
    assert.deepEqual(allowedValues('critic'), [...CRITICS]);
    assert.deepEqual(allowedValues('evaluations'), ['i_est_test', 'linear_eval', 'jacobian']);
    assert.equal(allowedValues('steps'), undefined);
  });

  it('the smoke sweep points editors at it', () => {
    const smoke = readFileSync(fileURLToPath(new URL('../../sweeps/smoke.yaml', import.meta.url)), 'utf8');
    assert.equal(smoke.split('\n')[0], '# yaml-language-server: $schema=./schema.json');
  });
});
