// Drives the gateway with the official Node SDK, @serverless/event-gateway-sdk
// 0.11, unchanged: every configuration call it makes, emit, and its error
// handling (which only works if error bodies are {"errors":[{"message"}]}).
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const EventGateway = require('@serverless/event-gateway-sdk');
const { logsCleanTest, request, startFunction, useGateway, withLogs } = require('./harness.js');

let eg;
let asyncFn;
let asyncFn2;
let syncFn;
const subs = {};

const ref = useGateway({}, async (gw) => {
  eg = new EventGateway({ url: gw.eventsUrl, configurationUrl: gw.configUrl });
  asyncFn = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  asyncFn2 = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  syncFn = await startFunction((event) => ({
    statusCode: 201,
    headers: { 'X-Greeting': 'hi' },
    body: `hello ${event.data.params.name}`,
  }));
});
after(async () => {
  for (const f of [asyncFn, asyncFn2, syncFn]) if (f) await f.close();
});

const g = (fn) => withLogs(() => ref.gw, fn);

function cloudEvent(eventType, data) {
  return {
    cloudEventsVersion: '0.1',
    eventType,
    eventID: crypto.randomUUID(),
    eventTime: new Date().toISOString(),
    source: '/sdk-test',
    contentType: 'application/json',
    data,
  };
}

test('createEventType and listEventTypes', g(async () => {
  const created = await eg.createEventType({ name: 'sdk.created', metadata: { team: 'a' } });
  assert.equal(created.name, 'sdk.created');
  assert.equal(created.space, 'default');
  await eg.createEventType({ name: 'http.request' });
  const types = await eg.listEventTypes();
  assert.deepEqual(types.map((t) => t.name).sort(), ['http.request', 'sdk.created']);
  const filtered = await eg.listEventTypes({ 'metadata.team': 'a' });
  assert.deepEqual(filtered.map((t) => t.name), ['sdk.created']);
}));

test('createFunction, updateFunction and listFunctions', g(async () => {
  const fn = await eg.createFunction({ functionId: 'sdk-async', type: 'http', provider: { url: asyncFn2.url } });
  assert.equal(fn.functionId, 'sdk-async');
  assert.deepEqual(fn.provider, { url: asyncFn2.url });
  const updated = await eg.updateFunction({ functionId: 'sdk-async', type: 'http', provider: { url: asyncFn.url } });
  assert.deepEqual(updated.provider, { url: asyncFn.url });
  await eg.createFunction({ functionId: 'sdk-sync', type: 'http', provider: { url: syncFn.url } });
  const fns = await eg.listFunctions();
  assert.deepEqual(fns.map((f) => f.functionId).sort(), ['sdk-async', 'sdk-sync']);
  assert.deepEqual(fns.find((f) => f.functionId === 'sdk-async').provider, { url: asyncFn.url });
}));

test('subscribe and listSubscriptions', g(async () => {
  subs.async = await eg.subscribe({ type: 'async', eventType: 'sdk.created', functionId: 'sdk-async' });
  assert.equal(subs.async.path, '/');
  assert.equal(subs.async.method, 'POST');
  subs.hook = await eg.subscribe({ type: 'async', eventType: 'sdk.created', functionId: 'sdk-async', path: '/hooks' });
  subs.sync = await eg.subscribe({
    type: 'sync', eventType: 'http.request', functionId: 'sdk-sync', method: 'GET', path: '/hello/:name',
  });
  const list = await eg.listSubscriptions();
  assert.deepEqual(list.map((s) => s.subscriptionId).sort(),
    [subs.async.subscriptionId, subs.hook.subscriptionId, subs.sync.subscriptionId].sort());
}));

test('emit delivers to async subscribers on the default path and on a custom path', g(async () => {
  const ev = cloudEvent('sdk.created', { n: 1 });
  const res = await eg.emit(ev);
  assert.equal(res.status, 202);
  const calls = await asyncFn.waitForCalls(1);
  assert.equal(calls[0].event.eventID, ev.eventID);
  assert.deepEqual(calls[0].event.data, { n: 1 });
  assert.equal(asyncFn2.calls.length, 0, 'updateFunction moved the function to the new URL');

  const ev2 = cloudEvent('sdk.created', { n: 2 });
  const res2 = await eg.emit(ev2, { path: '/hooks' });
  assert.equal(res2.status, 202);
  const calls2 = await asyncFn.waitForCalls(2);
  assert.equal(calls2[1].event.eventID, ev2.eventID, 'the /hooks subscription only');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(asyncFn.calls.length, 2, 'no extra delivery');
}));

test('sync subscription made with the SDK answers through the Events API', g(async () => {
  const res = await request(`${ref.gw.eventsUrl}/hello/joe`);
  assert.equal(res.status, 201);
  assert.equal(res.text, 'hello joe');
  assert.equal(res.headers.get('x-greeting'), 'hi');
}));

test('createCORS, listCORS and deleteCORS', g(async () => {
  const cors = await eg.createCORS({ method: 'GET', path: '/hello/:name', allowedOrigins: ['http://sdk.example'] });
  assert.equal(typeof cors.corsId, 'string');
  assert.equal(cors.method, 'GET');
  assert.equal(cors.path, '/hello/:name');
  assert.deepEqual(cors.allowedOrigins, ['http://sdk.example']);
  assert.deepEqual(cors.allowedMethods, ['HEAD', 'GET', 'POST'], 'default methods');
  assert.deepEqual(cors.allowedHeaders, ['Origin', 'Accept', 'Content-Type'], 'default headers');
  assert.equal(cors.allowCredentials, false);
  const list = await eg.listCORS();
  assert.deepEqual(list.map((c) => c.corsId), [cors.corsId]);

  const res = await request(`${ref.gw.eventsUrl}/hello/ann`, { headers: { Origin: 'http://sdk.example' } });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('access-control-allow-origin'), 'http://sdk.example');

  assert.equal(await eg.deleteCORS({ corsId: cors.corsId }), undefined);
  assert.deepEqual(await eg.listCORS(), []);
}));

test('errors surface as rejections carrying the gateway message', g(async () => {
  // The SDK says "due the error: <message>" only when the body parsed as
  // {"errors":[{"message":...}]}; otherwise "couldn't parse error body".
  const parsed = /due the error: \S/;
  await assert.rejects(eg.createEventType({ name: 'sdk.created' }), parsed);
  await assert.rejects(eg.createFunction({ functionId: 'sdk-bad', type: 'http', provider: {} }), parsed);
  await assert.rejects(eg.createFunction({ functionId: 'sdk-async', type: 'http', provider: { url: asyncFn.url } }), parsed);
  await assert.rejects(eg.subscribe({ type: 'async', eventType: 'no.such.type', functionId: 'sdk-async' }), parsed);
  await assert.rejects(eg.subscribe({ type: 'async', eventType: 'sdk.created', functionId: 'no-such-fn' }), parsed);
  await assert.rejects(eg.unsubscribe({ subscriptionId: 'no-such-subscription' }), parsed);
  await assert.rejects(eg.deleteFunction({ functionId: 'sdk-async' }), parsed, 'in use by a subscription');
  await assert.rejects(eg.deleteEventType({ name: 'sdk.created' }), parsed, 'in use by a subscription');
  await assert.rejects(eg.deleteCORS({ corsId: 'no-such-cors' }), parsed);
  await assert.rejects(eg.updateFunction({ functionId: 'no-such-fn', type: 'http', provider: { url: asyncFn.url } }), parsed);
  await assert.rejects(eg.emit({ ...cloudEvent('sdk.created', {}), eventType: 'eventgateway.internal' }), /Failed to emit/);
}));

test('unsubscribe, deleteFunction and deleteEventType', g(async () => {
  for (const s of Object.values(subs)) {
    assert.equal(await eg.unsubscribe({ subscriptionId: s.subscriptionId }), undefined);
  }
  assert.deepEqual(await eg.listSubscriptions(), []);
  assert.equal(await eg.deleteFunction({ functionId: 'sdk-async' }), undefined);
  assert.equal(await eg.deleteFunction({ functionId: 'sdk-sync' }), undefined);
  assert.deepEqual(await eg.listFunctions(), []);
  assert.equal(await eg.deleteEventType({ name: 'sdk.created' }), undefined);
  assert.deepEqual((await eg.listEventTypes()).map((t) => t.name), ['http.request']);
}));

logsCleanTest(ref);
