// The README walkthrough as an automated test: event types, three http
// functions, two sync and one async subscription, then the two curl calls
// (POST /users, GET /users/10) and the user.created event reaching emailUser.
'use strict';

const assert = require('node:assert/strict');
const { after, test } = require('node:test');
const { startExampleFunctions } = require('../../deploy/example-functions.js');
const { logsCleanTest, request, useGateway, withLogs } = require('./harness.js');

let fns;
const ref = useGateway({}, async (gw) => {
  fns = await startExampleFunctions({ eventsUrl: gw.eventsUrl });
});
after(async () => {
  if (fns) await fns.close();
});

const USER = { id: '10', firstName: 'Donald', lastName: 'Duck', email: 'donald.duck@disney.com' };

function header(headers, name) {
  const key = Object.keys(headers || {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : headers[key];
}

function assertCloudEvent(ev, eventType) {
  assert.equal(ev.cloudEventsVersion, '0.1');
  assert.equal(ev.eventType, eventType);
  assert.equal(typeof ev.eventID, 'string');
  assert.ok(ev.eventID.length > 0, 'eventID is empty');
  assert.equal(typeof ev.eventTime, 'string');
  assert.ok(!Number.isNaN(Date.parse(ev.eventTime)), `eventTime ${ev.eventTime} is not a time`);
  assert.equal(typeof ev.source, 'string');
  assert.ok(ev.source.length > 0, 'source is empty');
  assert.equal(typeof ev.contentType, 'string');
}

test('1. register event types and functions', withLogs(() => ref.gw, async () => {
  const gw = ref.gw;
  for (const name of ['http.request', 'user.created']) {
    const body = await gw.createEventType(name);
    assert.equal(body.name, name);
    assert.equal(body.space, 'default');
  }
  for (const name of ['getUser', 'createUser', 'emailUser']) {
    const body = await gw.createFunction(name, fns.urls[name]);
    assert.equal(body.functionId, name);
    assert.equal(body.type, 'http');
    assert.deepEqual(body.provider, { url: fns.urls[name] });
  }
}));

test('2. subscribe', withLogs(() => ref.gw, async () => {
  const gw = ref.gw;
  const subs = [
    { type: 'sync', eventType: 'http.request', functionId: 'getUser', method: 'GET', path: '/users/:id' },
    { type: 'sync', eventType: 'http.request', functionId: 'createUser', method: 'POST', path: '/users' },
    { type: 'async', eventType: 'user.created', functionId: 'emailUser' },
  ];
  for (const sub of subs) {
    const body = await gw.subscribe(sub);
    assert.equal(typeof body.subscriptionId, 'string');
    assert.equal(body.type, sub.type);
    assert.equal(body.eventType, sub.eventType);
    assert.equal(body.functionId, sub.functionId);
    assert.equal(body.method, sub.method || 'POST');
    assert.equal(body.path, sub.path || '/');
  }
}));

test('3. POST /users reaches createUser as an http.request CloudEvent', withLogs(() => ref.gw, async () => {
  const res = await request(`${ref.gw.eventsUrl}/users`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(USER),
  });
  assert.equal(res.status, 200, `POST /users: ${res.status} ${res.text}`);
  assert.deepEqual(JSON.parse(res.text), USER, 'the client gets the body createUser returned');

  assert.equal(fns.received.createUser.length, 1, 'createUser called once');
  const { headers, event } = fns.received.createUser[0];
  assert.match(header(headers, 'content-type'), /^application\/cloudevents\+json/);
  assertCloudEvent(event, 'http.request');
  assert.equal(event.contentType, 'application/json');
  const data = event.data;
  assert.equal(typeof data, 'object');
  assert.deepEqual(data.body, USER, 'data.body is the parsed JSON object');
  assert.equal(data.method, 'POST');
  assert.equal(data.path, '/users');
  assert.equal(typeof data.host, 'string');
  assert.ok(data.host.includes('127.0.0.1'), `data.host is ${data.host}`);
  assert.equal(typeof data.headers, 'object');
  assert.match(String(header(data.headers, 'content-type')), /application\/json/);
  assert.equal(typeof data.query, 'object');
  assert.ok('params' in data, 'data.params is present');
  assert.ok(data.params === null || typeof data.params === 'object');
  assert.ok(fns.users.has('10'), 'createUser stored the user');
}));

test('4. GET /users/10 reaches getUser with params.id "10"', withLogs(() => ref.gw, async () => {
  const res = await request(`${ref.gw.eventsUrl}/users/10`);
  assert.equal(res.status, 200, `GET /users/10: ${res.status} ${res.text}`);
  assert.deepEqual(JSON.parse(res.text), USER);
  assert.match(res.headers.get('content-type') || '', /application\/json/,
    'headers returned by the function reach the client');

  assert.equal(fns.received.getUser.length, 1);
  const { event } = fns.received.getUser[0];
  assertCloudEvent(event, 'http.request');
  assert.equal(event.data.params.id, '10');
  assert.equal(event.data.method, 'GET');
  assert.equal(event.data.path, '/users/10');

  const missing = await request(`${ref.gw.eventsUrl}/users/11`);
  assert.equal(missing.status, 404, 'the function controls the status code');
}));

test('5. emailUser receives user.created with the user as data', withLogs(() => ref.gw, async () => {
  const deadline = Date.now() + 5000;
  while (fns.received.emailUser.length === 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(fns.received.emailUser.length, 1, 'emailUser got exactly one event within 5 s');
  const { event } = fns.received.emailUser[0];
  assertCloudEvent(event, 'user.created');
  assert.deepEqual(event.data, USER);
  assert.equal(event.source, 'example-functions/createUser', 'the event createUser emitted');
}));

logsCleanTest(ref);
