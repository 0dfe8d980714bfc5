// The CLI's MLflow failures, each as the one line that says what to do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliMlflowClient, withMlflow } from '../../cli/mlflow-connection.js';
import { MlflowNetworkError } from '../../tracking/index.js';

const env = { MLFLOW_TRACKING_URI: 'http://127.0.0.1:5999' };
const failWith = (code: string) => () =>
  Promise.reject(new MlflowNetworkError({ code, message: code, endpoint: 'runs/search', attempts: 2 }));

test('a refused connection says to start the stack; a timeout says the server is slow and how to wait longer', async () => {
  const client = cliMlflowClient(env);
  await assert.rejects(
    withMlflow(client, failWith('ECONNREFUSED')),
    /cannot reach the MLflow server at http:\/\/127\.0\.0\.1:5999 \(ECONNREFUSED\).*mirl up/,
  );
  await assert.rejects(withMlflow(client, failWith('ETIMEDOUT')), (err: Error) => {
    assert.match(err.message, /did not answer in time \(ETIMEDOUT\).*MLFLOW_HTTP_REQUEST_TIMEOUT/);
    assert.doesNotMatch(err.message, /mirl up/);
    return true;
  });
});

test("MLFLOW_HTTP_REQUEST_TIMEOUT replaces the CLI's 15 s limit", () => {
  const timeoutOf = (c: ReturnType<typeof cliMlflowClient>) =>
    (c as unknown as { http: { options: { timeoutMs: number } } }).http.options.timeoutMs;
  assert.equal(timeoutOf(cliMlflowClient(env)), 15_000);
  assert.equal(timeoutOf(cliMlflowClient({ ...env, MLFLOW_HTTP_REQUEST_TIMEOUT: '120' })), 120_000);
});
