// Sign-in on the server's pages (GraphiQL, /dashboard, /import): Authorization Code with PKCE
// against the configured OpenID provider, through the vendored oauth4webapi (see README.md here).
//
// The access token lives in this module only, never in localStorage, sessionStorage or the
// address: a reload forgets it (signing in again costs one round trip while the provider's
// session lasts). Only what must survive the redirect to the provider is kept in sessionStorage
// until the page comes back: the PKCE verifier, the state, the nonce and the page's own query.
// The token is renewed with the refresh token before it expires; without one the page says
// that the session ended when it does.
import * as oauth from "./oauth4webapi.js";

const TEXT = {
  id: {
    signIn: "Masuk", signOut: "Keluar", failed: "Gagal masuk:", ended: "Sesi berakhir. Silakan masuk lagi.",
    insecure: "Masuk hanya bisa lewat HTTPS (atau localhost).",
  },
  en: {
    signIn: "Sign in", signOut: "Sign out", failed: "Sign-in failed:", ended: "The session ended. Please sign in again.",
    insecure: "Sign-in needs HTTPS (or localhost).",
  },
};

/// The server's settings for this page: `{ issuer, clientId }`, or null (API keys only).
const settings = JSON.parse(document.getElementById("signin")?.textContent || "null");
export const configured = settings !== null;

// Across the redirect to the provider and back; never a token.
const PENDING = "jaminan-signin-pending";
const SCOPE = "openid profile";
// Renew this long before expiry (at most a quarter of the token's life).
const AHEAD_SECONDS = 60;
const RETRY_MS = 10000;

let server = null; // the provider's metadata, once discovered
let session = null; // { accessToken, refreshToken, expiresAt (ms), name }
let problem = ""; // what the page says when signing in failed or the session ended
let timer = null;
let ui = null; // { button, person, lang }
const listeners = [];

const client = () => ({ client_id: settings.clientId });
// A provider on the loopback address (tests, a developer's Keycloak) may be plain HTTP; any
// other must be HTTPS, which oauth4webapi enforces.
const loopback = () => ["127.0.0.1", "localhost", "[::1]"].includes(new URL(settings.issuer).hostname);
const options = () => (loopback() ? { [oauth.allowInsecureRequests]: true } : {});
const redirectUri = () => location.origin + location.pathname;
const t = (name) => TEXT[ui && ui.lang() === "en" ? "en" : "id"][name];

/// The access token to send as `Authorization: Bearer`, or null when nobody is signed in.
export function accessToken() {
  return session && Date.now() < session.expiresAt ? session.accessToken : null;
}

/// `listener(signedIn)` after every sign-in and sign-out (a renewal changes only the token).
export function onChange(listener) {
  listeners.push(listener);
}

async function metadata() {
  if (!server) {
    const issuer = new URL(settings.issuer);
    server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, options()));
  }
  return server;
}

/// Leaves for the provider's sign-in page; it sends the browser back here with a code.
export async function signIn() {
  if (!window.isSecureContext) {
    problem = t("insecure");
    return changed();
  }
  try {
    const as = await metadata();
    const verifier = oauth.generateRandomCodeVerifier();
    const pending = { verifier, state: oauth.generateRandomState(), nonce: oauth.generateRandomNonce(), search: location.search };
    const url = new URL(as.authorization_endpoint);
    url.search = new URLSearchParams({
      client_id: settings.clientId, redirect_uri: redirectUri(), response_type: "code", scope: SCOPE,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: "S256",
      state: pending.state, nonce: pending.nonce,
    }).toString();
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    location.assign(url.href);
  } catch (error) {
    problem = `${t("failed")} ${error.message}`;
    changed();
  }
}

/// Forgets the token in this tab (the provider's own session is left to it).
export function signOut() {
  session = null;
  problem = "";
  clearTimeout(timer);
  changed();
}

// The provider sent the browser back with `?code=` (or `?error=`): the code leaves the address
// bar and the history, and the page gets its own query back (`?regency=…&lang=en`), before the
// page's script (which imports this module) reads it.
const returned = (() => {
  if (!configured) return null;
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  if (!pending || !params.has("state") || !(params.has("code") || params.has("error"))) return null;
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + pending.search + location.hash);
  return { params, pending };
})();

/// Finishes a sign-in when the browser came back from the provider: the code is exchanged for
/// tokens.
export async function start() {
  if (!returned) return;
  const { params, pending } = returned;
  try {
    const as = await metadata();
    const callback = oauth.validateAuthResponse(as, client(), params, pending.state);
    const response = await oauth.authorizationCodeGrantRequest(
      as, client(), oauth.None(), callback, redirectUri(), pending.verifier, options(),
    );
    const result = await oauth.processAuthorizationCodeResponse(as, client(), response, {
      expectedNonce: pending.nonce, requireIdToken: true,
    });
    keep(result);
  } catch (error) {
    problem = `${t("failed")} ${error.error_description || error.message}`;
    changed();
  }
}

function keep(result, renewal = false) {
  const claims = oauth.getValidatedIdTokenClaims(result);
  const lifetime = Number(result.expires_in) || 300;
  session = {
    accessToken: result.access_token,
    // A provider that rotates refresh tokens sends a new one; one that does not keeps the old.
    refreshToken: result.refresh_token || (session && session.refreshToken) || null,
    expiresAt: Date.now() + lifetime * 1000,
    name: (claims && (claims.name || claims.preferred_username || claims.sub)) || (session && session.name) || "",
  };
  problem = "";
  clearTimeout(timer);
  const ahead = Math.min(AHEAD_SECONDS, lifetime / 4);
  timer = session.refreshToken ? setTimeout(renew, (lifetime - ahead) * 1000) : setTimeout(ended, lifetime * 1000);
  if (renewal) render();
  else changed();
}

async function renew() {
  try {
    const as = await metadata();
    const response = await oauth.refreshTokenGrantRequest(as, client(), oauth.None(), session.refreshToken, options());
    keep(await oauth.processRefreshTokenResponse(as, client(), response), true);
  } catch (error) {
    // The provider may be down for a moment: try again while the token lasts.
    if (session && session.expiresAt - Date.now() > RETRY_MS) timer = setTimeout(renew, RETRY_MS);
    else ended();
  }
}

function ended() {
  session = null;
  problem = t("ended");
  changed();
}

function changed() {
  render();
  listeners.forEach((listener) => listener(session !== null));
}

/// Shows the sign-in button and who is signed in in `button` and `person`; `lang()` is the
/// page's language ("id" or "en"). Call `render()` again when the language changes.
export function attach(button, person, lang) {
  ui = { button, person, lang };
  button.addEventListener("click", () => (session ? signOut() : signIn()));
  render();
}

export function render() {
  if (!ui) return;
  ui.button.textContent = session ? t("signOut") : t("signIn");
  ui.person.textContent = session ? session.name : problem;
  ui.person.className = session || !problem ? "" : "error";
  // For people and tests: when the token in hand expires (no secret).
  ui.person.dataset.expires = session ? String(session.expiresAt) : "";
}
