// A real OpenID provider (npm oidc-provider) on 127.0.0.1, for the integration
// tests of OIDC sign-in (tests/oidc.rs). Its tokens are the provider's own,
// signed with its own asymmetric keys: the tests never mint one.
//
//   node provider.js '{"keys":[...],"clients":[...],"issuer":"..."}'
//
// It listens on a free port and prints that port alone on the first line of
// standard output. The configuration, one JSON argument:
//
// - keys: the signing keys to make, each {"kid": "...", "alg": "RS256" | "ES256"};
//   a key is made afresh at each start, so two providers never share one.
// - clients: each {"id", "secret", "alg", "ttl"}: a client of the
//   client_credentials grant, whose access tokens are JWTs (`typ: at+jwt`)
//   signed with `alg` and lasting `ttl` seconds, for the resource it asks for
//   (RFC 8707 resource indicators: `aud` is that resource). The token's `sub`
//   is the client's id: each client stands for one person.
// - web (optional): each {"id", "redirect"}: a public client of the authorisation
//   code flow with PKCE (no secret), as the pages of `ansinh serve` are; its
//   redirect is on loopback, any port (RFC 8252: a native client). People sign
//   in on the provider's own development pages: any login (it becomes the
//   token's `sub`) and any password, then a consent. Its access tokens are
//   JWTs signed RS256 for the resource asked for.
// - issuer (optional): the issuer it names itself, by default its own
//   http://127.0.0.1:PORT. Another provider's issuer makes a provider that
//   claims to be that one but signs with keys that one never published.
//
// Besides the provider's own routes (discovery, /jwks, /token), for the tests:
// - POST /__rotate {"kid", "alg"}: make a new key, sign with it from now on,
//   and publish it in the JWKS beside the old ones (a key rotated in).
// - GET /__stats: {"jwks": how many times the JWKS was fetched}.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? '{}');
const keys = (config.keys ?? []).map(makeKey);
const clients = config.clients ?? [];
const web = config.web ?? [];
let jwksFetches = 0;
const cookieKey = crypto.randomBytes(32).toString('hex');
let provider;
let handle;

function makeKey({ kid, alg }) {
  let pair;
  if (alg === 'RS256') {
    pair = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  } else if (alg === 'ES256') {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  } else {
    throw new Error(`keys: ${alg}: expected RS256 or ES256`);
  }
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function makeProvider(issuer) {
  const byId = new Map(clients.map((c) => [c.id, c]));
  const made = new Provider(issuer, {
    jwks: { keys },
    // Only for the provider's own cookies, which no test uses; made afresh at each start.
    cookies: { keys: [cookieKey] },
    clients: [
      ...clients.map((c) => ({
        client_id: c.id,
        client_secret: c.secret,
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: [],
        response_types: [],
      })),
      ...web.map((c) => ({
        client_id: c.id,
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        redirect_uris: [c.redirect],
      })),
    ],
    pkce: { required: () => true },
    features: {
      clientCredentials: { enabled: true },
      // The provider's own sign-in and consent pages, for the pages' browser tests.
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Any resource a client asks for is a resource server whose audience is
        // the resource itself: a test can ask for the wrong one.
        getResourceServerInfo: (ctx, resource, client) => {
          const c = byId.get(client.clientId) ?? {};
          return {
            scope: 'api',
            audience: resource,
            accessTokenTTL: c.ttl ?? 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: c.alg ?? 'RS256' } },
          };
        },
      },
    },
  });
  made.on('server_error', (ctx, error) => process.stderr.write(`oidc-provider: ${error.stack}\n`));
  return made;
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = http.createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (req.method === 'POST' && path === '/__rotate') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      try {
        // The new key first: it is the one chosen to sign with.
        keys.unshift(makeKey(JSON.parse(body)));
        provider = makeProvider(provider.issuer);
        handle = provider.callback();
        json(res, 200, { kids: keys.map((k) => k.kid) });
      } catch (error) {
        json(res, 400, { error: String(error) });
      }
    });
    return;
  }
  if (req.method === 'GET' && path === '/__stats') {
    json(res, 200, { jwks: jwksFetches });
    return;
  }
  if (path === '/jwks') {
    jwksFetches += 1;
  }
  handle(req, res);
});

// The test reads the first line only and closes its end: whatever the provider
// prints later (its development pages log to standard output) must not end it.
process.stdout.on('error', () => {});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  provider = makeProvider(config.issuer ?? `http://127.0.0.1:${port}`);
  handle = provider.callback();
  process.stdout.write(`${port}\n`);
});

// Ended by the test that started it; and should that test's process die, when
// its standard input closes.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
