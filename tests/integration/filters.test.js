// Subscription filters and wildcard event types: the Configuration API
// (validation 400s, create/get/list/update echoes, unchanged bodies without a
// filter) and delivery (exact, prefix and suffix conditions on CloudEvents
// 0.1 and 1.0 events, "user.*" and "*" subscriptions).
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { after, test } = require('node:test');
const { CloudEvent, HTTP } = require('cloudevents');
const {
  assertErrorBody, logsCleanTest, request, sleep, sqlite, startFunction, useGateway, withLogs,
} = require('./harness.js');

const SUBS = '/v1/spaces/default/subscriptions';
const fns = {};

const ref = useGateway({}, async (gw) => {
  for (const id of ['exactFn', 'usersFn', 'allFn', 'pngFn', 'shopFn', 'profileFn', 'tenantFn', 'plainFn']) {
    fns[id] = await startFunction(() => ({ statusCode: 200, body: 'ok' }));
    await gw.createFunction(id, fns[id].url);
  }
  for (const t of ['http.request', 'user.created', 'user.deleted', 'user.profile.updated',
    'order.placed', 'img.uploaded', 'user.*', 'user.profile.*', '*']) {
    await gw.createEventType(t);
  }
  await gw.subscribe({ type: 'async', eventType: 'user.created', functionId: 'exactFn',
    filter: { exact: { source: '/crm' } } });
  await gw.subscribe({ type: 'async', eventType: 'user.*', functionId: 'usersFn' });
  await gw.subscribe({ type: 'async', eventType: 'user.profile.*', functionId: 'profileFn' });
  await gw.subscribe({ type: 'async', eventType: '*', functionId: 'allFn' });
  await gw.subscribe({ type: 'async', eventType: 'img.uploaded', functionId: 'pngFn',
    filter: { suffix: { subject: '.png' }, exact: { source: '/cam' } } });
  await gw.subscribe({ type: 'async', eventType: '*', functionId: 'shopFn',
    filter: { prefix: { source: '/shop/', type: 'order.' } } });
  await gw.subscribe({ type: 'async', eventType: '*', functionId: 'tenantFn',
    filter: { exact: { tenant: 'acme' } } });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'plainFn',
    method: 'POST', path: '/plain' });
});
after(async () => {
  for (const f of Object.values(fns)) await f.close();
});

const g = (f) => withLogs(() => ref.gw, f);

function v01(eventType, extra = {}) {
  return {
    cloudEventsVersion: '0.1', eventType, eventID: crypto.randomUUID(),
    eventTime: new Date().toISOString(), source: '/test', contentType: 'application/json',
    data: { n: 1 }, ...extra,
  };
}

function v10(type, extra = {}) {
  return {
    specversion: '1.0', type, id: crypto.randomUUID(), source: '/test',
    datacontenttype: 'application/json', data: { n: 1 }, ...extra,
  };
}

async function emit(event) {
  const res = await ref.gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify(event),
  });
  assert.equal(res.status, 202, `emit ${JSON.stringify(event)}: ${res.status} ${res.text}`);
  return event.eventID || event.id;
}

function callId(c) {
  if (c.event && (c.event.eventID || c.event.id)) return c.event.eventID || c.event.id;
  return c.headers['ce-id'];
}

function gotIt(f, id) {
  return f.calls.some((c) => callId(c) === id);
}

// Emits every event, waits until each function named in `want` has each of
// its events, then gives stray deliveries a moment before checking that no
// function got an event it was not due. want: {fnName: [events]}.
async function expectDeliveries(events, want) {
  const ids = [];
  for (const ev of events) ids.push(await emit(ev));
  const deadline = Date.now() + 10000;
  for (const [name, evs] of Object.entries(want)) {
    for (const ev of evs) {
      const id = ev.eventID || ev.id;
      while (!gotIt(fns[name], id)) {
        assert.ok(Date.now() < deadline, `${name} did not get ${id} (${ev.eventType || ev.type})`);
        await sleep(25);
      }
    }
  }
  await sleep(300);
  for (const [name, f] of Object.entries(fns)) {
    const due = new Set((want[name] || []).map((ev) => ev.eventID || ev.id));
    for (const id of ids) {
      assert.equal(gotIt(f, id), due.has(id), `${name} ${due.has(id) ? 'missed' : 'wrongly got'} ${id}`);
      assert.ok(f.calls.filter((c) => callId(c) === id).length <= 1, `${name} got ${id} twice`);
    }
  }
}

// ---- delivery ----

test('CloudEvents 0.1: exact filter, user.* and * subscriptions', g(async () => {
  const crm = v01('user.created', { source: '/crm' });
  const other = v01('user.created', { source: '/crm/eu' });
  const deleted = v01('user.deleted');
  const profile = v01('user.profile.updated');
  const order = v01('order.placed');
  await expectDeliveries([crm, other, deleted, profile, order], {
    exactFn: [crm],
    usersFn: [crm, other, deleted, profile],
    profileFn: [profile],
    allFn: [crm, other, deleted, profile, order],
  });
}));

test('CloudEvents 0.1: suffix and prefix filters on source and on extensions', g(async () => {
  const png = v01('img.uploaded', { source: '/cam', extensions: { subject: 'shots/a.png' } });
  const gif = v01('img.uploaded', { source: '/cam', extensions: { subject: 'shots/a.gif' } });
  const wrongSource = v01('img.uploaded', { source: '/camera', extensions: { subject: 'b.png' } });
  const noSubject = v01('img.uploaded', { source: '/cam' });
  const shop = v01('order.placed', { source: '/shop/eu' });
  const notShop = v01('order.placed', { source: '/shopping' });
  await expectDeliveries([png, gif, wrongSource, noSubject, shop, notShop], {
    pngFn: [png],
    shopFn: [shop],
    allFn: [png, gif, wrongSource, noSubject, shop, notShop],
  });
}));

test('CloudEvents 1.0 structured: the same filters by 1.0 attribute names', g(async () => {
  const png = v10('img.uploaded', { source: '/cam', subject: 'x/y.png' });
  const jpg = v10('img.uploaded', { source: '/cam', subject: 'x/y.jpg' });
  const crm = v10('user.created', { source: '/crm' });
  const shop = v10('order.placed', { source: '/shop/us', subject: 'o-1' });
  await expectDeliveries([png, jpg, crm, shop], {
    pngFn: [png],
    exactFn: [crm],
    usersFn: [crm],
    shopFn: [shop],
    allFn: [png, jpg, crm, shop],
  });
}));

test('CloudEvents 1.0 binary mode: attributes from ce-* headers', g(async () => {
  const send = async (subject) => {
    const id = crypto.randomUUID();
    const res = await ref.gw.events('POST', '/', {
      headers: {
        'Content-Type': 'application/json', 'ce-specversion': '1.0', 'ce-type': 'img.uploaded',
        'ce-id': id, 'ce-source': '/cam', 'ce-subject': subject,
      },
      body: JSON.stringify({ n: 2 }),
    });
    assert.equal(res.status, 202, res.text);
    return id;
  };
  const gif = await send('bin.gif');
  const png = await send('bin.png');
  const deadline = Date.now() + 10000;
  while (!gotIt(fns.pngFn, png) || !gotIt(fns.allFn, png) || !gotIt(fns.allFn, gif)) {
    assert.ok(Date.now() < deadline, 'binary 1.0 events not delivered to pngFn and allFn');
    await sleep(25);
  }
  await sleep(300);
  assert.equal(gotIt(fns.pngFn, gif), false, 'pngFn wrongly got the .gif event');
}));

test('an extension filter matches 1.0 events from the cloudevents SDK and 0.1 extensions', g(async () => {
  const sent = [];
  for (const [mode, tenant] of [['binary', 'acme'], ['structured', 'acme'], ['binary', 'acme-eu'],
    ['structured', 'other']]) {
    const ce = new CloudEvent({ type: 'order.placed', source: '/sdk', tenant, data: { n: 3 } });
    const msg = HTTP[mode](ce);
    const res = await ref.gw.events('POST', '/', { headers: msg.headers, body: msg.body });
    assert.equal(res.status, 202, `${mode}: ${res.text}`);
    sent.push({ id: ce.id, tenant });
  }
  const old = v01('order.placed', { extensions: { Tenant: 'acme' } });
  await emit(old);
  sent.push({ id: old.eventID, tenant: 'acme' });
  const deadline = Date.now() + 10000;
  for (const { id } of sent) {
    while (!gotIt(fns.allFn, id)) {
      assert.ok(Date.now() < deadline, `allFn did not get ${id}`);
      await sleep(25);
    }
  }
  const want = sent.filter((e) => e.tenant === 'acme').map((e) => e.id);
  while (!want.every((id) => gotIt(fns.tenantFn, id))) {
    assert.ok(Date.now() < deadline, 'tenantFn did not get every acme event');
    await sleep(25);
  }
  await sleep(300);
  for (const { id, tenant } of sent) {
    assert.equal(gotIt(fns.tenantFn, id), tenant === 'acme', `tenantFn and ${tenant} event ${id}`);
  }
}));

test('"*" does not catch http.request events', g(async () => {
  const before = fns.allFn.calls.length;
  const res = await ref.gw.events('POST', '/plain', { body: { hello: 'world' } });
  assert.equal(res.status, 200, res.text);
  await fns.plainFn.waitForCalls(1);
  // A marker event after the request: once "*" has it, a stray http.request
  // delivery would have had its chance as well.
  const marker = v01('order.placed');
  await emit(marker);
  const deadline = Date.now() + 10000;
  while (!gotIt(fns.allFn, marker.eventID)) {
    assert.ok(Date.now() < deadline, 'marker not delivered');
    await sleep(25);
  }
  await sleep(300);
  const extra = fns.allFn.calls.slice(before).filter((c) => callId(c) !== marker.eventID);
  assert.deepEqual(extra.map((c) => c.text), []);
}));

// ---- Configuration API ----

test('a filter is echoed by create, get and list, normalized', g(async () => {
  const gw = ref.gw;
  const created = await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'plainFn',
    filter: { suffix: { subject: '.pdf' }, exact: { source: '/billing', invoiceid: 'x' } } });
  const want = { exact: { source: '/billing', invoiceid: 'x' }, suffix: { subject: '.pdf' } };
  assert.deepEqual(created.filter, want);
  assert.deepEqual(Object.keys(created.filter), ['exact', 'suffix']);
  const got = await gw.config('GET', `${SUBS}/${created.subscriptionId}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.json.filter, want);
  const list = await gw.config('GET', SUBS);
  assert.equal(list.status, 200, list.text);
  const listed = list.json.subscriptions.find((s) => s.subscriptionId === created.subscriptionId);
  assert.deepEqual(listed.filter, want);
  // Stored as readable JSON text.
  const row = sqlite(gw.dbPath,
    `select filter from subscriptions where subscription_id = '${created.subscriptionId}'`).trim();
  assert.deepEqual(JSON.parse(row), want);
  const del = await gw.config('DELETE', `${SUBS}/${created.subscriptionId}`);
  assert.equal(del.status, 204, del.text);
}));

test('without a filter the bodies are exactly the reference ones', g(async () => {
  const gw = ref.gw;
  const created = await gw.subscribe({ type: 'async', eventType: 'user.deleted', functionId: 'plainFn',
    filter: null });
  assert.deepEqual(Object.keys(created).sort(),
    ['eventType', 'functionId', 'method', 'path', 'space', 'subscriptionId', 'type']);
  const list = await gw.config('GET', SUBS);
  for (const s of list.json.subscriptions) {
    if (!['exactFn', 'pngFn', 'shopFn', 'tenantFn'].includes(s.functionId)) {
      assert.equal('filter' in s, false, `unexpected filter in ${JSON.stringify(s)}`);
    }
  }
  await gw.config('DELETE', `${SUBS}/${created.subscriptionId}`);
}));

test('an update replaces the filter, and one without a filter removes it', g(async () => {
  const gw = ref.gw;
  const created = await gw.subscribe({ type: 'async', eventType: 'user.deleted', functionId: 'plainFn',
    filter: { exact: { source: '/a' } } });
  const base = { type: 'async', eventType: 'user.deleted', functionId: 'plainFn', path: '/', method: 'POST' };
  let r = await gw.config('PUT', `${SUBS}/${created.subscriptionId}`,
    { ...base, filter: { prefix: { source: '/b' } } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.filter, { prefix: { source: '/b' } });
  r = await gw.config('GET', `${SUBS}/${created.subscriptionId}`);
  assert.deepEqual(r.json.filter, { prefix: { source: '/b' } });
  r = await gw.config('PUT', `${SUBS}/${created.subscriptionId}`, { ...base, filter: { prefix: {} } });
  assert.equal(r.status, 400, r.text);
  r = await gw.config('PUT', `${SUBS}/${created.subscriptionId}`, base);
  assert.equal(r.status, 200, r.text);
  assert.equal('filter' in r.json, false, r.text);
  await gw.config('DELETE', `${SUBS}/${created.subscriptionId}`);
}));

test('wrong filter shapes get 400 naming the problem', g(async () => {
  const base = { type: 'async', eventType: 'user.deleted', functionId: 'plainFn' };
  const cases = [
    [{ filter: 'source=/crm' }, /field 'filter' must be an object/],
    [{ filter: [] }, /field 'filter' must be an object/],
    [{ filter: {} }, /at least one condition/],
    [{ filter: { equals: { source: 'x' } } }, /field 'filter.equals' is unknown/],
    [{ filter: { exact: 'x' } }, /field 'filter.exact' must be an object/],
    [{ filter: { prefix: {} } }, /field 'filter.prefix' must name at least one attribute/],
    [{ filter: { exact: { Source: 'x' } } }, /"Source" is not a CloudEvents attribute name/],
    [{ filter: { exact: { 'extensions.foo': 'x' } } }, /is not a CloudEvents attribute name/],
    [{ filter: { exact: { data: 'x' } } }, /field 'filter.exact.data'/],
    [{ filter: { exact: { source: 5 } } }, /field 'filter.exact.source' must be a string/],
    [{ filter: { suffix: { subject: '' } } }, /field 'filter.suffix.subject' must not be empty/],
    [{ type: 'sync', method: 'GET', path: '/f', eventType: 'http.request', filter: { exact: { source: 'x' } } },
      /field 'filter' is allowed on async subscriptions only/],
  ];
  for (const [extra, re] of cases) {
    const r = await ref.gw.config('POST', SUBS, { ...base, ...extra });
    assert.equal(r.status, 400, `${JSON.stringify(extra)}: ${r.status} ${r.text}`);
    assertErrorBody(r, JSON.stringify(extra));
    assert.match(r.json.errors[0].message, /^Subscription doesn't validate\. Validation error: /);
    assert.match(r.json.errors[0].message, re, JSON.stringify(extra));
  }
  // Duplicate keys cannot be written with JSON.stringify.
  const r = await request(`${ref.gw.configUrl}${SUBS}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: '{"type":"async","eventType":"user.deleted","functionId":"plainFn",' +
      '"filter":{"exact":{"source":"a","source":"b"}}}',
  });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.errors[0].message, /field 'filter.exact.source' is given twice/);
}));

test('type patterns: registered like event types, async only, validated', g(async () => {
  const gw = ref.gw;
  let r = await gw.config('POST', SUBS, { type: 'async', eventType: 'order.*', functionId: 'plainFn' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.errors[0].message, /Event Type "order\.\*" not found\./);
  r = await gw.config('POST', SUBS, { type: 'sync', eventType: 'user.*', functionId: 'plainFn',
    method: 'GET', path: '/pattern' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.errors[0].message, /'eventType' may be a pattern on async subscriptions only/);
  for (const bad of ['*.created', 'user*', 'user..*', 'us er.*', '**']) {
    r = await gw.config('POST', SUBS, { type: 'async', eventType: bad, functionId: 'plainFn' });
    assert.equal(r.status, 400, `${bad}: ${r.text}`);
    assert.match(r.json.errors[0].message, /field 'eventType' may only contain .* or be a pattern/);
    r = await gw.config('POST', '/v1/spaces/default/eventtypes', { name: bad });
    assert.equal(r.status, 400, `event type ${bad}: ${r.text}`);
  }
  r = await gw.config('POST', '/v1/spaces/default/eventtypes', { name: 'order.*', authorizerId: 'plainFn' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.errors[0].message, /pattern cannot have an 'authorizerId'/);
  r = await gw.config('PUT', '/v1/spaces/default/eventtypes/user.*', { authorizerId: 'plainFn' });
  assert.equal(r.status, 400, r.text);
  assert.match(r.json.errors[0].message, /pattern cannot have an 'authorizerId'/);
  // The pattern's event type cannot go while a subscription uses it.
  r = await gw.config('DELETE', '/v1/spaces/default/eventtypes/user.*');
  assert.equal(r.status, 400, r.text);
  r = await gw.config('GET', '/v1/spaces/default/eventtypes/user.*');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.name, 'user.*');
}));

test('a filter added by hand in the database applies after the reload', g(async () => {
  const gw = ref.gw;
  const created = await gw.subscribe({ type: 'async', eventType: 'order.placed', functionId: 'plainFn' });
  sqlite(gw.dbPath, `update subscriptions set filter = '{"exact":{"source":"/hand"}}'` +
    ` where subscription_id = '${created.subscriptionId}'`);
  const r = await gw.config('GET', `${SUBS}/${created.subscriptionId}`);
  assert.deepEqual(r.json.filter, { exact: { source: '/hand' } });
  // The router rereads the database within a second. Until then both events
  // of a round are delivered; once the filter is live, only the matching one.
  const deadline = Date.now() + 10000;
  for (;;) {
    const miss = v01('order.placed', { source: '/not-hand' });
    const hand = v01('order.placed', { source: '/hand' });
    await emit(miss);
    await emit(hand);
    while (!gotIt(fns.plainFn, hand.eventID)) {
      assert.ok(Date.now() < deadline, 'matching event not delivered');
      await sleep(25);
    }
    await sleep(200);
    if (!gotIt(fns.plainFn, miss.eventID)) break;
    assert.ok(Date.now() < deadline, 'hand-written filter never applied');
    await sleep(200);
  }
  await gw.config('DELETE', `${SUBS}/${created.subscriptionId}`);
}));

logsCleanTest(ref);
