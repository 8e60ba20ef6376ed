// Events API: CloudEvents structured and binary mode, legacy Event header,
// async delivery, 202 without a sync subscription, sync failures as 500 with
// an error body, the function timeout, the body limit (413), bad input (400)
// and CORS preflight. This gateway runs with a 1 s function timeout and a
// 64 KiB body limit.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const {
  HANG, assertErrorBody, logsCleanTest, raw, request, sleep, startFunction, useGateway, withLogs,
} = require('./harness.js');
const { metrics } = require('./producer.js');

const TIMEOUT_MS = 1000;
const BODY_LIMIT = 65536;
const fns = {};

const ref = useGateway({ functionTimeoutMs: TIMEOUT_MS, bodyLimit: BODY_LIMIT }, async (gw) => {
  fns.sink = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  fns.other = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  fns.echo = await startFunction((event) => ({
    statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event),
  }));
  fns.fail = await startFunction(() => raw({ status: 500, body: 'function exploded' }));
  fns.garbage = await startFunction(() => raw({ status: 200, body: 'this is not JSON', contentType: 'text/plain' }));
  fns.wrongShape = await startFunction(() => raw({ status: 200, body: '{"statusCode":"two hundred","body":5}', contentType: 'application/json' }));
  fns.hang = await startFunction(() => HANG);

  await gw.createEventType('http.request');
  await gw.createEventType('order.placed');
  for (const [id, f] of Object.entries(fns)) await gw.createFunction(id, f.url);
  await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'sink' });
  await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'other', path: '/orders' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'echo', method: 'POST', path: '/echo' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'echo', method: 'GET', path: '/files/*rest' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'fail', method: 'GET', path: '/fail' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'garbage', method: 'GET', path: '/garbage' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'wrongShape', method: 'GET', path: '/wrong-shape' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'hang', method: 'GET', path: '/hang' });
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);

function ce(eventType, data, extra = {}) {
  return {
    cloudEventsVersion: '0.1',
    eventType,
    eventID: crypto.randomUUID(),
    eventTime: new Date().toISOString(),
    source: '/events-test',
    contentType: 'application/json',
    data,
    ...extra,
  };
}

// Waits for the sink to get the event with this id; returns it.
async function delivered(f, eventID) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const call = f.calls.find((c) => c.event && c.event.eventID === eventID);
    if (call) return call;
    assert.ok(Date.now() < deadline, `event ${eventID} not delivered within 5 s`);
    await sleep(25);
  }
}

test('structured CloudEvent: 202 and delivered as is to the async subscriber', g(async () => {
  const ev = ce('order.placed', { order: 1, items: ['a', 'b'] }, { extensions: { trace: 'x1' } });
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ev),
  });
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.sink, ev.eventID);
  assert.equal(call.method, 'POST');
  assert.match(call.headers['content-type'], /^application\/cloudevents\+json/);
  assert.equal(call.event.eventType, 'order.placed');
  assert.equal(call.event.cloudEventsVersion, '0.1');
  assert.equal(call.event.source, '/events-test');
  assert.equal(call.event.eventTime, ev.eventTime);
  assert.deepEqual(call.event.data, { order: 1, items: ['a', 'b'] });
  assert.deepEqual(call.event.extensions, { trace: 'x1' });
  assert.equal(fns.other.calls.length, 0, 'the /orders subscription is on another path');
}));

test('structured CloudEvent on a subscription path reaches only that subscriber', g(async () => {
  const ev = ce('order.placed', { order: 2 });
  const res = await ref.gw.events('POST', '/orders', {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ev),
  });
  assert.equal(res.status, 202);
  await delivered(fns.other, ev.eventID);
  await sleep(150);
  assert.ok(!fns.sink.calls.some((c) => c.event && c.event.eventID === ev.eventID));
}));

test('binary CloudEvent (CE-* headers) is delivered with its data', g(async () => {
  const id = crypto.randomUUID();
  const res = await ref.gw.events('POST', '/', {
    headers: {
      'Content-Type': 'application/json',
      'CE-CloudEventsVersion': '0.1',
      'CE-EventType': 'order.placed',
      'CE-EventID': id,
      'CE-Source': '/binary-test',
      'CE-EventTime': '2018-04-05T17:31:00Z',
    },
    body: JSON.stringify({ order: 3 }),
  });
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.sink, id);
  assert.equal(call.event.eventType, 'order.placed');
  assert.equal(call.event.source, '/binary-test');
  assert.equal(call.event.cloudEventsVersion, '0.1');
  assert.deepEqual(call.event.data, { order: 3 });
}));

test('legacy mode (Event header) wraps the body into a CloudEvent', g(async () => {
  const before = fns.sink.calls.length;
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/json', Event: 'order.placed' },
    body: JSON.stringify({ order: 4 }),
  });
  assert.equal(res.status, 202, res.text);
  const calls = await fns.sink.waitForCalls(before + 1);
  const ev = calls[calls.length - 1].event;
  assert.equal(ev.eventType, 'order.placed');
  assert.equal(ev.cloudEventsVersion, '0.1');
  assert.equal(typeof ev.eventID, 'string');
  assert.ok(ev.eventID.length > 0);
  assert.deepEqual(ev.data, { order: 4 });
}));

test('eventgateway.* event types are reserved and refused', g(async () => {
  const before = fns.sink.calls.length;
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify(ce('eventgateway.function.invoked', {})),
  });
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${res.status} ${res.text}`);
  assertErrorBody(res, 'reserved event type');
  await sleep(150);
  assert.equal(fns.sink.calls.length, before);
}));

test('202 for an event with no sync subscription, even with no subscriber at all', g(async () => {
  await ref.gw.createEventType('nobody.cares');
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' },
    body: JSON.stringify(ce('nobody.cares', { x: 1 })),
  });
  assert.equal(res.status, 202);
}));

test('sync: the http.request event carries query, headers, params, and a non-JSON body', g(async () => {
  const res = await ref.gw.events('POST', '/echo?a=1&b=two', {
    headers: { 'Content-Type': 'text/plain', 'X-Custom': 'yes' }, body: 'plain words',
  });
  assert.equal(res.status, 200, res.text);
  const ev = JSON.parse(res.text);
  assert.equal(ev.eventType, 'http.request');
  assert.equal(ev.data.method, 'POST');
  assert.equal(ev.data.path, '/echo');
  const q = ev.data.query;
  assert.ok(q && (q.a === '1' || (Array.isArray(q.a) && q.a[0] === '1')), `query ${JSON.stringify(q)}`);
  const custom = Object.entries(ev.data.headers).find(([k]) => k.toLowerCase() === 'x-custom');
  assert.ok(custom, 'request headers reach the function');
  assert.ok(custom[1] === 'yes' || (Array.isArray(custom[1]) && custom[1][0] === 'yes'));
  const body = ev.data.body;
  const text = typeof body === 'string' ? (body === 'plain words' ? body : Buffer.from(body, 'base64').toString()) : null;
  assert.equal(text, 'plain words', `body ${JSON.stringify(body)}`);

  const wild = await ref.gw.events('GET', '/files/a/b/c.txt');
  assert.equal(wild.status, 200, wild.text);
  assert.equal(JSON.parse(wild.text).data.params.rest, 'a/b/c.txt');
}));

test('sync function failing with HTTP 500 gives 500 with an error body', g(async () => {
  const res = await ref.gw.events('GET', '/fail');
  assert.equal(res.status, 500);
  assertErrorBody(res, 'failing function');
}));

test('sync function replying with something that is not {statusCode, body} gives 500', g(async () => {
  const res = await ref.gw.events('GET', '/garbage');
  assert.equal(res.status, 500);
  assertErrorBody(res, 'malformed reply');
  const res2 = await ref.gw.events('GET', '/wrong-shape');
  assert.equal(res2.status, 500);
  assertErrorBody(res2, 'reply fields of the wrong type');
}));

test(`a function that never answers gives 500 after the ${TIMEOUT_MS} ms function timeout`, g(async () => {
  const before = await metrics(ref.gw);
  const res = await ref.gw.events('GET', '/hang', { timeoutMs: 10000 });
  assert.equal(res.status, 500);
  assertErrorBody(res, 'hanging function');
  assert.ok(res.ms >= TIMEOUT_MS - 100, `answered after ${res.ms} ms, before the timeout`);
  assert.ok(res.ms < TIMEOUT_MS + 3000, `answered after ${res.ms} ms, long after the timeout`);
  const after = await ref.gw.events('POST', '/echo', { body: { still: 'alive' } });
  assert.equal(after.status, 200, 'serving goes on after a timeout');
  // Answered with 500, so counted as a failed sync call, not as dropped.
  const m = await metrics(ref.gw);
  assert.equal((m.eventgateway_sync_failed_total || 0) - (before.eventgateway_sync_failed_total || 0), 1);
  assert.equal(m.eventgateway_events_dropped_total || 0, before.eventgateway_events_dropped_total || 0);
}));

test(`a body over the ${BODY_LIMIT}-byte limit gives 413; one under it passes`, g(async () => {
  const big = await ref.gw.events('POST', '/echo', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT + 10) }),
  });
  assert.equal(big.status, 413);
  const ok = await ref.gw.events('POST', '/echo', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT - 1000) }),
  });
  assert.equal(ok.status, 200);
  assert.equal(JSON.parse(ok.text).data.body.pad.length, BODY_LIMIT - 1000);
}));

test('malformed and mistyped CloudEvents give 400 with an error body', g(async () => {
  const cases = [
    ['malformed JSON', '{"eventType": "order.placed", "cloudEventsVersion": '],
    ['not an object', '["order.placed"]'],
    ['eventType is a number', JSON.stringify(ce(42, {}))],
    ['cloudEventsVersion is a number', JSON.stringify(ce('order.placed', {}, { cloudEventsVersion: 0.1 }))],
    ['eventID missing', JSON.stringify({ ...ce('order.placed', {}), eventID: undefined })],
  ];
  for (const [what, body] of cases) {
    const res = await ref.gw.events('POST', '/', {
      headers: { 'Content-Type': 'application/cloudevents+json' }, body,
    });
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.text}`);
    assertErrorBody(res, what);
  }
}));

test('CORS: preflight and actual requests get the configured headers', g(async () => {
  const gw = ref.gw;
  const cors = await gw.config('POST', '/v1/spaces/default/cors', {
    method: 'POST', path: '/echo', allowedOrigins: ['http://*.example.com'], allowedHeaders: ['Content-Type', 'X-Token'],
  });
  assert.equal(cors.status, 201, cors.text);

  const pre = await gw.events('OPTIONS', '/echo', {
    headers: {
      Origin: 'http://app.example.com',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'X-Token',
    },
  });
  assert.ok(pre.status === 200 || pre.status === 204, `preflight status ${pre.status}`);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://app.example.com');
  assert.match(pre.headers.get('access-control-allow-methods') || '', /POST/);
  assert.match(pre.headers.get('access-control-allow-headers') || '', /x-token/i);

  const denied = await gw.events('OPTIONS', '/echo', {
    headers: { Origin: 'http://evil.test', 'Access-Control-Request-Method': 'POST' },
  });
  assert.equal(denied.headers.get('access-control-allow-origin'), null, 'origin not allowed');

  const actual = await gw.events('POST', '/echo', { headers: { Origin: 'http://app.example.com' }, body: { a: 1 } });
  assert.equal(actual.status, 200);
  assert.equal(actual.headers.get('access-control-allow-origin'), 'http://app.example.com');
}));

// ingress/http_server.c sizes libmicrohttpd's per-connection pool
// (HTTP_SERVER_POOL_BYTES, 16 KiB): large headers still reach the function,
// headers beyond the pool get libmicrohttpd's 431, and the ingress serves on.
test('request headers of 12 KiB reach the function; 40 KiB of headers is a 431', g(async () => {
  const big = 'b'.repeat(12 * 1024);
  const res = await ref.gw.events('GET', '/files/big', { headers: { 'X-Big': big } });
  assert.equal(res.status, 200, res.text.slice(0, 200));
  assert.ok(JSON.stringify(res.json).includes(big), 'the 12 KiB header did not reach the function');
  const huge = await ref.gw.events('GET', '/files/huge', { headers: { 'X-Big': 'h'.repeat(40 * 1024) } });
  assert.equal(huge.status, 431);
  const after = await ref.gw.events('GET', '/files/after');
  assert.equal(after.status, 200, after.text);
}));

logsCleanTest(ref);
