#!/usr/bin/env node
// The README walkthrough's three functions, as plain HTTP endpoints on
// 127.0.0.1: getUser (sync GET /users/:id), createUser (sync POST /users,
// which also emits user.created to the Events API) and emailUser (async on
// user.created). Run it with `node deploy/example-functions.js`; the
// integration tests import startExampleFunctions() and use random ports.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

// Starts the three functions. options: eventsUrl (where createUser emits
// user.created), ports {getUser, createUser, emailUser} (0 = any free port),
// log (a function for one line of text, or null for silence).
async function startExampleFunctions({ eventsUrl = 'http://127.0.0.1:4000', ports = {}, log = null } = {}) {
  const users = new Map();
  const received = { getUser: [], createUser: [], emailUser: [] };
  const say = log || (() => {});

  const handlers = {
    // data.params.id comes from the subscription path /users/:id.
    async getUser(event) {
      const id = event.data && event.data.params && event.data.params.id;
      const user = users.get(id);
      if (!user) return { statusCode: 404, body: JSON.stringify({ error: `no user ${id}` }) };
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(user) };
    },

    // data.body is the request's JSON body, already parsed by the gateway.
    async createUser(event) {
      const user = event.data && event.data.body;
      if (!user || typeof user !== 'object' || typeof user.id !== 'string') {
        return { statusCode: 400, body: JSON.stringify({ error: 'body must be a user with a string id' }) };
      }
      users.set(user.id, user);
      const created = {
        cloudEventsVersion: '0.1',
        eventType: 'user.created',
        eventID: crypto.randomUUID(),
        eventTime: new Date().toISOString(),
        source: 'example-functions/createUser',
        contentType: 'application/json',
        data: user,
      };
      try {
        const res = await fetch(eventsUrl, {
          method: 'POST',
          headers: { 'Content-Type': 'application/cloudevents+json' },
          body: JSON.stringify(created),
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        say(`createUser: emitted user.created ${created.eventID} -> ${res.status}`);
      } catch (err) {
        say(`createUser: could not emit user.created: ${err.message}`);
      }
      return { statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(user) };
    },

    async emailUser(event) {
      const user = event.data || {};
      say(`emailUser: sending a welcome email to ${user.email}`);
      return { statusCode: 200, body: 'sent' };
    },
  };

  const servers = [];
  const urls = {};
  for (const name of Object.keys(handlers)) {
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', async () => {
        let event;
        try {
          event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ error: 'expected a CloudEvent in JSON' }));
          return;
        }
        received[name].push({ headers: req.headers, event });
        say(`${name}: ${event.eventType} ${event.eventID}`);
        const reply = await handlers[name](event);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(reply));
      });
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[name] || 0, '127.0.0.1', resolve);
    });
    servers.push(server);
    urls[name] = `http://127.0.0.1:${server.address().port}/`;
  }

  return {
    urls,
    users,
    received,
    close() {
      return Promise.all(servers.map((s) => {
        s.closeAllConnections();
        return new Promise((resolve) => s.close(resolve));
      }));
    },
  };
}

// The ports the README walkthrough registers.
const DEFAULT_PORTS = { getUser: 3001, createUser: 3002, emailUser: 3003 };

module.exports = { startExampleFunctions, DEFAULT_PORTS };

if (require.main === module) {
  const eventsUrl = process.env.EVENTS_URL || 'http://127.0.0.1:4000';
  startExampleFunctions({
    eventsUrl,
    ports: DEFAULT_PORTS,
    log: (line) => console.log(line),
  }).then((fns) => {
    for (const [name, url] of Object.entries(fns.urls)) console.log(`${name} listening on ${url}`);
    console.log(`createUser emits user.created to ${eventsUrl}; Ctrl-C stops`);
  }, (err) => {
    console.error(`example-functions: ${err.message}`);
    process.exit(1);
  });
}
