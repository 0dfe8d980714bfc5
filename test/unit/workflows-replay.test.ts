// Recorded sweep histories (test/fixtures/histories, written by the Temporal integration
// test with MIRL_RECORD_HISTORIES=1) must replay against the current workflow code: a
// change that would break running sweeps fails here, before it reaches a worker.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../../workers/bundle.js';

const DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
let code: string;

// @temporalio/common's historyFromJSON fails here ("type must be a Type"): npm installed
// two nested copies of protobufjs 8 (under common and under proto, the top level holds
// tfjs's protobufjs 7), and protojson checks `instanceof` against its own copy. Parsing
// with the copy that built the proto types sidesteps that; the enum fix-ups mirror
// historyFromJSON's for JSON written by older tools.
const requireProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const { fromJson } = requireProto('protobufjs/ext/protojson') as {
  fromJson(type: unknown, json: unknown, opts: unknown): unknown;
};
const { patchProtobufRoot } = requireProto('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot(p: unknown): { lookupType(n: string): unknown };
};
const historyType = patchProtobufRoot(requireProto('@temporalio/proto')).lookupType('temporal.api.history.v1.History');

function withPrefix(value: unknown, prefix: string): unknown {
  if (typeof value !== 'string' || value.startsWith(prefix)) return value;
  return `${prefix}_${value.replace(/[^\b][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase()}`;
}

function loadHistory(json: { events: Record<string, unknown>[] }): unknown {
  const events = json.events.map((e) => {
    const attrKey = Object.keys(e).find((k) => k.endsWith('EventAttributes'))!;
    const attrs = { ...(e[attrKey] as Record<string, unknown>) };
    for (const [field, prefix] of [
      ['parentClosePolicy', 'PARENT_CLOSE_POLICY'],
      ['workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY'],
      ['initiator', 'CONTINUE_AS_NEW_INITIATOR'],
      ['retryState', 'RETRY_STATE'],
    ] as const) {
      if (attrs[field] !== undefined) attrs[field] = withPrefix(attrs[field], prefix);
    }
    return { ...e, eventType: withPrefix(e.eventType, 'EVENT_TYPE'), [attrKey]: attrs };
  });
  return fromJson(historyType, { events }, { ignoreUnknownFields: true });
}

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  code = (await bundleWorkflows()).code;
});

test('there are recorded histories to replay', () => {
  assert.ok(files.length >= 2, `found ${files.join(', ')}`);
});

for (const file of files) {
  test(`replays ${file}`, async () => {
    const history = loadHistory(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
    await Worker.runReplayHistory({ workflowBundle: { code } }, history, file);
  });
}
