// Two real OpenID Connect providers (panva/oidc-provider) on loopback for the sign-in tests.
//
// Configuration comes as JSON in OP_CONFIG:
//   {"app": "http://127.0.0.1:8123", "providers": [{"name": "alpha", "port": 8124}, ...]}
// Each provider is its own issuer (http://127.0.0.1:<port>) with:
//   - the client "tongxin" (secret "tongxin-secret-<name>") redirecting to <app>/oidc/<name>/callback,
//   - the client "other-app" (secret "other-secret-<name>"), a different audience for the tests,
//   - the users of USERS below (sign in with their subject as login, any password:
//     oidc-provider's development interactions).
// POST /__rotate on a provider's port replaces its signing key (a new "kid") so the tests can
// check that the app refetches the JWKS on an unknown key id.
// Prints "ready" on stdout once every provider listens.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.env.OP_CONFIG);

// Both providers know a user "alice" with the same e-mail address: the app must keep them apart.
const USERS = {
  alpha: {
    alice: { email: 'shared@example.org', email_verified: true, name: '王丽 (alpha)' },
    bob: { email: 'bob@alpha.example.org', email_verified: true, name: '陈波' },
  },
  beta: {
    alice: { email: 'shared@example.org', email_verified: true, name: '王丽 (beta)' },
    carol: { email: 'carol@beta.example.org', email_verified: true, name: '赵可' },
  },
};

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function makeProvider({ name, port }) {
  const issuer = `http://127.0.0.1:${port}`;
  const users = USERS[name] ?? {};
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'tongxin',
        client_secret: `tongxin-secret-${name}`,
        redirect_uris: [`${config.app}/oidc/${name}/callback`],
        post_logout_redirect_uris: [`${config.app}/`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
      {
        client_id: 'other-app',
        client_secret: `other-secret-${name}`,
        redirect_uris: ['http://127.0.0.1:9/other/callback'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [signingKey()] },
    cookies: {
      keys: [randomUUID()],
      // Every provider and the app share the host 127.0.0.1: cookie names must differ.
      names: { session: `_op_${name}_session`, interaction: `_op_${name}_interaction`, resume: `_op_${name}_resume` },
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    async findAccount(ctx, id) {
      if (!Object.hasOwn(users, id)) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...users[id] }; } };
    },
  });
  return provider;
}

for (const spec of config.providers) {
  let current = makeProvider(spec);
  let handler = current.callback();
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/__rotate') {
      current = makeProvider(spec);
      handler = current.callback();
      res.writeHead(204).end();
      return;
    }
    handler(req, res);
  });
  await new Promise((resolve) => server.listen(spec.port, '127.0.0.1', resolve));
}
process.stdout.write('ready\n');
