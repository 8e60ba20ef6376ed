// README.md's walkthrough, run as written: every curl line between the
// walkthrough markers goes through bash against a fresh gateway, with only
// the ports swapped for this test's (4000/4001 and the example functions'
// 3001-3003), then the README's sqlite3 line lists the subscriptions.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, test } = require('node:test');
const { startExampleFunctions, DEFAULT_PORTS } = require('../../deploy/example-functions.js');
const { ROOT, logsCleanTest, run, sleep, useGateway, withLogs } = require('./harness.js');

const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const USER = { id: '10', firstName: 'Donald', lastName: 'Duck', email: 'donald.duck@disney.com' };

let fns;
const ref = useGateway({}, async (gw) => {
  fns = await startExampleFunctions({ eventsUrl: gw.eventsUrl });
});
after(async () => {
  if (fns) await fns.close();
});

function walkthroughLines() {
  const m = /<!-- walkthrough:start -->([\s\S]*?)<!-- walkthrough:end -->/.exec(README);
  assert.ok(m, 'README.md has the walkthrough markers');
  return m[1].split('\n').filter((l) => l.startsWith('curl '));
}

function localize(line, gw) {
  let out = line
    .replaceAll('localhost:4000', `127.0.0.1:${gw.eventsPort}`)
    .replaceAll('localhost:4001', `127.0.0.1:${gw.configPort}`);
  for (const [name, port] of Object.entries(DEFAULT_PORTS)) {
    out = out.replaceAll(`http://127.0.0.1:${port}/`, fns.urls[name]);
  }
  return out;
}

test('the README registers each example function at its default port', () => {
  for (const [name, port] of Object.entries(DEFAULT_PORTS)) {
    assert.ok(README.includes(`"functionId":"${name}","type":"http","provider":{"url":"http://127.0.0.1:${port}/"}`),
      `README registers ${name} at http://127.0.0.1:${port}/`);
  }
});

test('the README walkthrough curl lines work as written', withLogs(() => ref.gw, async () => {
  const gw = ref.gw;
  const lines = walkthroughLines();
  assert.equal(lines.length, 10, 'two event types, three functions, three subscriptions, two requests');
  const outputs = [];
  for (const line of lines) {
    const cmd = localize(line, gw);
    const r = await run('bash', ['-c', `${cmd} --max-time 20 --fail-with-body`], { timeoutMs: 30000 });
    assert.equal(r.code, 0, `${line}\n-> exit ${r.code}: ${r.stdout}${r.stderr}`);
    outputs.push(r.stdout);
  }
  for (const out of outputs.slice(0, 8)) {
    const body = JSON.parse(out);
    assert.ok(!body.errors, `configuration call failed: ${out}`);
  }
  assert.deepEqual(JSON.parse(outputs[8]), USER, 'curl -X POST localhost:4000/users prints the user');
  assert.deepEqual(JSON.parse(outputs[9]), USER, 'curl localhost:4000/users/10 prints the user');
  assert.equal(fns.received.getUser[0].event.data.params.id, '10');

  const deadline = Date.now() + 5000;
  while (fns.received.emailUser.length === 0 && Date.now() < deadline) await sleep(25);
  assert.equal(fns.received.emailUser.length, 1, 'emailUser got user.created');
  assert.deepEqual(fns.received.emailUser[0].event.data, USER);
}));

test("the README's sqlite3 line lists the walkthrough subscriptions", withLogs(() => ref.gw, async () => {
  const m = /^sqlite3 data\/egw\.db '(.*)'$/m.exec(README);
  assert.ok(m, 'README has the sqlite3 line');
  const r = await run('sqlite3', [ref.gw.dbPath, m[1]], { timeoutMs: 15000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').sort(), [
    'default|http.request|createUser|POST|/users',
    'default|http.request|getUser|GET|/users/:id',
    'default|user.created|emailUser|POST|/',
  ]);
}));

logsCleanTest(ref);
