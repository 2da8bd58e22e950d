// A real OpenID Provider for the single sign-on tests: npm `oidc-provider` (OpenID
// Certified), served over HTTPS on loopback with the test's certificate.
//
//   node provider.mjs <node_modules dir> <settings.json>
//
// settings.json: {"cert": PEM path, "key": PEM path, "host": "localhost",
//   "clients": [oidc-provider client metadata…],
//   "accounts": {"<id>": {claims…}} (read again at every login),
//   "pkce_methods": ["S256"], "conform_id_token_claims": true}
// Prints `listening <port>` once it serves. Logins use the library's development
// interactions (a login form taking any account id, then a consent form), which the
// test fills in by hand, as kanidm's tests drive their OAuth2 flows.
import { createRequire } from 'node:module';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { pathToFileURL } from 'node:url';

const [modules, settingsPath] = process.argv.slice(2);
const settings = JSON.parse(readFileSync(settingsPath, 'utf8'));
const require = createRequire(`${modules}/`);
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')));

// One signing key per algorithm family the tests use; clients pick with
// id_token_signed_response_alg.
const jwk = (pair, extra) => ({ ...pair.privateKey.export({ format: 'jwk' }), ...extra });
const keys = [
  jwk(generateKeyPairSync('rsa', { modulusLength: 2048 }), { kid: 'rsa-1', use: 'sig' }),
  jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }), { kid: 'ec-1', use: 'sig' }),
  jwk(generateKeyPairSync('ed25519'), { kid: 'ed-1', use: 'sig' }),
];

const server = https.createServer({
  cert: readFileSync(settings.cert),
  key: readFileSync(settings.key),
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const provider = new Provider(`https://${settings.host}:${port}`, {
    clients: settings.clients,
    jwks: { keys },
    cookies: { keys: ['rampart-test-cookie-key'] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    conformIdTokenClaims: settings.conform_id_token_claims ?? true,
    pkce: {
      methods: settings.pkce_methods ?? ['S256'],
      required: () => true,
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA', 'HS256'],
    },
    features: { devInteractions: { enabled: true } },
    // Accounts are read afresh at each login, so a test can change a user's groups.
    async findAccount(ctx, id) {
      const claims = JSON.parse(readFileSync(settingsPath, 'utf8')).accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  server.on('request', provider.callback());
  console.log(`listening ${port}`);
});
