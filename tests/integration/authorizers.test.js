// Event type authorizers (issue 5): an event type with authorizerId has that
// function called first with {event, request}. An allowed event reaches the
// subscriber with the authorization attached (0.1: extensions.eventgateway
// .authorization; 1.0: the authcontext attributes authtype/authid/authclaims);
// a denial, a failed authorizer call or an unparsable answer is a 403 for a
// sync subscription and no delivery (a dead letter "unauthorized: ...", never
// retried) for an async one.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const {
  assertErrorBody, freePorts, logsCleanTest, raw, sleep, startFunction, useGateway, waitFor,
  withLogs,
} = require('./harness.js');

const fns = {};
let closedPort;

// The authorizer: "Bearer good" is user u-1 (an admin), anything else is
// refused with a message; every call is recorded by startFunction.
function authorize(body) {
  const auth = body && body.request && body.request.headers && body.request.headers.Authorization;
  if (auth === 'Bearer good') {
    return { authorization: { principalId: 'u-1', context: { role: 'admin', org: 'acme' } } };
  }
  return { error: { message: `bad token (${auth || 'none'})` } };
}

async function createIn(gw, space, kind, body) {
  const r = await gw.config('POST', `/v1/spaces/${space}/${kind}`, body);
  assert.equal(r.status, 201, `create ${kind} in ${space}: ${r.status} ${r.text}`);
}

const ref = useGateway({ env: { EGW_RETRY_BASE_MS: '50', EGW_RETRY_CAP_MS: '200' } }, async (gw) => {
  [closedPort] = await freePorts(1); // nothing listens there: the authorizer is down
  fns.auth = await startFunction(authorize);
  fns.garbage = await startFunction(() => raw({ status: 200, body: 'this is not JSON' }));
  fns.secure = await startFunction((event) => ({ statusCode: 200, body: JSON.stringify(event) }));
  fns.users = await startFunction(() => ({}));
  fns.orders = await startFunction(() => ({}));
  fns.images = await startFunction(() => ({}));
  fns.downSync = await startFunction(() => ({ statusCode: 200, body: 'should not run' }));

  await gw.createFunction('auth', fns.auth.url);
  await gw.createFunction('garbage', fns.garbage.url);
  await gw.createFunction('authDown', `http://127.0.0.1:${closedPort}/`);
  await gw.createFunction('secure', fns.secure.url);
  await gw.createFunction('users', fns.users.url);
  await gw.createFunction('orders', fns.orders.url);
  await gw.createFunction('images', fns.images.url);

  await gw.createEventType('http.request', { authorizerId: 'auth' });
  await gw.createEventType('user.created', { authorizerId: 'auth' });
  await gw.createEventType('order.placed', { authorizerId: 'authDown' });
  await gw.createEventType('img.uploaded', { authorizerId: 'garbage' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'secure',
    method: 'POST', path: '/secure/:id' });
  await gw.subscribe({ type: 'async', eventType: 'user.created', functionId: 'users' });
  await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'orders' });
  await gw.subscribe({ type: 'async', eventType: 'img.uploaded', functionId: 'images' });

  // Another space whose http.request authorizer is down, for the sync 403.
  await createIn(gw, 'down', 'functions', { functionId: 'authDown', type: 'http',
    provider: { url: `http://127.0.0.1:${closedPort}/` } });
  await createIn(gw, 'down', 'functions', { functionId: 'downSync', type: 'http',
    provider: { url: fns.downSync.url } });
  await createIn(gw, 'down', 'eventtypes', { name: 'http.request', authorizerId: 'authDown' });
  await createIn(gw, 'down', 'subscriptions', { type: 'sync', eventType: 'http.request',
    functionId: 'downSync', method: 'GET', path: '/down' });
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);

function v01(eventType, extra = {}) {
  return {
    cloudEventsVersion: '0.1', eventType, eventID: crypto.randomUUID(), source: '/test',
    eventTime: new Date().toISOString(), contentType: 'application/json',
    data: { big: 1 }, ...extra,
  };
}

async function emit(event, headers = {}, urlPath = '/') {
  const res = await ref.gw.events('POST', urlPath, {
    headers: { 'Content-Type': 'application/cloudevents+json', ...headers },
    body: JSON.stringify(event),
  });
  assert.equal(res.status, 202, `emit: ${res.status} ${res.text}`);
  return res;
}

function eventId(call) {
  return call.event && (call.event.eventID || call.event.id);
}

function authCallFor(id) {
  return fns.auth.calls.find((c) => c.event && c.event.event &&
    (c.event.event.eventID === id || c.event.event.id === id));
}

async function deadLetters(functionId) {
  const r = await ref.gw.config('GET', `/v1/spaces/default/deadletters?functionId=${functionId}`);
  assert.equal(r.status, 200, `GET deadletters: ${r.status} ${r.text}`);
  return r.json.deadLetters;
}

test('sync: an allowed request reaches the function with the authorization attached', g(async () => {
  const res = await ref.gw.events('POST', '/secure/42?tab=1&tab=2', {
    headers: { Authorization: 'Bearer good', 'X-Extra': 'yes' }, body: { hello: 'world' },
  });
  assert.equal(res.status, 200, res.text);
  const seen = JSON.parse(res.text);
  assert.equal(seen.eventType, 'http.request');
  assert.deepEqual(seen.extensions.eventgateway.authorization,
    { principalId: 'u-1', context: { role: 'admin', org: 'acme' } });
  assert.equal(seen.data.params.id, '42');

  // What the authorizer was called with: {event, request}.
  const call = authCallFor(seen.eventID);
  assert.ok(call, 'the authorizer saw the event');
  const { event, request } = call.event;
  assert.equal(event.eventType, 'http.request');
  assert.equal(event.extensions, undefined, 'no authorization before the authorizer ran');
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/secure/42');
  assert.equal(request.headers.Authorization, 'Bearer good');
  assert.equal(request.headers['X-Extra'], 'yes');
  assert.deepEqual(request.query, { tab: ['1', '2'] });
  assert.deepEqual(request.body, { hello: 'world' });
  assert.match(request.host, /^127\.0\.0\.1:\d+$/);
  assert.equal(request.params, undefined);
  // Every call carries the event id, the authorizer's too.
  assert.equal(call.headers['x-egw-event-id'], seen.eventID);
}));

test('sync: a denied request is a 403 naming the reason, and the function is not called', g(async () => {
  const before = fns.secure.calls.length;
  const res = await ref.gw.events('POST', '/secure/7', {
    headers: { Authorization: 'Bearer stolen' }, body: { hello: 'world' },
  });
  assert.equal(res.status, 403, res.text);
  assertErrorBody(res, 'denied');
  assert.equal(res.json.errors[0].message, 'unauthorized: bad token (Bearer stolen)');
  assert.match(res.headers.get('content-type'), /application\/json/);
  // Without any credentials at all, the same.
  const none = await ref.gw.events('POST', '/secure/7', { body: {} });
  assert.equal(none.status, 403, none.text);
  await sleep(300);
  assert.equal(fns.secure.calls.length, before, 'the function never ran');
}));

test('sync: an authorizer that cannot be reached means 403, without its address', g(async () => {
  const res = await ref.gw.events('GET', '/down');
  assert.equal(res.status, 403, res.text);
  assertErrorBody(res, 'authorizer down');
  assert.equal(res.json.errors[0].message, 'unauthorized: authorizer call failed');
  assert.ok(!res.text.includes(String(closedPort)), 'the authorizer address is not leaked');
  assert.equal(fns.downSync.calls.length, 0);
}));

test('async: an allowed CloudEvent is delivered with extensions.eventgateway.authorization', g(async () => {
  const event = v01('user.created', {
    extensions: { trace: 't-1', eventgateway: { authorization: { principalId: 'forged' } } },
    data: { n: 1.5, s: 'x' },
  });
  const res = await ref.gw.events('POST', '/?tenant=acme', {
    headers: { 'Content-Type': 'application/cloudevents+json', Authorization: 'Bearer good' },
    body: JSON.stringify(event),
  });
  assert.equal(res.status, 202, res.text);
  await waitFor(() => fns.users.calls.some((c) => eventId(c) === event.eventID),
    { what: 'the delivery' });
  const call = fns.users.calls.find((c) => eventId(c) === event.eventID);
  // The producer's forged authorization is replaced, its other extensions stay.
  assert.deepEqual(call.event.extensions.eventgateway.authorization,
    { principalId: 'u-1', context: { role: 'admin', org: 'acme' } });
  assert.equal(call.event.extensions.trace, 't-1');
  assert.deepEqual(call.event.data, { n: 1.5, s: 'x' });

  const auth = authCallFor(event.eventID);
  assert.ok(auth, 'the authorizer saw the event');
  const { request } = auth.event;
  assert.equal(request.method, 'POST');
  assert.equal(request.path, '/');
  assert.equal(request.headers.Authorization, 'Bearer good');
  assert.deepEqual(request.query, { tenant: ['acme'] });
  // For a CloudEvent the request body is the event itself (reference docs).
  assert.equal(request.body.eventID, event.eventID);
  assert.equal(auth.event.event.eventID, event.eventID);
}));

test('async: a CloudEvents 1.0 event gets the authcontext attributes', g(async () => {
  const event = {
    specversion: '1.0', type: 'user.created', id: crypto.randomUUID(), source: '/crm',
    authid: 'forged', data: { k: 'v' },
  };
  await emit(event, { Authorization: 'Bearer good' });
  await waitFor(() => fns.users.calls.some((c) => eventId(c) === event.id), { what: 'delivery' });
  const got = fns.users.calls.find((c) => eventId(c) === event.id).event;
  assert.equal(got.specversion, '1.0');
  assert.equal(got.authtype, 'unknown');
  assert.equal(got.authid, 'u-1');
  assert.deepEqual(JSON.parse(got.authclaims), { role: 'admin', org: 'acme' });
  assert.equal(got.extensions, undefined);
  assert.deepEqual(got.data, { k: 'v' });
}));

test('async: a denied event is not delivered and is dead-lettered at once, not retried', g(async () => {
  const event = v01('user.created');
  await emit(event, { Authorization: 'Bearer expired' });
  const dls = await waitFor(async () => {
    const list = await deadLetters('users');
    return list.some((d) => d.eventId === event.eventID) && list;
  }, { what: 'the dead letter' });
  const dl = dls.find((d) => d.eventId === event.eventID);
  assert.equal(dl.lastError, 'unauthorized: bad token (Bearer expired)');
  assert.equal(dl.lastStatus, 403);
  assert.equal(dl.attempts, 1, 'a denial is never retried');
  assert.ok(!fns.users.calls.some((c) => eventId(c) === event.eventID), 'never delivered');
  // The authorizer was asked exactly once.
  assert.equal(fns.auth.calls.filter((c) => c.event.event.eventID === event.eventID).length, 1);
}));

test('async: an authorizer that is down or answers garbage means no delivery', g(async () => {
  const down = v01('order.placed');
  const garbage = v01('img.uploaded');
  await emit(down, { Authorization: 'Bearer good' });
  await emit(garbage, { Authorization: 'Bearer good' });
  const d1 = await waitFor(async () => (await deadLetters('orders'))
    .find((d) => d.eventId === down.eventID), { what: 'dead letter (authorizer down)' });
  assert.match(d1.lastError, /^unauthorized: authorizer call failed: /);
  assert.equal(d1.attempts, 1);
  const d2 = await waitFor(async () => (await deadLetters('images'))
    .find((d) => d.eventId === garbage.eventID), { what: 'dead letter (garbage answer)' });
  assert.equal(d2.lastError, 'unauthorized: authorizer answer is not JSON');
  assert.equal(fns.orders.calls.length, 0);
  assert.equal(fns.images.calls.length, 0);
  assert.equal(fns.garbage.calls.length, 1, 'the garbage authorizer was asked once');
}));

test('an event type without authorizer is delivered without authorization', g(async () => {
  const res = await ref.gw.config('PUT', '/v1/spaces/default/eventtypes/img.uploaded', {});
  assert.equal(res.status, 200, `${res.status} ${res.text}`);
  const event = v01('img.uploaded');
  await waitFor(async () => {
    await emit({ ...event, eventID: crypto.randomUUID() });
    return fns.images.calls.length > 0;
  }, { what: 'a delivery once the authorizer is removed', timeoutMs: 8000, intervalMs: 300 });
  const got = fns.images.calls[0].event;
  assert.equal(got.extensions, undefined);
}));

logsCleanTest(ref);
