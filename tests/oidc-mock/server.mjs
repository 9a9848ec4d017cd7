// An independent OpenID provider for space_app's end-to-end tests: the npm package
// `oauth2-mock-server` (pinned in package.json), shaped like Hugging Face's provider through the
// library's own hooks. See README.md.
//
//   node tests/oidc-mock/server.mjs [PORT]        (or PORT=... ; 0 or nothing = any free port)
//
// stdout carries exactly one line, `READY http://127.0.0.1:<port>`, once the server listens; that
// URL is the issuer. Everything else goes to stderr. The process exits on SIGTERM/SIGINT, when its
// stdin is a pipe that closes, and when its parent process goes away.
//
// Environment (all optional):
//   PORT                     port when no argument is given (default 0 = any free port)
//   OIDC_MOCK_CLIENT_ID      when set with OIDC_MOCK_CLIENT_SECRET, the token endpoint demands these
//   OIDC_MOCK_CLIENT_SECRET  credentials (client_secret_basic or client_secret_post), else 401
//   OIDC_MOCK_USER           JSON merged over the default user below (e.g. '{"isPro":true}')
//   OIDC_MOCK_LAX=1          turn off the checks this file adds; only the library's own remain

import { fstatSync } from 'node:fs';
import { OAuth2Server } from 'oauth2-mock-server';

const HOST = '127.0.0.1';

const DEFAULT_USER = {
  sub: '62f264b9f3c90f4b6514a269',
  preferred_username: 'jdoe',
  name: 'Jane Doe',
  picture: 'https://cdn-avatars.huggingface.co/v1/production/uploads/jdoe.png',
  isPro: false,
  canPay: false,
  email: 'jdoe@example.com',
  email_verified: true,
  orgs: [
    {
      sub: '63a0c1e2d4b5f6a7b8c9d0e1',
      preferred_username: 'acme',
      name: 'Acme',
      picture: 'https://cdn-avatars.huggingface.co/v1/production/uploads/acme.png',
      isEnterprise: false,
      roleInOrg: 'write',
    },
  ],
};

function log(...args) {
  console.error('[oidc-mock]', ...args);
}

function parsePort() {
  const raw = process.argv[2] ?? process.env.PORT ?? '0';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    log(`invalid port ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return port;
}

function loadUser() {
  const raw = process.env.OIDC_MOCK_USER;
  if (!raw) return DEFAULT_USER;
  try {
    return { ...DEFAULT_USER, ...JSON.parse(raw) };
  } catch (err) {
    log(`OIDC_MOCK_USER is not JSON: ${err.message}`);
    process.exit(2);
  }
}

const port = parsePort();
const user = loadUser();
const lax = process.env.OIDC_MOCK_LAX === '1';
const clientId = process.env.OIDC_MOCK_CLIENT_ID || undefined;
const clientSecret = process.env.OIDC_MOCK_CLIENT_SECRET || undefined;
const enforceClient = !lax && clientId !== undefined && clientSecret !== undefined;

const hasScope = (scope, name) => (scope ?? '').split(' ').includes(name);

// What an /authorize call granted, by code: { clientId, redirectUri, scope, pkce }.
const codes = new Map();
// What an issued refresh token / access token stands for: { clientId, scope }.
const refreshTokens = new Map();
const accessTokens = new Map();

// The client's credentials as the token request carries them.
function clientCredentials(req) {
  const header = req.headers.authorization ?? '';
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (m) {
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i >= 0) {
      // RFC 6749 2.3.1: both parts are form-urlencoded before base64.
      const dec = (s) => {
        try {
          return decodeURIComponent(s.replace(/\+/g, ' '));
        } catch {
          return s; // not encoded after all
        }
      };
      return { method: 'client_secret_basic', id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
    }
  }
  if (req.body?.client_id !== undefined) {
    return {
      method: req.body.client_secret !== undefined ? 'client_secret_post' : 'none',
      id: req.body.client_id,
      secret: req.body.client_secret,
    };
  }
  return undefined;
}

// The grant a token request refers to (by code or refresh token), if we issued it.
function grantOf(req) {
  const body = req.body ?? {};
  if (body.grant_type === 'authorization_code') return codes.get(body.code);
  if (body.grant_type === 'refresh_token') return refreshTokens.get(body.refresh_token);
  return undefined;
}

// Why this token request must fail (our additions to the library's checks), or undefined.
function rejectTokenRequest(req) {
  const body = req.body ?? {};
  const creds = clientCredentials(req);
  if (enforceClient) {
    if (!creds || creds.id !== clientId || creds.secret !== clientSecret) {
      return { status: 401, error: 'invalid_client', description: 'client authentication failed' };
    }
  }
  if (body.grant_type === 'authorization_code') {
    const grant = codes.get(body.code);
    if (!grant) return { status: 400, error: 'invalid_grant', description: 'unknown or already used code' };
    codes.delete(body.code); // single use, whatever happens next
    if (grant.pkce && body.code_verifier === undefined) {
      return { status: 400, error: 'invalid_grant', description: 'code_verifier required (the code was issued with a code_challenge)' };
    }
    if (body.redirect_uri !== grant.redirectUri) {
      return { status: 400, error: 'invalid_grant', description: 'redirect_uri differs from the authorization request' };
    }
    if (!creds || creds.id !== grant.clientId) {
      return { status: 400, error: 'invalid_grant', description: 'the code was issued to another client' };
    }
    return undefined;
  }
  if (body.grant_type === 'refresh_token') {
    const grant = refreshTokens.get(body.refresh_token);
    if (!grant) return { status: 400, error: 'invalid_grant', description: 'unknown refresh token' };
    if (!creds || creds.id !== grant.clientId) {
      return { status: 400, error: 'invalid_grant', description: 'the refresh token was issued to another client' };
    }
    return undefined;
  }
  return { status: 400, error: 'unsupported_grant_type', description: `grant_type ${body.grant_type} is not offered` };
}

function profileClaims(scope) {
  if (!lax && !hasScope(scope, 'profile')) return {};
  return { preferred_username: user.preferred_username, name: user.name, picture: user.picture };
}

function userinfoFor(scope) {
  const info = { sub: user.sub, ...profileClaims(scope) };
  if (lax || hasScope(scope, 'profile')) {
    info.profile = `https://huggingface.co/${user.preferred_username}`;
    info.isPro = user.isPro;
    info.orgs = user.orgs;
  }
  if (lax || hasScope(scope, 'email')) {
    info.email = user.email;
    info.email_verified = user.email_verified;
  }
  if (lax || hasScope(scope, 'read-billing')) info.canPay = user.canPay;
  return info;
}

const server = new OAuth2Server(undefined, undefined, { shouldIssuerUrlBeSuffixedWithATralingSlash: false });
const { service } = server;

// /authorize answers with a redirect straight away (no UI); remember what it granted.
service.on('beforeAuthorizeRedirect', ({ url }, req) => {
  const code = url.searchParams.get('code');
  if (!code) return;
  const q = req.query;
  codes.set(code, {
    clientId: q.client_id,
    redirectUri: q.redirect_uri,
    scope: typeof q.scope === 'string' ? q.scope : '',
    pkce: typeof q.code_challenge === 'string' && q.code_challenge !== '',
  });
  if (!lax && clientId !== undefined && q.client_id !== clientId) {
    url.searchParams.delete('code');
    url.searchParams.set('error', 'unauthorized_client');
    url.searchParams.set('error_description', 'unknown client_id');
    codes.delete(code);
  }
});

// Both tokens the library signs pass here: the access token carries `scope`, the ID token doesn't.
service.on('beforeTokenSigning', (token, req) => {
  const grant = grantOf(req);
  const scope = grant?.scope ?? req.body?.scope ?? '';
  token.payload.sub = user.sub;
  if ('scope' in token.payload) {
    token.payload.scope = scope;
  } else {
    Object.assign(token.payload, profileClaims(scope));
  }
});

service.on('beforeResponse', (response, req) => {
  // Look the grant up before rejectTokenRequest() consumes the code.
  const grant = grantOf(req) ?? { clientId: clientCredentials(req)?.id, scope: req.body?.scope ?? '' };
  const rejection = lax ? undefined : rejectTokenRequest(req);
  if (rejection) {
    log(`token request refused: ${rejection.error}: ${rejection.description}`);
    response.statusCode = rejection.status;
    response.body = { error: rejection.error, error_description: rejection.description };
    return;
  }
  if (req.body?.grant_type === 'authorization_code') codes.delete(req.body.code);
  const body = response.body;
  body.scope = grant.scope;
  if (body.access_token) accessTokens.set(body.access_token, { clientId: grant.clientId, scope: grant.scope });
  if (body.refresh_token) refreshTokens.set(body.refresh_token, { clientId: grant.clientId, scope: grant.scope });
});

service.on('beforeUserinfo', (response, req) => {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  const grant = m ? accessTokens.get(m[1]) : undefined;
  if (!lax && !grant) {
    response.statusCode = 401;
    response.body = { error: 'invalid_token', error_description: 'missing or unknown bearer token' };
    return;
  }
  response.body = userinfoFor(grant?.scope ?? '');
});

// Exit paths first, so that a signal sent the moment READY appears is already handled.
let stopping = false;
async function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log(`stopping (${why})`);
  setTimeout(() => process.exit(0), 1000).unref();
  try {
    if (server.listening) await server.stop();
  } catch {
    // already stopped
  }
  process.exit(0);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

// A test that spawns us with a piped stdin and dies closes that pipe: leave with it. Only a pipe
// counts: /dev/null (CI's stdin) would read as closed at once, and a terminal never closes.
let stdinIsPipe = false;
try {
  const st = fstatSync(0);
  stdinIsPipe = st.isFIFO() || st.isSocket();
} catch {
  // no stdin at all
}
if (stdinIsPipe) {
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('close', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

// Whatever stdin is, a parent that goes away (we get re-parented) ends us too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown('parent exited');
}, 500).unref();

try {
  await server.issuer.keys.generate('RS256');
  await server.start(port, HOST);
} catch (err) {
  log(`cannot start: ${err.message}`);
  process.exit(1);
}
if (stopping) process.exit(0);
// The library names the issuer `http://localhost:<port>` for any 127.x host; the relying party
// is configured with the address we print, so make the two the same.
const issuer = `http://${HOST}:${server.address().port}`;
server.issuer.url = issuer;
process.stdout.write(`READY ${issuer}\n`);
log(`listening; issuer ${issuer}${lax ? ' (lax)' : ''}${enforceClient ? `; client ${clientId}` : ''}`);
