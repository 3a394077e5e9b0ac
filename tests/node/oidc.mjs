// A real OpenID provider for tests/it/oidc.rs: the certified oidc-provider on a loopback port,
// issuing JWT access tokens through its client_credentials grant (as a Keycloak service account
// does), with Keycloak-shaped claims: realm_access.roles, a jaminan_scope attribute, a name.
//
//   node oidc.mjs AUDIENCE [TTL]
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

function makeProvider() {
  const signing = { RS256: rsaKeys[0].kid, ES256: ec.kid };
  const made = new Provider(issuer, {
    clients: Object.keys(people).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    jwks: { keys: [...rsaKeys.map((k) => k.jwk), ec.jwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource, client) => {
          if (resource !== audience && resource !== otherAudience) throw new errors.InvalidTarget();
          const { alg } = people[client.clientId];
          return {
            scope: 'api',
            audience: resource,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg, kid: signing[alg] } },
          };
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const person = people[token.clientId];
      return { realm_access: { roles: person.roles }, jaminan_scope: person.scope, name: person.name };
    },
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
  provider(req, res);
});

console.log(describe());
// The test owns this process: it ends when the test closes stdin (or kills it).
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
