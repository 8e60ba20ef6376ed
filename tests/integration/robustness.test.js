// Broken input from every side, and proof that every process keeps serving:
// garbage ZeroMQ frames sent straight to the router's frontend and backend
// sockets (through a minimal ZMTP peer, see zmtp.js), and malformed HTTP to
// both APIs. No process may restart: supervisord's pids must not change.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { after, test } = require('node:test');
const { startExampleFunctions } = require('../../deploy/example-functions.js');
const { assertErrorBody, logsCleanTest, sleep, useGateway, withLogs } = require('./harness.js');
const { ZmtpDealer, mpEncode, mpDecode } = require('./zmtp.js');

let fns;
let pidsBefore;
const USER = { id: '7', firstName: 'Daisy', lastName: 'Duck', email: 'daisy@disney.com' };

const ref = useGateway({}, async (gw) => {
  fns = await startExampleFunctions({ eventsUrl: gw.eventsUrl });
  await gw.createEventType('http.request');
  await gw.createEventType('user.created');
  for (const name of ['getUser', 'createUser', 'emailUser']) await gw.createFunction(name, fns.urls[name]);
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'getUser', method: 'GET', path: '/users/:id' });
  await gw.subscribe({ type: 'sync', eventType: 'http.request', functionId: 'createUser', method: 'POST', path: '/users' });
  await gw.subscribe({ type: 'async', eventType: 'user.created', functionId: 'emailUser' });
  pidsBefore = gw.processes();
});
after(async () => {
  if (fns) await fns.close();
});

const g = (f) => withLogs(() => ref.gw, f);

// The gateway still answers sync and async traffic, and no process restarted.
async function assertStillServing(what) {
  const gw = ref.gw;
  const id = crypto.randomUUID().slice(0, 8);
  const user = { ...USER, id };
  const created = await gw.events('POST', '/users', { body: user });
  assert.equal(created.status, 200, `${what}: POST /users ${created.status} ${created.text}`);
  const got = await gw.events('GET', `/users/${id}`);
  assert.equal(got.status, 200, `${what}: GET /users/${id} ${got.status} ${got.text}`);
  assert.deepEqual(JSON.parse(got.text), user);
  const deadline = Date.now() + 5000;
  while (!fns.received.emailUser.some((r) => r.event.data && r.event.data.id === id)) {
    assert.ok(Date.now() < deadline, `${what}: user.created for ${id} not delivered within 5 s`);
    await sleep(25);
  }
  const status = await gw.config('GET', '/v1/status');
  assert.equal(status.status, 200, `${what}: /v1/status`);
  const now = gw.processes();
  for (const [name, p] of Object.entries(pidsBefore)) {
    assert.equal(now[name] && now[name].state, 'RUNNING', `${what}: ${name} is ${now[name] && now[name].state}`);
    assert.equal(now[name].pid, p.pid, `${what}: ${name} restarted (pid ${p.pid} -> ${now[name].pid})`);
  }
}

// Frames no egw process sends. Each case goes over a fresh connection, since
// the router may rightly drop a peer that sends nonsense.
function garbageCases() {
  const nest = Buffer.alloc(100000, 0x91); // an array inside an array ... 100000 deep
  const hugeStr = Buffer.from([0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61]); // str32 claiming 4 GB
  const rnd = crypto.randomBytes(1 << 20);
  return [
    ['a reserved msgpack byte', [Buffer.from([0xc1])]],
    ['one empty frame', [Buffer.alloc(0)]],
    ['two empty frames', [Buffer.alloc(0), Buffer.alloc(0)]],
    ['five frames', [mpEncode({ v: 1, t: 1 }), Buffer.from('a'), Buffer.from('b'), Buffer.from('c'), Buffer.from('d')]],
    ['header that is an array', [mpEncode([1, 2, 3]), Buffer.from('x')]],
    ['header that is a string', [mpEncode('EVENT'), Buffer.from('x')]],
    ['wrong protocol version', [mpEncode({ v: 99, t: 1, corr: 1 }), Buffer.from('x')]],
    ['unknown message type', [mpEncode({ v: 1, t: 77, corr: 1 }), Buffer.from('x')]],
    ['missing type', [mpEncode({ v: 1, corr: 1 }), Buffer.from('x')]],
    ['fields of the wrong types', [mpEncode({ v: 1, t: 1, corr: 'abc', method: 5, path: true, et: [1] }), Buffer.from('x')]],
    ['a negative correlation id', [mpEncode({ v: 1, t: 1, corr: -1, method: 'GET', path: '/', et: 'http.request' }), Buffer.from('x')]],
    ['a 4 GB string length in a 6-byte frame', [hugeStr, Buffer.from('x')]],
    ['100000 nested arrays', [nest, Buffer.from('x')]],
    ['1 MiB of random bytes', [rnd, rnd.subarray(0, 1000)]],
    ['a truncated header', [mpEncode({ v: 1, t: 1, corr: 5, method: 'GET' }).subarray(0, 9), Buffer.from('x')]],
  ];
}

async function sendAll(port, cases) {
  for (const [what, frames] of cases) {
    const peer = await ZmtpDealer.connect('127.0.0.1', port).catch((err) => {
      throw new Error(`before "${what}": cannot connect to the router on ${port}: ${err.message}`);
    });
    peer.send(frames);
    await sleep(20);
    await peer.close();
  }
}

test('garbage frames on the router frontend (ingress side)', g(async () => {
  const gw = ref.gw;
  await sendAll(gw.frontend.port, [
    ...garbageCases(),
    ['a REPLY sent the wrong way', [mpEncode({ v: 1, t: 2, corr: 1, status: 200 }), Buffer.from('x')]],
    ['a READY on the wrong socket', [mpEncode({ v: 1, t: 3, cap: 10, name: 'lost' }), Buffer.alloc(0)]],
  ]);
  await assertStillServing('after frontend garbage');
}));

test('an EVENT with a broken payload frame gets a 500 REPLY, and the worker survives', g(async () => {
  const gw = ref.gw;
  const peer = await ZmtpDealer.connect('127.0.0.1', gw.frontend.port);
  try {
    const hdr = { v: 1, t: 1, corr: 4242, method: 'GET', path: '/users/7', et: 'http.request', eid: 'broken-1' };
    peer.send([mpEncode(hdr), Buffer.from([0x82, 0xa1, 0x76, 0x01, 0xc1, 0xff, 0x00])]);
    const reply = await peer.recv(15000);
    assert.ok(reply, 'the router answered the EVENT');
    assert.equal(reply.length, 2, 'REPLY is two frames');
    const h = mpDecode(reply[0]);
    assert.equal(h.t, 2, `a REPLY: ${JSON.stringify(h)}`);
    assert.equal(h.corr, 4242);
    assert.ok(h.status >= 400, `an error status, got ${h.status}`);
    assert.equal(fns.received.getUser.filter((r) => r.event.data.path === '/users/7').length, 0,
      'the function was not called with garbage');
  } finally {
    await peer.close();
  }
  await assertStillServing('after a broken payload');
}));

test('garbage frames on the router backend (worker side)', g(async () => {
  const gw = ref.gw;
  await sendAll(gw.backend.port, [
    ...garbageCases(),
    ['a RESULT for a job that does not exist', [mpEncode({ v: 1, t: 5, job: 987654321, ok: true, status: 200 }), Buffer.from('{}')]],
    ['a RESULT with fields of the wrong types', [mpEncode({ v: 1, t: 5, job: 'one', ok: 'yes', status: 'OK' }), Buffer.from('{}')]],
    ['a READY with a capacity that is a string', [mpEncode({ v: 1, t: 3, cap: 'lots', name: 'evil' }), Buffer.alloc(0)]],
    ['a JOB sent the wrong way', [mpEncode({ v: 1, t: 4, job: 1, sync: true, fid: 'getUser' }), Buffer.from('x')]],
  ]);
  await assertStillServing('after backend garbage');
}));

test('raw HTTP garbage on the Events API and the Configuration API', g(async () => {
  const gw = ref.gw;
  const junk = [
    'NOT HTTP AT ALL\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'POST /users HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc',
    `GET /${'a'.repeat(70000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    'POST /users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n',
    Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00]).toString('latin1'), // a TLS hello
  ];
  for (const port of [gw.eventsPort, gw.configPort]) {
    for (const text of junk) {
      await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => s.end(Buffer.from(text, 'latin1')));
        s.on('data', () => {});
        s.on('error', resolve);
        s.on('close', resolve);
        s.setTimeout(3000, () => s.destroy());
      });
    }
  }
  await assertStillServing('after raw HTTP garbage');
}));

test('malformed JSON and wrong field types are 400s that change nothing', g(async () => {
  const gw = ref.gw;
  const bad = [
    ['POST', '/v1/spaces/default/functions', '{"functionId": "x", "type": "http", "provider": {"url": '],
    ['POST', '/v1/spaces/default/functions', '{"functionId": ["x"], "type": "http", "provider": {"url": "http://127.0.0.1:1/"}}'],
    ['POST', '/v1/spaces/default/subscriptions', '{"type": "sync", "eventType": null, "functionId": "getUser"}'],
    ['POST', '/v1/spaces/default/eventtypes', '\u0000\u0001\u0002'],
    ['PUT', '/v1/spaces/default/functions/getUser', '{"type": "http", "provider": {"url": false}}'],
  ];
  for (const [method, p, body] of bad) {
    const res = await gw.config(method, p, body, { headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 400, `${method} ${p} ${body}: ${res.status} ${res.text}`);
    assertErrorBody(res, `${method} ${p}`);
  }
  const fn = await gw.config('GET', '/v1/spaces/default/functions/getUser');
  assert.deepEqual(fn.json.provider, { url: fns.urls.getUser }, 'the failed PUT changed nothing');
  const malformedEvent = await gw.events('POST', '/', {
    headers: { 'Content-Type': 'application/cloudevents+json' }, body: '{"eventType":',
  });
  assert.equal(malformedEvent.status, 400);
  assertErrorBody(malformedEvent, 'malformed CloudEvent');
  await assertStillServing('after malformed JSON');
}));

logsCleanTest(ref);
