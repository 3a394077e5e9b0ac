// The real graphql-ws client against a running server: `node ws.mjs <ws url of /graphql>
// <unknown key> <valid key>`. With the unknown key, the connection must close with 4401
// (Unauthorized), which graphql-ws does not retry: exactly one connection attempt (a 4403 is
// retried, six attempts per subscription with the default five retries, each one counted by the
// server against the address's wrong-key budget). With the valid key the client connects (so a
// failure above is not a client that cannot connect at all). Prints a JSON line per case; exits
// 1 when any case fails.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, unknownKey, validKey] = process.argv.slice(2);
if (!url || !unknownKey || !validKey) {
  console.error('usage: node ws.mjs <url> <unknown key> <valid key>');
  process.exit(2);
}

const SUBSCRIPTION = 'subscription { coverageStatsChanged(year: 2024) { year } }';

/** Connects with `key`; resolves with how the client ended, and how many sockets it opened. */
async function attempt(key, { untilConnected }) {
  let attempts = 0;
  class CountingWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      attempts += 1;
    }
  }
  let closeCode = null;
  let connected = false;
  const client = createClient({
    url,
    webSocketImpl: CountingWebSocket,
    connectionParams: { Authorization: `Bearer ${key}` },
    // The defaults (five retries), waiting little between them: a retried close shows at once.
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
    on: {
      closed: (event) => {
        closeCode = event?.code ?? closeCode;
      },
      connected: () => {
        connected = true;
      },
    },
  });
  const ended = new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), 10_000);
    const done = (how) => {
      clearTimeout(timer);
      resolve(how);
    };
    client.subscribe(
      { query: SUBSCRIPTION },
      {
        next: () => untilConnected && done('next'),
        error: (error) => done(`error ${error?.code ?? error?.message ?? error}`),
        complete: () => done('complete'),
      },
    );
    if (untilConnected) {
      const poll = setInterval(() => {
        if (connected) {
          clearInterval(poll);
          done('connected');
        }
      }, 20);
    }
  });
  const how = await ended;
  // Time for a retry that would come after the error was reported.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await client.dispose();
  return { how, attempts, closeCode, connected };
}

let failed = false;
const unknown = await attempt(unknownKey, { untilConnected: false });
const unknownOk = unknown.closeCode === 4401 && unknown.attempts === 1 && !unknown.connected;
console.log(JSON.stringify({ case: 'unknown key', ok: unknownOk, ...unknown }));
failed ||= !unknownOk;

const valid = await attempt(validKey, { untilConnected: true });
const validOk = valid.connected && valid.attempts === 1;
console.log(JSON.stringify({ case: 'valid key', ok: validOk, ...valid }));
failed ||= !validOk;

process.exit(failed ? 1 : 0);
