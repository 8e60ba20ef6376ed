// CloudEvents 1.0 beside 0.1, with the npm `cloudevents` SDK as the emitter:
// structured, binary and batch mode delivered to async subscribers as 1.0
// structured JSON (and 0.1 still as 0.1); invalid events and batches get 400
// naming the problem; http.request events stay 0.1 unless the workers run
// with EGW_HTTP_EVENT_VERSION=1.0; a sync function's base64 body
// ({"isBase64Encoded":true}) reaches the client as raw bytes.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const { CloudEvent, HTTP } = require('cloudevents');
const {
  Gateway, assertErrorBody, logsCleanTest, startFunction, useGateway, waitFor, withLogs,
} = require('./harness.js');

// The first bytes of a PNG file: NUL, 0x89, CR/LF, so any text or JSON
// handling on the way would show.
const PNG = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
  0x89, 0xff, 0xfe,
]);

const fns = {};
const ref = useGateway({}, async (gw) => {
  fns.orders = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  fns.photos = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
  fns.echo = await startFunction((event) => ({
    statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event),
  }));
  fns.png = await startFunction(() => ({
    statusCode: 201,
    headers: { 'Content-Type': 'image/png', 'X-Image': 'tiny' },
    body: PNG.toString('base64'),
    isBase64Encoded: true,
  }));
  fns.badBase64 = await startFunction(() => ({
    statusCode: 200, headers: { 'Content-Type': 'image/png' }, body: 'iVBO*not base64*', isBase64Encoded: true,
  }));
  for (const t of ['order.placed', 'photo.taken', 'http.request']) await gw.createEventType(t);
  for (const [id, f] of Object.entries(fns)) await gw.createFunction(id, f.url);
  await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'orders' });
  await gw.subscribe({ type: 'async', eventType: 'photo.taken', functionId: 'photos' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'echo', method: 'POST', path: '/echo' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'png', method: 'GET', path: '/image.png' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'badBase64', method: 'GET', path: '/broken.png' });
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);

// POSTs an SDK message ({headers, body}) to the Events API.
function send(message, path = '/') {
  const body = message.body instanceof Uint8Array ? Buffer.from(message.body) : message.body;
  return ref.gw.events('POST', path, { headers: message.headers, body });
}

// The call that delivered the event with this id (1.0 "id" or 0.1 "eventID").
async function delivered(fn, id) {
  return waitFor(() => fn.calls.find((c) => c.event && (c.event.id === id || c.event.eventID === id)),
    { timeoutMs: 10000, what: `delivery of ${id}` });
}

// A delivered 1.0 event is structured JSON that the SDK reads back.
function assertStructured10(call) {
  assert.match(call.headers['content-type'], /^application\/cloudevents\+json/);
  assert.equal(call.event.specversion, '1.0');
  for (const k of ['cloudEventsVersion', 'eventType', 'eventID']) assert.equal(call.event[k], undefined, k);
  const back = HTTP.toEvent({ headers: call.headers, body: call.text });
  assert.equal(back.specversion, '1.0');
  return back;
}

test('structured mode: an SDK event arrives as the same 1.0 event', g(async () => {
  const ev = new CloudEvent({
    type: 'order.placed', source: '/shop/eu', subject: 'order-17',
    dataschema: 'https://shop.example/schemas/order.json',
    data: { order: 17, items: ['a', 'b'] }, region: 'eu', priority: 3, rush: true,
  });
  const res = await send(HTTP.structured(ev));
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.orders, ev.id);
  const back = assertStructured10(call);
  for (const k of ['id', 'type', 'source', 'subject', 'dataschema', 'datacontenttype', 'region', 'priority', 'rush']) {
    assert.deepEqual(back[k], ev[k], k);
  }
  assert.deepEqual(call.event.data, { order: 17, items: ['a', 'b'] });
  assert.equal(call.event.time, ev.time);
  assert.equal(call.event.priority, 3, 'an integer extension stays a JSON number');
  assert.equal(call.event.rush, true, 'a boolean extension stays a JSON boolean');
}));

test('binary mode: ce-* headers and the body arrive as a 1.0 structured event', g(async () => {
  const ev = new CloudEvent({
    type: 'order.placed', source: '/shop/us', subject: 'order-18', data: { order: 18 }, traceid: 'abc123',
  });
  const msg = HTTP.binary(ev);
  assert.ok(msg.headers['ce-id'] && msg.headers['ce-specversion'] === '1.0', 'the SDK sent binary mode');
  const res = await send(msg);
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.orders, ev.id);
  const back = assertStructured10(call);
  assert.equal(back.type, 'order.placed');
  assert.equal(back.source, '/shop/us');
  assert.equal(back.subject, 'order-18');
  assert.equal(back.traceid, 'abc123');
  assert.match(msg.headers['content-type'], /^application\/json/);
  assert.equal(call.event.datacontenttype, msg.headers['content-type'], 'Content-Type became datacontenttype');
  assert.deepEqual(call.event.data, { order: 18 });
  assert.equal(new Date(call.event.time).getTime(), new Date(ev.time).getTime());
}));

test('binary mode: bytes become data_base64, decoded back by the SDK', g(async () => {
  const ev = new CloudEvent({
    type: 'photo.taken', source: '/camera/1', datacontenttype: 'image/png', data: new Uint8Array(PNG),
  });
  const res = await send(HTTP.binary(ev));
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.photos, ev.id);
  assertStructured10(call);
  assert.equal(call.event.datacontenttype, 'image/png');
  assert.equal(call.event.data, undefined);
  assert.deepEqual(Buffer.from(call.event.data_base64, 'base64'), PNG);
}));

test('batch mode: each event of the array is routed on its own, in 1.0 form', g(async () => {
  const events = [
    new CloudEvent({ type: 'order.placed', source: '/batch', data: { n: 1 } }),
    new CloudEvent({ type: 'photo.taken', source: '/batch', data: { n: 2 } }),
    new CloudEvent({ type: 'order.placed', source: '/batch', data: { n: 3 }, batchext: 'x' }),
  ];
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents-batch+json; charset=utf-8' },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 202, res.text);
  const c1 = await delivered(fns.orders, events[0].id);
  const c2 = await delivered(fns.photos, events[1].id);
  const c3 = await delivered(fns.orders, events[2].id);
  for (const [call, ev] of [[c1, events[0]], [c2, events[1]], [c3, events[2]]]) {
    const back = assertStructured10(call);
    assert.equal(back.type, ev.type);
    assert.deepEqual(call.event.data, ev.data);
  }
  assert.equal(c3.event.batchext, 'x');
  assert.equal(fns.photos.calls.filter((c) => c.event && c.event.id === events[0].id).length, 0,
    'a photo subscriber got an order event');

  const empty = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents-batch+json' }, body: '[]',
  });
  assert.equal(empty.status, 202, empty.text);
}));

test('batch mode: one invalid event refuses the whole batch with its index', g(async () => {
  const good = new CloudEvent({ type: 'order.placed', source: '/batch', data: { ok: true } });
  const bad = { specversion: '1.0', id: crypto.randomUUID(), source: '/batch', type: 'order.placed', time: 'tuesday' };
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([good, bad]),
  });
  assert.equal(res.status, 400, res.text);
  assertErrorBody(res, 'invalid batch');
  assert.match(res.json.errors[0].message, /batch event 1: .*"time" must be an RFC 3339 timestamp/);

  const old = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents-batch+json' },
    body: JSON.stringify([{ cloudEventsVersion: '0.1', eventType: 'order.placed', source: '/s', eventID: '1' }]),
  });
  assert.equal(old.status, 400, old.text);
  assert.match(old.json.errors[0].message, /batch event 0: .*CloudEvents 1\.0 only/);

  // A marker sent afterwards arrives; the valid half of the refused batch never does.
  const marker = new CloudEvent({ type: 'order.placed', source: '/batch', data: { marker: true } });
  assert.equal((await send(HTTP.structured(marker))).status, 202);
  await delivered(fns.orders, marker.id);
  assert.ok(!fns.orders.calls.some((c) => c.event && c.event.id === good.id), 'part of a refused batch was delivered');
}));

test('invalid 1.0 events get 400 naming the problem', g(async () => {
  const base = () => ({ specversion: '1.0', id: crypto.randomUUID(), source: '/bad', type: 'order.placed' });
  const structured = [
    [{ ...base(), id: undefined }, /"id" is required/],
    [{ ...base(), type: '' }, /"type" must not be empty/],
    [{ ...base(), source: 'not a uri' }, /"source" must be a URI-reference/],
    [{ ...base(), time: '2020-02-30T00:00:00Z' }, /"time" must be an RFC 3339 timestamp/],
    [{ ...base(), dataschema: 'relative/schema' }, /"dataschema" must be an absolute URI/],
    [{ ...base(), datacontenttype: 'json' }, /"datacontenttype" must be a media type/],
    [{ ...base(), Region: 'eu' }, /attribute name "Region" is invalid/],
    [{ ...base(), averyveryverylongname1: 'x' }, /attribute name "averyveryverylongname1" is invalid/],
    [{ ...base(), region: { a: 1 } }, /"region" must be a string, an integer or a boolean/],
    [{ ...base(), ratio: 0.5 }, /"ratio" must be an integer/],
    [{ ...base(), data: { a: 1 }, data_base64: 'AQID' }, /both "data" and "data_base64"/],
    [{ ...base(), data_base64: 'not base64!' }, /"data_base64" must be a base64 string/],
    [{ ...base(), specversion: '0.3' }, /"specversion" must be "1\.0"/],
  ];
  for (const [ev, re] of structured) {
    const res = await ref.gw.events('POST', '/', {
      headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ev),
    });
    assert.equal(res.status, 400, `${JSON.stringify(ev)}: ${res.status} ${res.text}`);
    assertErrorBody(res, JSON.stringify(ev));
    assert.match(res.json.errors[0].message, re);
  }

  const headers = () => ({
    'ce-specversion': '1.0', 'ce-id': crypto.randomUUID(), 'ce-source': '/bad', 'ce-type': 'order.placed',
    'Content-Type': 'application/json',
  });
  const binary = [
    [{ ...headers(), 'ce-time': 'now' }, /header ce-time must be an RFC 3339 timestamp/],
    [{ ...headers(), 'ce-trace-id': 'x' }, /header ce-trace-id does not name a CloudEvent attribute/],
    [{ ...headers(), 'ce-datacontenttype': 'text/plain' }, /ce-datacontenttype must not be sent/],
    [{ ...headers(), 'ce-subject': '%C0%A0' }, /header ce-subject is not percent-encoded UTF-8/],
    [{ ...headers(), 'ce-source': '' }, /header ce-source must not be empty/],
  ];
  for (const [h, re] of binary) {
    const res = await ref.gw.events('POST', '/', { headers: h, body: '{"a":1}' });
    assert.equal(res.status, 400, `${JSON.stringify(h)}: ${res.status} ${res.text}`);
    assertErrorBody(res, JSON.stringify(h));
    assert.match(res.json.errors[0].message, re);
  }
  const noType = headers();
  delete noType['ce-type'];
  const res = await ref.gw.events('POST', '/', { headers: noType, body: '{}' });
  assert.equal(res.status, 400, res.text);
  assert.match(res.json.errors[0].message, /header ce-type is required/);

  // still serving
  const ok = new CloudEvent({ type: 'order.placed', source: '/after', data: {} });
  assert.equal((await send(HTTP.structured(ok))).status, 202);
}));

test('a 0.1 event is still delivered as 0.1', g(async () => {
  const ev = {
    cloudEventsVersion: '0.1', eventType: 'order.placed', eventID: crypto.randomUUID(),
    source: '/legacy', eventTime: new Date().toISOString(), contentType: 'application/json', data: { v: 1 },
  };
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(ev),
  });
  assert.equal(res.status, 202, res.text);
  const call = await delivered(fns.orders, ev.eventID);
  assert.deepEqual(call.event, ev);
}));

test('http.request events stay CloudEvents 0.1 by default', g(async () => {
  const res = await ref.gw.events('POST', '/echo', { body: { hello: 'world' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.cloudEventsVersion, '0.1');
  assert.equal(res.json.eventType, 'http.request');
  assert.equal(res.json.specversion, undefined);
  assert.deepEqual(res.json.data.body, { hello: 'world' });
}));

test('binary response: base64 body from a sync function arrives as raw bytes', g(async () => {
  const res = await fetch(`${ref.gw.eventsUrl}/image.png`, { signal: AbortSignal.timeout(20000) });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('x-image'), 'tiny');
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.deepEqual(bytes, PNG);
  assert.equal(res.headers.get('content-length'), String(PNG.length));

  const bad = await ref.gw.events('GET', '/broken.png');
  assert.equal(bad.status, 500, bad.text);
  assertErrorBody(bad, 'invalid base64 body');
  assert.match(bad.json.errors[0].message, /HTTP response object malformed/);
}));

logsCleanTest(ref);

// Workers configured with EGW_HTTP_EVENT_VERSION=1.0 build http.request as
// a CloudEvent 1.0 with the same data; a small gateway of its own.
test('EGW_HTTP_EVENT_VERSION=1.0: http.request events are CloudEvents 1.0', async (t) => {
  const echo = await startFunction((event) => ({
    statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(event),
  }));
  const gw = await Gateway.start({ ingress: 1, workers: 1, env: { EGW_HTTP_EVENT_VERSION: '1.0' } });
  try {
    await gw.createEventType('http.request');
    await gw.createFunction('echo', echo.url);
    await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'echo', method: 'POST', path: '/users/:id' });
    const res = await gw.events('POST', '/users/42?x=1', { body: { name: 'Ada' } });
    assert.equal(res.status, 200, res.text);
    const call = echo.calls[0];
    const back = assertStructured10(call);
    assert.equal(back.type, 'http.request');
    assert.equal(call.event.datacontenttype, 'application/json');
    assert.equal(call.event.eventType, undefined);
    assert.deepEqual(call.event.data.body, { name: 'Ada' });
    assert.deepEqual(call.event.data.params, { id: '42' });
    assert.deepEqual(call.event.data.query, { x: ['1'] });
    assert.equal(call.event.data.method, 'POST');
    assert.equal(call.event.data.path, '/users/42');
    // Emitted CloudEvents keep their own version whatever the setting.
    await gw.createEventType('order.placed');
    await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'echo' });
    const v01 = { cloudEventsVersion: '0.1', eventType: 'order.placed', eventID: crypto.randomUUID(), source: '/s' };
    const r2 = await gw.events('POST', '/', {
      headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(v01),
    });
    assert.equal(r2.status, 202, r2.text);
    const c2 = await waitFor(() => echo.calls.find((c) => c.event && c.event.eventID === v01.eventID),
      { timeoutMs: 10000, what: 'the 0.1 event' });
    assert.deepEqual(c2.event, v01);
  } catch (err) {
    t.diagnostic(`gateway logs (${gw.dir}):\n${gw.logTail(25)}`);
    throw err;
  } finally {
    const bad = await gw.stop();
    await echo.close();
    assert.deepEqual(bad, [], `bad lines in gateway logs:\n${bad.join('\n')}`);
  }
});
