// A real OpenID provider for tests/it/oidc.rs: the certified oidc-provider on a loopback port,
// issuing JWT access tokens through its client_credentials grant (as a Keycloak service account
// does), with Keycloak-shaped claims: realm_access.roles, a jaminan_scope attribute, a name.
//
//   node oidc.mjs AUDIENCE [TTL [PAGES_ORIGIN]]
//
// With PAGES_ORIGIN (the server's `http://127.0.0.1:PORT`), also the public client
// `jaminan-pages` that the server's pages sign people in with (tests/it/signin.rs): Authorization
// Code with PKCE back to GraphiQL, /dashboard and /import, refresh tokens as Keycloak gives a
// standard-flow client, and access tokens of PAGES_TOKEN_SECONDS so that a test sees them
// renewed. Its people sign in on oidc-provider's built-in login form with their key in `people`
// as the login (any password). `GET /grants` counts the tokens issued, by grant type.
//
// TTL: the access tokens' lifetime in seconds (300 by default; a few seconds for the tests of
// subscriptions that end when their token expires).
// Prints one JSON line when it listens: the issuer and, for the test to craft tokens the server
// must refuse, the private keys (PKCS#1 DER for RSA, PKCS#8 DER for EC, base64) and the RSA
// public key as PEM. `POST /rotate` publishes a new RSA key first, signs with it from then on
// (keeping the old one published), and answers with the same JSON.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const audience = process.argv[2] ?? 'https://jaminan.test';
const otherAudience = 'https://other-app.test';
const accessTokenTTL = Number(process.argv[3] ?? 300);
const pagesOrigin = process.argv[4];
const PAGES_CLIENT = 'jaminan-pages';
const PAGES_TOKEN_SECONDS = 12;
const grants = {};

// Each test client is one "person" (a service account's claims, as Keycloak's mappers write them).
const people = {
  'desk-operator': { roles: ['offline_access', 'operator'], scope: '36.03', name: 'Siti Rahayu', alg: 'RS256' },
  'desk-supervisor': { roles: ['SUPERVISOR', 'default-roles-jaminan'], scope: ['36.03'], name: 'Budi Santoso', alg: 'ES256' },
  'national-viewer': { roles: ['viewer'], scope: 'ID', name: 'Dewi Lestari', alg: 'ES256' },
  'central-admin': { roles: ['admin'], name: 'Agus Wijaya', alg: 'RS256' },
  'no-role': { roles: ['offline_access'], scope: '36.03', name: 'Tanpa Peran', alg: 'RS256' },
  'bad-scope': { roles: ['viewer'], scope: '99.99', name: 'Salah Wilayah', alg: 'RS256' },
};

function rsaKey() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = `rsa-${crypto.randomUUID()}`;
  return {
    jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' },
    kid,
    der: privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
    pem: publicKey.export({ type: 'spki', format: 'pem' }),
  };
}

function ecKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `ec-${crypto.randomUUID()}`;
  return {
    jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' },
    kid,
    der: privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
  };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const ec = ecKey();
let rsaKeys = [rsaKey()]; // the first signs
let provider = makeProvider();

function pagesClient() {
  return {
    client_id: PAGES_CLIENT,
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['/graphql', '/graphiql', '/dashboard', '/import'].map((path) => pagesOrigin + path),
    token_endpoint_auth_method: 'none',
  };
}

function makeProvider() {
  const signing = { RS256: rsaKeys[0].kid, ES256: ec.kid };
  const serviceAccounts = Object.keys(people).map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  }));
  const made = new Provider(issuer, {
    clients: pagesOrigin ? [...serviceAccounts, pagesClient()] : serviceAccounts,
    jwks: { keys: [...rsaKeys.map((k) => k.jwk), ec.jwk] },
    findAccount: (_ctx, id) => people[id] && { accountId: id, claims: () => ({ sub: id, name: people[id].name }) },
    claims: { openid: ['sub'], profile: ['name'] },
    // As Keycloak does for a standard-flow client, without asking for offline_access.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      // The built-in login and consent forms, filled in by the test's browser.
      devInteractions: { enabled: Boolean(pagesOrigin) },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== audience && resource !== otherAudience) throw new errors.InvalidTarget();
          const alg = people[client.clientId]?.alg ?? 'RS256';
          return {
            scope: 'api',
            audience: resource,
            accessTokenTTL: client.clientId === PAGES_CLIENT ? PAGES_TOKEN_SECONDS : accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid: signing[alg] } },
          };
        },
      },
    },
    // A signed-in person's claims (accountId), else the service account's.
    extraTokenClaims: (_ctx, token) => {
      const person = people[token.accountId ?? token.clientId];
      return { realm_access: { roles: person.roles }, jaminan_scope: person.scope, name: person.name };
    },
  });
  made.on('grant.success', (ctx) => {
    const type = ctx.oidc.params.grant_type;
    grants[type] = (grants[type] ?? 0) + 1;
  });
  return made.callback();
}

function describe() {
  const rsa = rsaKeys[0];
  return JSON.stringify({
    issuer,
    audience,
    otherAudience,
    rsa: { kid: rsa.kid, der: rsa.der, pem: rsa.pem },
    ec: { kid: ec.kid, der: ec.der },
  });
}

server.on('request', (req, res) => {
  if (req.method === 'POST' && req.url === '/rotate') {
    rsaKeys = [rsaKey(), ...rsaKeys];
    provider = makeProvider();
    res.setHeader('content-type', 'application/json');
    res.end(describe());
    return;
  }
  if (req.method === 'GET' && req.url === '/grants') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(grants));
    return;
  }
  provider(req, res);
});

console.log(describe());
// The test reads that one line and closes its end: whatever else would go to stdout (the
// interactions log there) goes to stderr, or writing it would end this process (EPIPE).
console.log = console.info = console.error;
process.stdout.on('error', () => {});
// The test owns this process: it ends when the test closes stdin (or kills it).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
