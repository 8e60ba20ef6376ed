// Function types beyond plain http: awslambda, awssqs, awskinesis and
// awsfirehose against a fake AWS endpoint (fake-aws.js) that verifies every
// request's SigV4 signature with the aws4 package and answers like AWS, and
// the http type's static headers and per-function timeout. Two gateways:
// one whose workers have AWS credentials in their environment (and
// EGW_AWS_ENDPOINT pointing at the fake), one whose workers find them in a
// shared credentials file (and whose functions name the fake with the
// provider "endpoint" field).
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');
const {
  assertErrorBody, logsCleanTest, sleep, startFunction, useGateway, waitFor, withLogs,
} = require('./harness.js');
const { FakeAws, FakeCredentials } = require('./fake-aws.js');

const KEYS = {
  AKIDPROVIDER: { secret: 'provider-secret/abc+def' },
  ASIAPROVIDER: { secret: 'provider-temp-secret', token: 'provider-session-token//+=' },
  ASIAENV: { secret: 'env-secret', token: 'env-session-token' },
  ASIAFILE: { secret: 'file-secret', token: 'file-session-token' },
  AKIDFILE2: { secret: 'file-secret-2' },
};
const ACCOUNT = '123456789012';
const QUEUE = `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/orders`;

// The role sources (container endpoint, instance metadata) stay out of the
// gateways that test the static ones, even on a CI host that runs on EC2.
const NO_ROLE_ENV = {
  AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
  AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: undefined,
  AWS_EC2_METADATA_SERVICE_ENDPOINT: undefined,
  AWS_EC2_METADATA_DISABLED: 'true',
};

function ce(eventType, data) {
  return {
    cloudEventsVersion: '0.1',
    eventType,
    eventID: crypto.randomUUID(),
    eventTime: new Date().toISOString(),
    source: '/aws-test',
    contentType: 'application/json',
    data,
  };
}

function emit(gw, urlPath, ev) {
  return gw.events('POST', urlPath, {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ev),
  });
}

// The Lambda functions the fake knows, shared by both gateways' tests.
function addLambdas(fake) {
  fake.lambdas.set('echo', (event) => ({
    payload: {
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-From': 'lambda' },
      body: JSON.stringify({ eventType: event.eventType, body: event.data && event.data.body }),
    },
  }));
  fake.lambdas.set('thrower', () => ({
    functionError: 'Unhandled',
    payload: { errorType: 'Error', errorMessage: 'boom from lambda', trace: [] },
  }));
  fake.lambdas.set('slow', () => ({ delayMs: 1500, payload: { statusCode: 200, body: 'slow' } }));
}

async function createFunction(gw, functionId, type, provider) {
  const r = await gw.config('POST', '/v1/spaces/default/functions', { functionId, type, provider });
  assert.equal(r.status, 201, `create function ${functionId}: ${r.status} ${r.text}`);
}

function logsMatch(gw, re) {
  return gw.logFiles().some((f) => re.test(fs.readFileSync(f, 'utf8')));
}

function byEvent(list, id) {
  return list.find((r) => r.event && r.event.eventID === id);
}

describe('credentials from the provider and the environment', () => {
  const fakes = {};
  const fns = {};
  const settings = { ingress: 1, workers: 1, env: {} };
  before(async () => {
    fakes.main = await FakeAws.start(KEYS);
    fakes.other = await FakeAws.start(KEYS);
    for (const f of Object.values(fakes)) {
      addLambdas(f);
      f.queues.add(QUEUE);
      f.streams.add('clicks');
      f.streams.add('hot');
      f.deliveryStreams.add('archive');
    }
    fakes.main.throttle.set('hot', 2);
    Object.assign(settings.env, {
      AWS_ACCESS_KEY_ID: 'ASIAENV',
      AWS_SECRET_ACCESS_KEY: KEYS.ASIAENV.secret,
      AWS_SESSION_TOKEN: KEYS.ASIAENV.token,
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/egw-aws-test',
      AWS_PROFILE: undefined,
      AWS_ENDPOINT_URL: undefined,
      ...NO_ROLE_ENV,
      EGW_AWS_ENDPOINT: fakes.main.url,
      // Retries come quickly, so the throttling test need not wait long.
      EGW_RETRY_BASE_MS: '100',
      EGW_RETRY_CAP_MS: '400',
    });
  });
  const ref = useGateway(settings, async (gw) => {
    fns.headers = await startFunction(() => ({ statusCode: 200, body: 'with headers' }));
    fns.slow = await startFunction(async () => {
      await sleep(1500);
      return { statusCode: 200, body: 'slow but fine' };
    });
    const region = 'eu-west-1';
    const prov = { awsAccessKeyId: 'AKIDPROVIDER', awsSecretAccessKey: KEYS.AKIDPROVIDER.secret };
    await gw.createEventType('http.request');
    await gw.createEventType('aws.sync');
    await gw.createEventType('aws.async');
    await createFunction(gw, 'lambdaProvider', 'awslambda',
      { arn: `arn:aws:lambda:${region}:${ACCOUNT}:function:echo:live`, region, ...prov });
    await createFunction(gw, 'lambdaEnv', 'awslambda', { arn: 'echo', region });
    await createFunction(gw, 'lambdaToken', 'awslambda', {
      arn: `${ACCOUNT}:function:echo`, region, awsAccessKeyId: 'ASIAPROVIDER',
      awsSecretAccessKey: KEYS.ASIAPROVIDER.secret, awsSessionToken: KEYS.ASIAPROVIDER.token,
    });
    await createFunction(gw, 'lambdaNoToken', 'awslambda', {
      arn: 'echo', region, awsAccessKeyId: 'ASIAPROVIDER', awsSecretAccessKey: KEYS.ASIAPROVIDER.secret,
    });
    await createFunction(gw, 'lambdaBadSecret', 'awslambda',
      { arn: 'echo', region, awsAccessKeyId: 'AKIDPROVIDER', awsSecretAccessKey: 'not-the-secret' });
    await createFunction(gw, 'lambdaUnknownKey', 'awslambda',
      { arn: 'echo', region, awsAccessKeyId: 'AKIDNOBODY', awsSecretAccessKey: 'whatever' });
    await createFunction(gw, 'lambdaThrows', 'awslambda', { arn: 'thrower', region });
    await createFunction(gw, 'lambdaMissing', 'awslambda', { arn: 'ghost', region });
    await createFunction(gw, 'lambdaSlowCut', 'awslambda', { arn: 'slow', region, timeout: 200 });
    await createFunction(gw, 'lambdaSlowOk', 'awslambda', { arn: 'slow', region });
    await createFunction(gw, 'lambdaOtherEndpoint', 'awslambda',
      { arn: 'echo', region, endpoint: `${fakes.other.url}/` });
    await createFunction(gw, 'sqs', 'awssqs', { queueUrl: QUEUE, region });
    await createFunction(gw, 'sqsMissing', 'awssqs',
      { queueUrl: `https://sqs.eu-west-1.amazonaws.com/${ACCOUNT}/nope`, region });
    await createFunction(gw, 'kinesis', 'awskinesis', { streamName: 'clicks', region });
    await createFunction(gw, 'kinesisHot', 'awskinesis', { streamName: 'hot', region });
    await createFunction(gw, 'firehose', 'awsfirehose', { deliveryStreamName: 'archive', region, ...prov });
    await createFunction(gw, 'httpHeaders', 'http', {
      url: fns.headers.url,
      headers: { 'x-functions-key': 'azure-function-key', Authorization: 'Bearer gcf-identity-token' },
    });
    await createFunction(gw, 'httpSlowCut', 'http', { url: fns.slow.url, timeout: 200 });
    await createFunction(gw, 'httpSlowOk', 'http', { url: fns.slow.url });

    const syncRoutes = {
      lambdaProvider: '/lambda/provider', lambdaEnv: '/lambda/env', lambdaToken: '/lambda/token',
      lambdaNoToken: '/lambda/notoken', lambdaBadSecret: '/lambda/badsecret',
      lambdaUnknownKey: '/lambda/unknownkey', lambdaThrows: '/lambda/throws',
      lambdaMissing: '/lambda/missing', lambdaSlowCut: '/lambda/slowcut', lambdaSlowOk: '/lambda/slowok',
      lambdaOtherEndpoint: '/lambda/other', httpHeaders: '/http/headers', httpSlowCut: '/http/slowcut',
      httpSlowOk: '/http/slowok',
    };
    for (const [functionId, p] of Object.entries(syncRoutes)) {
      await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId, method: 'POST', path: p });
    }
    for (const functionId of ['sqs', 'sqsMissing', 'kinesis', 'firehose']) {
      await gw.subscribe({ type: 'sync', eventType: 'aws.sync', functionId, path: `/${functionId}` });
    }
    for (const functionId of ['lambdaEnv', 'sqs', 'kinesis', 'firehose', 'lambdaBadSecret']) {
      await gw.subscribe({ type: 'async', eventType: 'aws.async', functionId, path: '/async' });
    }
    for (const functionId of ['kinesisHot', 'sqsMissing']) {
      await gw.subscribe({ type: 'async', eventType: 'aws.async', functionId, path: '/retry' });
    }
  });
  after(async () => {
    for (const f of [...Object.values(fns), ...Object.values(fakes)]) await f.close();
  });
  const g = (f) => withLogs(() => ref.gw, f);

  test('awslambda sync with provider keys: ARN name and qualifier, signed, reply is the Lambda payload', g(async () => {
    const before = fakes.main.of('lambda').length;
    const res = await ref.gw.events('POST', '/lambda/provider', { body: { hello: 'lambda' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers.get('x-from'), 'lambda');
    assert.deepEqual(res.json, { eventType: 'http.request', body: { hello: 'lambda' } });
    const calls = fakes.main.of('lambda').slice(before);
    assert.equal(calls.length, 1);
    const call = calls[0];
    assert.equal(call.functionName, 'echo');
    assert.equal(call.qualifier, 'live');
    assert.equal(call.accessKeyId, 'AKIDPROVIDER');
    assert.equal(call.region, 'eu-west-1');
    assert.equal(call.sessionToken, undefined, 'no token: provider keys without awsSessionToken');
    assert.equal(call.headers['x-amz-invocation-type'], 'RequestResponse');
    assert.equal(call.event.eventType, 'http.request');
    assert.equal(call.event.data.path, '/lambda/provider');
    for (const h of ['host', 'x-amz-date', 'content-type', 'x-amz-invocation-type']) {
      assert.ok(call.signedHeaders.includes(h), `${h} is signed: ${call.signedHeaders}`);
    }
  }));

  test('awslambda with keys from the environment, including AWS_SESSION_TOKEN', g(async () => {
    const before = fakes.main.of('lambda').length;
    const res = await ref.gw.events('POST', '/lambda/env', { body: { from: 'env' } });
    assert.equal(res.status, 201, res.text);
    const call = fakes.main.of('lambda').slice(before)[0];
    assert.equal(call.accessKeyId, 'ASIAENV');
    assert.equal(call.sessionToken, KEYS.ASIAENV.token);
    assert.ok(call.signedHeaders.includes('x-amz-security-token'));
    assert.equal(call.qualifier, undefined);
  }));

  test('awslambda with awsSessionToken from the provider; a temporary key without it is refused', g(async () => {
    const before = fakes.main.of('lambda').length;
    const ok = await ref.gw.events('POST', '/lambda/token', { body: { t: 1 } });
    assert.equal(ok.status, 201, ok.text);
    const call = fakes.main.of('lambda').slice(before)[0];
    assert.equal(call.accessKeyId, 'ASIAPROVIDER');
    assert.equal(call.sessionToken, KEYS.ASIAPROVIDER.token);

    const rejectedBefore = fakes.main.rejected.length;
    const refused = await ref.gw.events('POST', '/lambda/notoken', { body: { t: 2 } });
    assert.equal(refused.status, 500, refused.text);
    assertErrorBody(refused, 'temporary key without token');
    const rej = fakes.main.rejected.slice(rejectedBefore);
    assert.equal(rej.length, 1);
    assert.equal(rej[0].code, 'UnrecognizedClientException');
    assert.equal(rej[0].accessKeyId, 'ASIAPROVIDER');
    assert.equal(fakes.main.of('lambda').length, before + 1, 'the refused call reached no function');
  }));

  test('a wrong secret or an unknown key is a failed call (500), the fake refused the signature', g(async () => {
    const rejectedBefore = fakes.main.rejected.length;
    const bad = await ref.gw.events('POST', '/lambda/badsecret', { body: {} });
    assert.equal(bad.status, 500, bad.text);
    assertErrorBody(bad, 'bad secret');
    const unknown = await ref.gw.events('POST', '/lambda/unknownkey', { body: {} });
    assert.equal(unknown.status, 500, unknown.text);
    const codes = fakes.main.rejected.slice(rejectedBefore).map((r) => `${r.code} ${r.accessKeyId}`);
    assert.deepEqual(codes, ['SignatureDoesNotMatch AKIDPROVIDER', 'UnrecognizedClientException AKIDNOBODY']);
    await waitFor(() => logsMatch(ref.gw, /AWS lambda answered HTTP 403: SignatureDoesNotMatch/),
      { what: 'the signature error in the worker log' });
  }));

  test('X-Amz-Function-Error makes a sync call fail with 500; a missing function too', g(async () => {
    const res = await ref.gw.events('POST', '/lambda/throws', { body: {} });
    assert.equal(res.status, 500, res.text);
    assertErrorBody(res, 'function error');
    assert.ok(!res.text.includes('boom from lambda'), 'the function error stays in the logs');
    await waitFor(() => logsMatch(ref.gw, /Lambda function error \(Unhandled\): Error: boom from lambda/),
      { what: 'the function error in the worker log' });
    const missing = await ref.gw.events('POST', '/lambda/missing', { body: {} });
    assert.equal(missing.status, 500, missing.text);
    await waitFor(() => logsMatch(ref.gw, /AWS lambda answered HTTP 404: ResourceNotFoundException/),
      { what: 'the 404 in the worker log' });
  }));

  test('the provider endpoint field beats EGW_AWS_ENDPOINT', g(async () => {
    const mainBefore = fakes.main.of('lambda').length;
    const otherBefore = fakes.other.of('lambda').length;
    const res = await ref.gw.events('POST', '/lambda/other', { body: { where: 'other' } });
    assert.equal(res.status, 201, res.text);
    assert.equal(fakes.other.of('lambda').length, otherBefore + 1);
    assert.equal(fakes.main.of('lambda').length, mainBefore);
    assert.equal(fakes.other.of('lambda').at(-1).accessKeyId, 'ASIAENV');
  }));

  test('awssqs sync: SendMessage (JSON protocol) with the event as body, 200 with SQS answer', g(async () => {
    const ev = ce('aws.sync', { order: 7 });
    const res = await emit(ref.gw, '/sqs', ev);
    assert.equal(res.status, 200, res.text);
    const call = byEvent(fakes.main.of('sqs'), ev.eventID);
    assert.ok(call, 'SQS received the event');
    assert.equal(call.target, 'AmazonSQS.SendMessage');
    assert.equal(call.headers['content-type'], 'application/x-amz-json-1.0');
    assert.equal(call.input.QueueUrl, QUEUE);
    assert.deepEqual(call.event.data, { order: 7 });
    assert.equal(call.accessKeyId, 'ASIAENV');
    assert.equal(call.region, 'eu-west-1');
    assert.equal(res.json.MD5OfMessageBody,
      crypto.createHash('md5').update(call.input.MessageBody).digest('hex'));
    assert.match(res.json.MessageId, /^[0-9a-f-]{36}$/);
    assert.match(res.headers.get('content-type'), /^application\/json/);

    const missing = await emit(ref.gw, '/sqsMissing', ce('aws.sync', {}));
    assert.equal(missing.status, 500, missing.text);
    await waitFor(() => logsMatch(ref.gw, /AWS sqs answered HTTP 400: QueueDoesNotExist/),
      { what: 'the SQS error in the worker log' });
  }));

  test('awskinesis sync: PutRecord, Data is the event in base64, partition key is the event ID', g(async () => {
    const ev = ce('aws.sync', { click: 'button' });
    const res = await emit(ref.gw, '/kinesis', ev);
    assert.equal(res.status, 200, res.text);
    const call = byEvent(fakes.main.of('kinesis'), ev.eventID);
    assert.ok(call, 'Kinesis received the event');
    assert.equal(call.target, 'Kinesis_20131202.PutRecord');
    assert.equal(call.input.StreamName, 'clicks');
    assert.equal(call.input.PartitionKey, ev.eventID);
    assert.deepEqual(call.event.data, { click: 'button' });
    assert.equal(res.json.ShardId, 'shardId-000000000000');
    assert.match(res.json.SequenceNumber, /^\d+$/);
  }));

  test('awsfirehose sync: PutRecord with Record.Data in base64, provider keys', g(async () => {
    const ev = ce('aws.sync', { archive: true });
    const res = await emit(ref.gw, '/firehose', ev);
    assert.equal(res.status, 200, res.text);
    const call = byEvent(fakes.main.of('firehose'), ev.eventID);
    assert.ok(call, 'Firehose received the event');
    assert.equal(call.target, 'Firehose_20150804.PutRecord');
    assert.equal(call.input.DeliveryStreamName, 'archive');
    assert.equal(call.accessKeyId, 'AKIDPROVIDER');
    assert.deepEqual(call.event.data, { archive: true });
    assert.match(res.json.RecordId, /^[0-9a-f]{64}$/);
    assert.equal(res.json.Encrypted, false);
  }));

  test('large events (200 KB) are signed and delivered whole', g(async () => {
    const big = 'x'.repeat(200000);
    const before = fakes.main.of('lambda').length;
    const res = await ref.gw.events('POST', '/lambda/env', { body: { big } });
    assert.equal(res.status, 201, res.text);
    const call = fakes.main.of('lambda').slice(before)[0];
    assert.equal(call.event.data.body.big, big);
    const ev = ce('aws.sync', { big });
    const kin = await emit(ref.gw, '/kinesis', ev);
    assert.equal(kin.status, 200, kin.text);
    assert.equal(byEvent(fakes.main.of('kinesis'), ev.eventID).event.data.big, big);
  }));

  test('async: one event reaches Lambda, SQS, Kinesis and Firehose; a bad signature is refused', g(async () => {
    const ev = ce('aws.async', { fanout: 4 });
    const res = await emit(ref.gw, '/async', ev);
    assert.equal(res.status, 202, res.text);
    for (const service of ['lambda', 'sqs', 'kinesis', 'firehose']) {
      const call = await waitFor(() => byEvent(fakes.main.of(service), ev.eventID),
        { timeoutMs: 10000, what: `${service} to receive the async event` });
      assert.equal(call.event.eventType, 'aws.async');
      assert.deepEqual(call.event.data, { fanout: 4 });
    }
    // The delivery headers are signed like every other header.
    const refused = await waitFor(() => fakes.main.rejected.find(
      (r) => r.headers['x-egw-event-id'] === ev.eventID), { timeoutMs: 10000, what: 'the bad signature' });
    assert.equal(refused.code, 'SignatureDoesNotMatch');
    assert.equal(refused.accessKeyId, 'AKIDPROVIDER');
  }));

  test('async retries: AWS throttling (HTTP 400) is retried, a missing queue is a dead letter at once', g(async () => {
    const ev = ce('aws.async', { retry: true });
    const res = await emit(ref.gw, '/retry', ev);
    assert.equal(res.status, 202, res.text);
    const call = await waitFor(() => byEvent(fakes.main.of('kinesis'), ev.eventID),
      { timeoutMs: 15000, what: 'the throttled record to get through' });
    assert.equal(call.headers['x-egw-delivery-attempt'], '3', 'two throttled attempts, then success');
    const throttled = fakes.main.rejected.filter((r) => r.headers['x-egw-event-id'] === ev.eventID &&
      r.code === 'ProvisionedThroughputExceededException');
    assert.equal(throttled.length, 2);
    const dl = await waitFor(async () => {
      const r = await ref.gw.config('GET', '/v1/spaces/default/deadletters?functionId=sqsMissing');
      return r.json && r.json.deadLetters.find((d) => d.eventId === ev.eventID);
    }, { timeoutMs: 15000, what: 'the SQS delivery in dead letters' });
    assert.equal(dl.attempts, 1, 'a missing queue is not retried');
    assert.equal(dl.lastStatus, 400);
    assert.match(dl.lastError, /QueueDoesNotExist/);
  }));

  test('http static headers are sent with every call', g(async () => {
    const before = fns.headers.calls.length;
    const res = await ref.gw.events('POST', '/http/headers', { body: {} });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'with headers');
    const call = fns.headers.calls[before];
    assert.equal(call.headers['x-functions-key'], 'azure-function-key');
    assert.equal(call.headers.authorization, 'Bearer gcf-identity-token');
    assert.match(call.headers['content-type'], /^application\/cloudevents\+json/);
    const fn = await ref.gw.config('GET', '/v1/spaces/default/functions/httpHeaders');
    assert.deepEqual(fn.json.provider.headers,
      { 'x-functions-key': 'azure-function-key', Authorization: 'Bearer gcf-identity-token' });
  }));

  test('a per-function timeout cuts a call the gateway timeout would let finish', g(async () => {
    const cut = await ref.gw.events('POST', '/http/slowcut', { body: {} });
    assert.equal(cut.status, 500, cut.text);
    const ok = await ref.gw.events('POST', '/http/slowok', { body: {} });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.text, 'slow but fine');
    const lambdaCut = await ref.gw.events('POST', '/lambda/slowcut', { body: {} });
    assert.equal(lambdaCut.status, 500, lambdaCut.text);
    const lambdaOk = await ref.gw.events('POST', '/lambda/slowok', { body: {} });
    assert.equal(lambdaOk.status, 200, lambdaOk.text);
    assert.equal(lambdaOk.text, 'slow');
    await waitFor(() => logsMatch(ref.gw, /function call timed out after 200 ms/),
      { what: 'the per-function timeout in the worker log' });
    const fn = await ref.gw.config('GET', '/v1/spaces/default/functions/httpSlowCut');
    assert.equal(fn.json.provider.timeout, 200);
  }));

  test("the README's function type examples are accepted as written", g(async () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const block = /<!-- function-types:start -->([\s\S]*?)<!-- function-types:end -->/.exec(readme);
    assert.ok(block, 'README has the function-types block');
    const bodies = block[1].split('\n').filter((l) => l.startsWith('curl '))
      .map((l) => /-d '([^']*)'/.exec(l)[1]);
    assert.deepEqual(bodies.map((b) => JSON.parse(b).type),
      ['http', 'awslambda', 'awssqs', 'awskinesis', 'awsfirehose']);
    for (const body of bodies) {
      const r = await ref.gw.config('POST', '/v1/spaces/default/functions', body,
        { headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 201, `${body}: ${r.status} ${r.text}`);
      assert.deepEqual(r.json.provider, JSON.parse(body).provider);
    }
  }));

  test('the Configuration API validates the new provider fields', g(async () => {
    const cases = [
      ['awslambda', { arn: 'echo' }, 'missing required fields for AWS Lambda function'],
      ['awssqs', { region: 'eu-west-1' }, 'missing required fields for AWS SQS function'],
      ['awskinesis', { streamName: 's', region: 'EU WEST' }, "'provider.region'"],
      ['awsfirehose', { deliveryStreamName: 's', region: 'eu-west-1', endpoint: 'ftp://x' }, "'provider.endpoint'"],
      ['awslambda', { arn: 'x', region: 'eu-west-1', endpoint: 5 }, "'provider.endpoint'"],
      ['awslambda', { arn: 'x', region: 'eu-west-1', awsSessionToken: 7 }, "'provider.awsSessionToken'"],
      ['http', { url: 'http://127.0.0.1:1/', timeout: 0 }, "'provider.timeout'"],
      ['http', { url: 'http://127.0.0.1:1/', timeout: 1.5 }, "'provider.timeout'"],
      ['http', { url: 'http://127.0.0.1:1/', timeout: '100' }, "'provider.timeout'"],
      ['http', { url: 'http://127.0.0.1:1/', timeout: 3600001 }, "'provider.timeout'"],
      ['http', { url: 'http://127.0.0.1:1/', headers: 'x-a: 1' }, "'provider.headers'"],
      ['http', { url: 'http://127.0.0.1:1/', headers: { 'Content-Type': 'text/plain' } }, 'Content-Type'],
      ['http', { url: 'http://127.0.0.1:1/', headers: { 'X-Egw-Event-Id': 'spoof' } }, 'X-Egw-Event-Id'],
      ['http', { url: 'http://127.0.0.1:1/', headers: { 'x-a\r\nx-b': '1' } }, 'invalid header name'],
      ['http', { url: 'http://127.0.0.1:1/', headers: { 'x-a': 'one\r\nx-b: two' } }, "'provider.headers.x-a'"],
      ['http', { url: 'http://127.0.0.1:1/', headers: { 'x-a': 5 } }, "'provider.headers.x-a'"],
    ];
    for (const [type, provider, expected] of cases) {
      const r = await ref.gw.config('POST', '/v1/spaces/default/functions',
        { functionId: `bad${crypto.randomUUID().slice(0, 8)}`, type, provider });
      assert.equal(r.status, 400, `${type} ${JSON.stringify(provider)}: ${r.status} ${r.text}`);
      assertErrorBody(r, JSON.stringify(provider));
      assert.ok(r.json.errors[0].message.startsWith("Function doesn't validate. Validation error: "),
        r.json.errors[0].message);
      assert.ok(r.json.errors[0].message.includes(expected),
        `${JSON.stringify(provider)}: "${r.json.errors[0].message}" should mention ${expected}`);
    }
    // Valid extras are kept; fields the type does not know are dropped.
    const ok = await ref.gw.config('POST', '/v1/spaces/default/functions', {
      functionId: 'kept', type: 'awssqs',
      provider: { queueUrl: QUEUE, region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', timeout: 1234,
        headers: { 'x-a': '1' }, color: 'blue' },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json.provider,
      { queueUrl: QUEUE, region: 'eu-west-1', endpoint: 'http://127.0.0.1:9', timeout: 1234 });
  }));

  test('every request the fake accepted carried a signature it verified', () => {
    assert.ok(fakes.main.requests.length >= 12, `requests: ${fakes.main.requests.length}`);
    const codes = new Set(fakes.main.rejected.map((r) => r.code));
    for (const code of codes) {
      assert.ok(['SignatureDoesNotMatch', 'UnrecognizedClientException', 'ResourceNotFoundException',
        'com.amazonaws.sqs#QueueDoesNotExist', 'ProvisionedThroughputExceededException'].includes(code),
      `unexpected refusal ${code}`);
    }
  });

  logsCleanTest(ref);
});

describe('credentials from the shared credentials file', () => {
  const fakes = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egw-aws-creds-'));
  const credsFile = path.join(dir, 'credentials');
  const writeCreds = (text) => fs.writeFileSync(credsFile, text);
  writeCreds(`# written by aws.test.js
[default]
aws_access_key_id = AKIDUNUSED
aws_secret_access_key = unused

[ci]
aws_access_key_id = ASIAFILE
aws_secret_access_key = ${KEYS.ASIAFILE.secret}
aws_session_token = ${KEYS.ASIAFILE.token}
`);
  const settings = {
    ingress: 1,
    workers: 1,
    env: {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_ENDPOINT_URL: undefined,
      AWS_SHARED_CREDENTIALS_FILE: credsFile,
      AWS_PROFILE: 'ci',
      ...NO_ROLE_ENV,
    },
  };
  before(async () => {
    fakes.main = await FakeAws.start(KEYS);
    addLambdas(fakes.main);
    fakes.main.streams.add('clicks');
  });
  const ref = useGateway(settings, async (gw) => {
    const region = 'us-west-2';
    await gw.createEventType('http.request');
    await gw.createEventType('aws.async');
    await createFunction(gw, 'lambdaFile', 'awslambda', { arn: 'echo', region, endpoint: fakes.main.url });
    await createFunction(gw, 'kinesisFile', 'awskinesis', { streamName: 'clicks', region, endpoint: fakes.main.url });
    await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'lambdaFile', method: 'POST', path: '/lambda' });
    await gw.subscribe({ type: 'async', eventType: 'aws.async', functionId: 'kinesisFile' });
  });
  after(async () => {
    if (fakes.main) await fakes.main.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const g = (f) => withLogs(() => ref.gw, f);

  test('awslambda sync with the AWS_PROFILE profile of the credentials file, session token included', g(async () => {
    const res = await ref.gw.events('POST', '/lambda', { body: { file: 1 } });
    assert.equal(res.status, 201, res.text);
    const call = fakes.main.of('lambda').at(-1);
    assert.equal(call.accessKeyId, 'ASIAFILE');
    assert.equal(call.sessionToken, KEYS.ASIAFILE.token);
    assert.equal(call.region, 'us-west-2');
  }));

  test('awskinesis async with the file credentials', g(async () => {
    const ev = ce('aws.async', { n: 1 });
    const res = await emit(ref.gw, '/', ev);
    assert.equal(res.status, 202, res.text);
    const call = await waitFor(() => byEvent(fakes.main.of('kinesis'), ev.eventID),
      { timeoutMs: 10000, what: 'Kinesis to receive the event' });
    assert.equal(call.accessKeyId, 'ASIAFILE');
    assert.equal(call.input.PartitionKey, ev.eventID);
  }));

  test('rotated keys in the file apply to the next call; a missing profile fails the call', g(async () => {
    writeCreds(`[ci]\naws_access_key_id=AKIDFILE2\naws_secret_access_key=${KEYS.AKIDFILE2.secret}\n`);
    const res = await ref.gw.events('POST', '/lambda', { body: { file: 2 } });
    assert.equal(res.status, 201, res.text);
    const call = fakes.main.of('lambda').at(-1);
    assert.equal(call.accessKeyId, 'AKIDFILE2');
    assert.equal(call.sessionToken, undefined);

    writeCreds('[other]\naws_access_key_id=AKIDFILE2\naws_secret_access_key=x\n');
    const count = fakes.main.requests.length + fakes.main.rejected.length;
    const failed = await ref.gw.events('POST', '/lambda', { body: { file: 3 } });
    assert.equal(failed.status, 500, failed.text);
    assertErrorBody(failed, 'no credentials');
    assert.equal(fakes.main.requests.length + fakes.main.rejected.length, count,
      'nothing was sent without credentials');
    await waitFor(() => logsMatch(ref.gw, /no AWS credentials: profile ci in .*credentials has no/),
      { what: 'the missing profile in the worker log' });
  }));

  logsCleanTest(ref);
});

// Neither the provider, the environment nor a credentials file has keys.
const ROLE_ONLY_ENV = {
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/egw-aws-test',
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
  ...NO_ROLE_ENV,
  AWS_EC2_METADATA_DISABLED: undefined,
};

describe('role credentials from the container endpoint (ECS/EKS)', () => {
  const fakes = {};
  const settings = { ingress: 1, workers: 1, env: {} };
  const TOKEN = 'Bearer egw-task-token';
  before(async () => {
    fakes.main = await FakeAws.start({});
    addLambdas(fakes.main);
    fakes.main.queues.add(QUEUE);
    fakes.main.streams.add('clicks');
    fakes.creds = await FakeCredentials.start(fakes.main);
    fakes.creds.authToken = TOKEN;
    Object.assign(settings.env, ROLE_ONLY_ENV, {
      EGW_AWS_ENDPOINT: fakes.main.url,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${fakes.creds.url}${fakes.creds.containerPath}`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN: TOKEN,
      // Container credentials come first: instance metadata must not be asked.
      AWS_EC2_METADATA_SERVICE_ENDPOINT: fakes.creds.url,
    });
  });
  const ref = useGateway(settings, async (gw) => {
    const region = 'eu-west-1';
    await gw.createEventType('http.request');
    await gw.createEventType('aws.sync');
    await gw.createEventType('aws.async');
    await createFunction(gw, 'lambdaRole', 'awslambda', { arn: 'echo', region });
    await createFunction(gw, 'sqsRole', 'awssqs', { queueUrl: QUEUE, region });
    await createFunction(gw, 'kinesisRole', 'awskinesis', { streamName: 'clicks', region });
    await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'lambdaRole', method: 'POST', path: '/lambda' });
    await gw.subscribe({ type: 'sync', eventType: 'aws.sync', functionId: 'sqsRole', path: '/sqs' });
    await gw.subscribe({ type: 'async', eventType: 'aws.async', functionId: 'kinesisRole' });
  });
  after(async () => {
    for (const f of Object.values(fakes)) await f.close();
  });
  const g = (f) => withLogs(() => ref.gw, f);
  const fetches = () => fakes.creds.count(fakes.creds.containerPath);
  const lambda = async (n) => {
    const res = await ref.gw.events('POST', '/lambda', { body: { n } });
    assert.equal(res.status, 201, res.text);
    return fakes.main.of('lambda').at(-1);
  };

  test('an Expiration in the past or within 5 minutes is fetched again for each call; the token header is sent', g(async () => {
    fakes.creds.lifetimeMs = -60 * 1000;
    const first = await lambda(1);
    assert.equal(fetches(), 1);
    assert.equal(first.accessKeyId, fakes.creds.issued[0]);
    assert.equal(first.sessionToken, fakes.main.keys.get(first.accessKeyId).token);
    assert.ok(first.signedHeaders.includes('x-amz-security-token'));
    assert.equal(fakes.creds.seen[0].headers.authorization, TOKEN);
    const second = await lambda(2);
    assert.equal(fetches(), 2);
    assert.equal(second.accessKeyId, fakes.creds.issued[1]);

    fakes.creds.lifetimeMs = 4 * 60 * 1000;
    await lambda(3);
    await lambda(4);
    assert.equal(fetches(), 4);
    assert.equal(fakes.main.of('lambda').at(-1).accessKeyId, fakes.creds.issued[3]);
    assert.equal(fakes.creds.count('/latest/api/token'), 0, 'instance metadata was not asked');
  }));

  test('a refused or failing credentials endpoint fails the call with a clear error, and a later call fetches again', g(async () => {
    const sent = fakes.main.requests.length + fakes.main.rejected.length;
    fakes.creds.authToken = 'Bearer another-token';
    const refused = await ref.gw.events('POST', '/lambda', { body: { n: 5 } });
    assert.equal(refused.status, 500, refused.text);
    assertErrorBody(refused, 'refused credentials');
    await waitFor(() => logsMatch(ref.gw, /no AWS credentials: AWS container credentials: GET http:\/\/127\.0\.0\.1:\d+\/v2\/credentials\/task-1 answered HTTP 401/),
      { what: 'the refused container credentials in the worker log' });

    fakes.creds.authToken = TOKEN;
    fakes.creds.failWith = 503;
    const failing = await ref.gw.events('POST', '/sqs', {
      headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ce('aws.sync', { n: 6 })),
    });
    assert.equal(failing.status, 500, failing.text);
    assertErrorBody(failing, 'failing credentials endpoint');
    await waitFor(() => logsMatch(ref.gw, /AWS container credentials: GET \S+ answered HTTP 503/),
      { what: 'the failing container credentials in the worker log' });
    assert.equal(fakes.main.requests.length + fakes.main.rejected.length, sent,
      'nothing was sent to AWS without credentials');

    fakes.creds.failWith = 0;
    const before = fetches();
    const ok = await lambda(7);
    assert.equal(fetches(), before + 1, 'the failure was not cached');
    assert.equal(ok.accessKeyId, fakes.creds.issued.at(-1));
  }));

  test('credentials valid for hours are fetched once for many calls of every AWS type', g(async () => {
    fakes.creds.lifetimeMs = 6 * 3600 * 1000;
    const first = await lambda(8);
    const count = fetches();
    const key = first.accessKeyId;
    assert.equal(key, fakes.creds.issued.at(-1));
    for (let i = 0; i < 3; i++) assert.equal((await lambda(9 + i)).accessKeyId, key);
    const res = await emit(ref.gw, '/sqs', ce('aws.sync', { n: 12 }));
    assert.equal(res.status, 200, res.text);
    assert.equal(fakes.main.of('sqs').at(-1).accessKeyId, key);
    const ev = ce('aws.async', { n: 13 });
    assert.equal((await emit(ref.gw, '/', ev)).status, 202);
    const call = await waitFor(() => byEvent(fakes.main.of('kinesis'), ev.eventID),
      { timeoutMs: 10000, what: 'Kinesis to receive the event' });
    assert.equal(call.accessKeyId, key);
    assert.equal(call.sessionToken, fakes.main.keys.get(key).token);
    assert.equal(fetches(), count, 'the credentials endpoint was hit once');
  }));

  logsCleanTest(ref);
});

// A gateway whose only AWS credentials come from EC2 instance metadata served
// by a FakeCredentials (silent: one that never answers), with one sync
// awslambda function, functionId, on POST /lambda.
function useImdsGateway(functionId, { silent = false } = {}) {
  const fakes = {};
  const settings = { ingress: 1, workers: 1, env: {} };
  before(async () => {
    fakes.main = await FakeAws.start({});
    addLambdas(fakes.main);
    fakes.creds = await FakeCredentials.start(fakes.main);
    fakes.creds.silent = silent;
    Object.assign(settings.env, ROLE_ONLY_ENV, {
      EGW_AWS_ENDPOINT: fakes.main.url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: `${fakes.creds.url}/`,
    });
  });
  const ref = useGateway(settings, async (gw) => {
    await gw.createEventType('http.request');
    await createFunction(gw, functionId, 'awslambda', { arn: 'echo', region: 'us-east-2' });
    await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId, method: 'POST', path: '/lambda' });
  });
  after(async () => {
    for (const f of Object.values(fakes)) await f.close();
  });
  return { fakes, ref, g: (f) => withLogs(() => ref.gw, f) };
}

describe('role credentials from EC2 instance metadata (IMDSv2)', () => {
  const { fakes, ref, g } = useImdsGateway('lambdaImds');

  test('token, role name, then role credentials with the token; signed with them; fetched once', g(async () => {
    const res = await ref.gw.events('POST', '/lambda', { body: { imds: 1 } });
    assert.equal(res.status, 201, res.text);
    const call = fakes.main.of('lambda').at(-1);
    assert.equal(call.accessKeyId, fakes.creds.issued[0]);
    assert.equal(call.sessionToken, fakes.main.keys.get(call.accessKeyId).token);
    const base = '/latest/meta-data/iam/security-credentials/';
    assert.deepEqual(fakes.creds.seen.map((r) => `${r.method} ${r.path}`),
      ['PUT /latest/api/token', `GET ${base}`, `GET ${base}egw-instance-role`]);
    assert.ok(Number(fakes.creds.seen[0].headers['x-aws-ec2-metadata-token-ttl-seconds']) > 0);
    for (const r of fakes.creds.seen.slice(1)) {
      assert.ok(fakes.creds.imdsTokens.has(r.headers['x-aws-ec2-metadata-token']), 'IMDSv2 token sent');
    }
    for (let i = 0; i < 3; i++) {
      const again = await ref.gw.events('POST', '/lambda', { body: { imds: 2 + i } });
      assert.equal(again.status, 201, again.text);
      assert.equal(fakes.main.of('lambda').at(-1).accessKeyId, call.accessKeyId);
    }
    assert.equal(fakes.creds.seen.length, 3, 'instance metadata was asked once');
  }));

  logsCleanTest(ref);
});

describe('role credentials from an endpoint that never answers', () => {
  const { fakes, ref, g } = useImdsGateway('lambdaSilent', { silent: true });

  test('a fetch that timed out is not tried again by the next calls (each would block the worker)', g(async () => {
    const first = await ref.gw.events('POST', '/lambda', { body: { n: 1 } });
    assert.equal(first.status, 500, first.text);
    assert.equal(fakes.creds.seen.length, 1, 'the token PUT was sent once');
    await waitFor(() => logsMatch(ref.gw, /AWS EC2 instance metadata: PUT \S+ failed: Timeout was reached/),
      { what: 'the timed-out fetch in the worker log' });
    for (let i = 0; i < 3; i++) {
      const next = await ref.gw.events('POST', '/lambda', { body: { n: 2 + i } });
      assert.equal(next.status, 500, next.text);
    }
    assert.equal(fakes.creds.seen.length, 1, 'the silent endpoint was not asked again');
    await waitFor(() => logsMatch(ref.gw, /not asked again for \d+ s/),
      { what: 'the later calls failing at once, saying why' });
    assert.equal(fakes.main.of('lambda').length, 0, 'nothing was sent to AWS without credentials');
  }));

  logsCleanTest(ref);
});
