// The Temporal server a test talks to. Inside a tier that shares one (test/support/tier.ts
// sets MIRL_TEST_TEMPORAL_ADDRESS) a test file gets a namespace of its own on that server,
// so files cannot see each other's workflows; otherwise, or when the test must stop,
// restart or watch the server itself (`own: true`, the UI), a dev server of its own
// (servers/temporal-dev-server.ts, shared with `mirl bench`).
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import {
  SEARCH_ATTRIBUTES,
  startTemporalServer as startDevServer,
  waitFor,
  type TemporalServer,
  type TemporalServerOptions,
} from '../../servers/temporal-dev-server.js';

export * from '../../servers/temporal-dev-server.js';
export { workflowBundleFile } from '../../workers/bundle.js';

export const SHARED_TEMPORAL_ENV = 'MIRL_TEST_TEMPORAL_ADDRESS';
/** temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD */
const KEYWORD = 2;

export async function startTemporalServer(
  options: TemporalServerOptions & { own?: boolean } = {},
): Promise<TemporalServer> {
  const shared = process.env[SHARED_TEMPORAL_ENV];
  if (!shared || options.own || options.ui || options.placement) return startDevServer(options);
  return namespaceOn(shared, testNamespace());
}

/** One namespace per test file, named after it (a test process runs one file). */
function testNamespace(): string {
  const file = path.basename(process.argv[1] ?? 'test').replace(/\.test\.[cm]?[jt]s$/, '');
  return `test-${file}-${process.pid}`.replace(/[^A-Za-z0-9-]/g, '-');
}

/** A fresh namespace with mirl's search attributes on a running server, as a TemporalServer. */
async function namespaceOn(address: string, namespace: string): Promise<TemporalServer> {
  const connection = await Connection.connect({ address });
  await connection.workflowService.registerNamespace({
    namespace,
    workflowExecutionRetentionPeriod: msToTs('1 day'),
  });
  const searchAttributes = Object.fromEntries(SEARCH_ATTRIBUTES.map((k) => [k, KEYWORD]));
  // The namespace is usable a moment after it is registered (0.2 s on the dev server).
  await waitFor(`namespace ${namespace}`, async () => {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    return true;
  });
  const client = new Client({ connection, namespace });
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
  const notOwned = async () => {
    throw new Error(
      `the tier's shared Temporal server (${host}) cannot be restarted by a test: start with { own: true }`,
    );
  };
  return {
    address,
    port,
    uiPort: 0,
    namespace,
    env: { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace },
    dataDir: '',
    client,
    stop: () => connection.close(),
    restart: notOwned,
    log: async () => `(shared server at ${address}; its log is the tier's)`,
  };
}
