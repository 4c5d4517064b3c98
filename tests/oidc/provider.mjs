// A real OpenID Provider (panva's oidc-provider, pinned in package-lock.json) for the single sign-on tests.
//
//   node provider.mjs PORT ACCOUNTS_JSON
//
// Serves discovery, its built-in login form (devInteractions: any password), RS256 ID tokens, userinfo,
// RP-initiated logout and dynamic client registration (POST /reg), through which each test registers a
// client with its own Chowda's redirect URI. ACCOUNTS_JSON is read afresh at every token, so a test
// changes a person's groups between two sign-ins by rewriting it:
//   {"alice": {"claims": {"email": "...", "groups": ["chowda-curators"]}, "id_token": {...}, "userinfo": {...}}}
// "claims" go in both the ID token and userinfo; "id_token" and "userinfo" only in that one (as Microsoft
// Entra ID sends groups in the ID token only).
import fs from 'node:fs';

import Provider from 'oidc-provider';

const [port, accountsPath] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

function account(id) {
  const people = JSON.parse(fs.readFileSync(accountsPath, 'utf8'));
  const person = people[id];
  if (!person) return undefined;
  return {
    accountId: id,
    claims(use) {
      return { sub: id, ...person.claims, ...(person[use] || {}) };
    },
  };
}

const provider = new Provider(issuer, {
  findAccount: (ctx, id) => account(id),
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    // A plain claim and a namespaced one, as Auth0 sends roles.
    groups: ['groups', 'https://chowda.test/roles'],
  },
  // Put every granted claim in the ID token too, not only in userinfo.
  conformIdTokenClaims: false,
  // A client that leaves out PKCE is refused.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  // The tests sign in, not consent: every scope asked for is granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    await grant.save();
    return grant;
  },
  cookies: { keys: ['chowda-test-identity-provider-cookie-key'] },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`listening on ${issuer}`);
});
