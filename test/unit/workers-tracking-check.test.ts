// A worker's start-up check of its MLflow credentials: refused ones stop it with one line
// that names the server and the cause and never the secret; an unreachable server or a
// user without access to the Default experiment lets it start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeTransport, mlflowErrorReply, type FakeReply } from '../../tracking/fake-transport.js';
import { checkTrackingCredentials, MlflowCredentialsError } from '../../workers/tracking-check.js';

const PASSWORD = 'pw-3c1d9b7e-not-for-logs';
const env = {
  MLFLOW_TRACKING_URI: 'http://mlflow.internal:5000',
  MLFLOW_TRACKING_USERNAME: 'mirl',
  MLFLOW_TRACKING_PASSWORD: PASSWORD,
};

async function check(
  reply: FakeReply,
  environment: NodeJS.ProcessEnv = env,
): Promise<{ error?: unknown; warnings: string[]; requests: number }> {
  const fake = fakeTransport(() => reply);
  const warnings: string[] = [];
  try {
    await checkTrackingCredentials(environment, (line) => warnings.push(line), { transport: fake.transport });
    return { warnings, requests: fake.requests.length };
  } catch (error) {
    return { error, warnings, requests: fake.requests.length };
  }
}

const NOT_AUTHENTICATED: FakeReply = {
  status: 401,
  body: 'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html',
};

test('a 401 fails the worker with one line naming the server, the status and where the credentials came from', async () => {
  const { error } = await check(NOT_AUTHENTICATED);
  assert.ok(error instanceof MlflowCredentialsError);
  assert.equal(error.message.split('\n').length, 1);
  assert.match(
    error.message,
    /^the MLflow server at http:\/\/mlflow\.internal:5000 refused this worker's credentials \(401 Unauthorized, from MLFLOW_TRACKING_USERNAME\/MLFLOW_TRACKING_PASSWORD\)/,
  );
  assert.ok(
    !error.message.includes(PASSWORD) && !error.message.includes(Buffer.from(`mirl:${PASSWORD}`).toString('base64')),
  );
});

test('the message points at the variable that held the refused credentials', async () => {
  const token = await check(NOT_AUTHENTICATED, {
    MLFLOW_TRACKING_URI: env.MLFLOW_TRACKING_URI,
    MLFLOW_TRACKING_TOKEN: 'tok',
  });
  assert.match(String(token.error), /from MLFLOW_TRACKING_TOKEN\)/);
  const userinfo = await check(NOT_AUTHENTICATED, {
    MLFLOW_TRACKING_URI: `http://mirl:${PASSWORD}@mlflow.internal:5000`,
  });
  assert.match(
    String(userinfo.error),
    /at http:\/\/mlflow\.internal:5000 refused .*from the user and password in MLFLOW_TRACKING_URI\)/,
  );
  assert.ok(!String(userinfo.error).includes(PASSWORD));
  const none = await check(NOT_AUTHENTICATED, { MLFLOW_TRACKING_URI: env.MLFLOW_TRACKING_URI });
  assert.match(String(none.error), /from no credentials \(set MLFLOW_TRACKING_USERNAME/);
});

test('accepted credentials, a 403 on the Default experiment and a missing Default experiment all let the worker start', async () => {
  for (const reply of [
    { status: 200, json: { experiment: { experiment_id: '0', name: 'Default', tags: [] } } },
    mlflowErrorReply(403, 'PERMISSION_DENIED'),
    mlflowErrorReply(404, 'RESOURCE_DOES_NOT_EXIST'),
  ]) {
    const { error, warnings, requests } = await check(reply);
    assert.equal(error, undefined, JSON.stringify(reply));
    assert.deepEqual(warnings, []);
    assert.equal(requests, 1);
  }
});

test('an unreachable server warns once without retrying, and the worker starts', async () => {
  const { error, warnings, requests } = await check({ networkError: 'ECONNREFUSED' });
  assert.equal(error, undefined);
  assert.equal(requests, 1, 'one try: the worker does not wait out an outage before polling');
  assert.deepEqual(warnings, [
    'mirl worker: the MLflow server at http://mlflow.internal:5000 does not answer yet (ECONNREFUSED); starting anyway, trials retry until it does',
  ]);
});

test('any other server error is not mistaken for a credentials problem', async () => {
  const { error } = await check(mlflowErrorReply(500, 'INTERNAL_ERROR', 'database is down'));
  assert.ok(error instanceof Error && !(error instanceof MlflowCredentialsError));
  assert.match(error.message, /500 INTERNAL_ERROR/);
});
