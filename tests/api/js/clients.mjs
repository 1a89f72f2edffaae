// Mastodon client libraries from npm against a running smallfedi: masto (masto.js, as in Elk and
// Phanpy) and megalodon (Whalebird, Fedistar). Each library signs in through OAuth the way an app
// does (the browser step is played with fetch), then makes the calls those apps make first.
//
//   node clients.mjs BASE PASSWORD        (or BASE=... PASSWORD=... node clients.mjs)
//
// BASE must be a loopback address: nothing here talks to anything else. Prints one JSON line per
// check, {"client", "check", "ok", ...}; exits 1 on the first failure, with what went wrong.

import { createHash, randomBytes } from "node:crypto";

import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";
import WebSocket from "ws";

// masto 8's streaming client expects what Node 22 and browsers have: a global WebSocket and
// Promise.withResolvers. Node 20 has neither; give it the `ws` package's class and a shim.
globalThis.WebSocket ??= WebSocket;
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new this((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
import generator, { detector } from "megalodon";

const BASE = (process.env.BASE || process.argv[2] || "").replace(/\/+$/, "");
const PASSWORD = process.env.PASSWORD || process.argv[3] || "";
const REDIRECT = "http://127.0.0.1:1/callback"; // registered and matched, never contacted
const SCOPES = "read write follow push";
const STEP_MS = 20_000; // one check
const TOTAL_MS = 100_000; // the whole run
const TAG = "smallfeditest";
// A 16×12 PNG to upload, and its alt text.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAABAAAAAMCAIAAADkharWAAAAG0lEQVR42mNkYGgQYGAgHrEwiDCQBEY1jBQNAGacAnoKHKLTAAAAAElFTkSuQmCC",
  "base64");
const ALT = "A small gradient, blue at the bottom";

function out(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function fail(client, check, error) {
  const line = { client, check, ok: false, error: String(error?.message ?? error) };
  // masto's MastoHttpError
  if (error?.statusCode !== undefined) line.status = error.statusCode;
  if (error?.description) line.description = error.description;
  // megalodon's (axios) errors
  if (error?.response) {
    line.status = error.response.status;
    line.body = error.response.data;
    line.request = `${error.config?.method?.toUpperCase()} ${error.config?.url}`;
  }
  if (error?.request && !error.response && error.config) {
    line.request = `${error.config.method?.toUpperCase()} ${error.config.url}`;
  }
  if (error?.stack && !line.status && !(error instanceof CheckFailed)) {
    line.stack = String(error.stack).split("\n").slice(0, 6).join("\n");
  }
  out(line);
  process.exit(1);
}

class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/** A check's value, and what to print about it. */
class Result {
  constructor(value, detail) {
    this.value = value;
    this.detail = detail;
  }
}
const result = (value, detail) => new Result(value, detail);

/** Run one check, bounded in time; print its line; stop everything on a failure. */
async function check(client, name, fn) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${STEP_MS / 1000} s`)), STEP_MS);
  });
  try {
    const got = await Promise.race([fn(), timeout]);
    if (got instanceof Result) {
      out({ client, check: name, ok: true, ...got.detail });
      return got.value;
    }
    out({ client, check: name, ok: true });
    return got;
  } catch (error) {
    fail(client, name, error);
  } finally {
    clearTimeout(timer);
  }
}

// --- the browser step --------------------------------------------------------------------------

function unescapeHtml(text) {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

function attributes(tag) {
  const found = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    found[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? "");
  }
  return found;
}

/** Play the owner in a browser of its own: open the authorise page, type the password, press
 * Allow; return the code (and state) from the redirect, which is read and not followed. */
async function browserStep(authorizeUrl, expectedState) {
  const jar = new Map();
  const keep = (response) => {
    for (const header of response.headers.getSetCookie()) {
      const pair = header.split(";")[0];
      const at = pair.indexOf("=");
      if (at > 0) jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  };
  const cookies = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");

  const page = await fetch(authorizeUrl, { redirect: "manual", signal: AbortSignal.timeout(STEP_MS) });
  const html = await page.text();
  expect(page.status === 200, `GET ${authorizeUrl} answered ${page.status}: ${html.slice(0, 300)}`);
  keep(page);
  const formTag = html.match(/<form\b[^>]*method="post"[^>]*>/i);
  expect(formTag, "the authorise page has no form");
  const action = new URL(attributes(formTag[0]).action || authorizeUrl, authorizeUrl);
  const fields = new URLSearchParams();
  for (const m of html.matchAll(/<input\b[^>]*>/gi)) {
    const a = attributes(m[0]);
    if ((a.type || "").toLowerCase() === "hidden" && a.name) fields.append(a.name, a.value ?? "");
  }
  if (/<input\b[^>]*name="password"/i.test(html)) fields.set("password", PASSWORD);
  fields.set("decision", "approve");

  const answer = await fetch(action, {
    method: "POST",
    body: fields,
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies() },
    redirect: "manual",
    signal: AbortSignal.timeout(STEP_MS),
  });
  const text = await answer.text();
  expect([302, 303].includes(answer.status),
    `POST ${action} answered ${answer.status} instead of a redirect: ${text.slice(0, 300)}`);
  const location = new URL(answer.headers.get("location"), action);
  expect(`${location.origin}${location.pathname}` === REDIRECT,
    `redirected to ${location} instead of the app's redirect URI`);
  const error = location.searchParams.get("error");
  expect(!error, `the authorisation was refused: ${error} ${location.searchParams.get("error_description")}`);
  const code = location.searchParams.get("code");
  expect(code, `no code in ${location}`);
  if (expectedState !== undefined) {
    expect(location.searchParams.get("state") === expectedState, `state came back as ${location.searchParams.get("state")}`);
  }
  return code;
}

function pkce() {
  const verifier = randomBytes(32).toString("base64url");
  const challenge = createHash("sha256").update(verifier).digest("base64url");
  return { verifier, challenge };
}

function authorizeUrl(clientId, challenge, state) {
  return `${BASE}/oauth/authorize?${new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: SCOPES, state,
    code_challenge: challenge, code_challenge_method: "S256",
  })}`;
}

// --- masto -------------------------------------------------------------------------------------

async function masto() {
  const C = "masto";
  const anon = createRestAPIClient({ url: BASE, timeout: STEP_MS });
  const oauth = createOAuthAPIClient({ url: BASE, timeout: STEP_MS });

  const app = await check(C, "v1.apps.create", async () => {
    const app = await anon.v1.apps.create({
      clientName: "smallfedi test (masto)", redirectUris: REDIRECT, scopes: SCOPES,
      website: "http://127.0.0.1:1/",
    });
    expect(app.clientId && app.clientSecret, `no client credentials in ${JSON.stringify(app)}`);
    return result(app, { name: app.name });
  });

  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString("hex");
  const code = await check(C, "authorise page (PKCE S256, password, approve)", () =>
    browserStep(authorizeUrl(app.clientId, challenge, state), state).then((code) => result(code, {})));

  await check(C, "token.create refuses a wrong code_verifier", async () => {
    const second = pkce();
    const otherCode = await browserStep(authorizeUrl(app.clientId, second.challenge, "x"), "x");
    try {
      await oauth.token.create({
        grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret,
        redirectUri: REDIRECT, code: otherCode, codeVerifier: pkce().verifier, scope: SCOPES,
      });
    } catch (error) {
      expect(error.statusCode === 400, `answered ${error.statusCode} (${error.message}) instead of 400`);
      return result(null, { status: error.statusCode, error: error.message });
    }
    throw new CheckFailed("a token was issued for a code verifier that does not match the challenge");
  });

  const token = await check(C, "token.create (authorization_code, code_verifier)", async () => {
    const token = await oauth.token.create({
      grantType: "authorization_code", clientId: app.clientId, clientSecret: app.clientSecret,
      redirectUri: REDIRECT, code, codeVerifier: verifier, scope: SCOPES,
    });
    expect(token.accessToken, `no access token in ${JSON.stringify(token)}`);
    expect(token.scope === SCOPES, `scope is ${token.scope}`);
    return result(token, { scope: token.scope, tokenType: token.tokenType });
  });

  const api = createRestAPIClient({ url: BASE, accessToken: token.accessToken, timeout: STEP_MS });

  const me = await check(C, "v1.accounts.verifyCredentials", async () => {
    const me = await api.v1.accounts.verifyCredentials();
    expect(typeof me.id === "string" && me.username && me.acct, `not an account: ${JSON.stringify(me)}`);
    expect(me.source && typeof me.source.privacy === "string", "a CredentialAccount carries source.privacy");
    return result(me, { acct: me.acct });
  });

  await check(C, "v2.instance.fetch", async () => {
    const instance = await api.v2.instance.fetch();
    expect(instance.domain && instance.version, `not an instance: ${JSON.stringify(instance).slice(0, 300)}`);
    expect(instance.configuration?.urls?.streaming?.startsWith("ws"), "configuration.urls.streaming is missing");
    return result(instance, { version: instance.version, apiVersions: instance.apiVersions });
  });

  await check(C, "v1.instance.fetch", async () => {
    const instance = await api.v1.instance.fetch();
    expect(instance.uri && instance.version, `not an instance: ${JSON.stringify(instance).slice(0, 300)}`);
    return result(instance, { uri: instance.uri });
  });

  const first = await check(C, "v1.statuses.create", async () => {
    const status = await api.v1.statuses.create({ status: `Hello from masto #${TAG}`, visibility: "public" });
    expect(typeof status.id === "string" && status.account?.id === me.id, `not our status: ${JSON.stringify(status)}`);
    expect(status.tags?.some((t) => t.name.toLowerCase() === TAG), `tags: ${JSON.stringify(status.tags)}`);
    return result(status, { id: status.id });
  });

  const reply = await check(C, "v1.statuses.create (a reply)", async () => {
    const status = await api.v1.statuses.create({ status: "A reply from masto", inReplyToId: first.id });
    expect(status.inReplyToId === first.id, `inReplyToId is ${status.inReplyToId}`);
    return result(status, { id: status.id });
  });

  await check(C, "v2.media.create with alt text, then a post with it", async () => {
    // masto polls GET /api/v1/media/:id after a v2 upload until `url` is set (here at once).
    const media = await api.v2.media.create({ file: new Blob([PNG], { type: "image/png" }), description: ALT });
    expect(media.type === "image" && media.url?.startsWith(`${BASE}/media/`), `upload: ${JSON.stringify(media)}`);
    const status = await api.v1.statuses.create({ status: "A picture from masto", mediaIds: [media.id] });
    const shown = await api.v1.statuses.$select(status.id).fetch();
    const [attachment] = shown.mediaAttachments;
    expect(shown.mediaAttachments.length === 1 && attachment.id === media.id,
      `attachments: ${JSON.stringify(shown.mediaAttachments)}`);
    expect(attachment.description === ALT && attachment.blurhash, `attachment: ${JSON.stringify(attachment)}`);
    return result(attachment, { id: attachment.id, type: attachment.type, description: attachment.description });
  });

  await check(C, "v1.statuses.create with Idempotency-Key, twice", async () => {
    const meta = { requestInit: { headers: { "Idempotency-Key": randomBytes(8).toString("hex") } } };
    const a = await api.v1.statuses.create({ status: "Posted once", visibility: "direct" }, meta);
    const b = await api.v1.statuses.create({ status: "Posted once", visibility: "direct" }, meta);
    expect(a.id === b.id, `two posts (${a.id}, ${b.id}) for one Idempotency-Key`);
    await api.v1.statuses.$select(a.id).remove();
    return result(a, { id: a.id });
  });

  await check(C, "v1.timelines.home.list({limit: 1}), for await to the end", async () => {
    const seen = [];
    let pages = 0;
    for await (const page of api.v1.timelines.home.list({ limit: 1 })) {
      pages += 1;
      expect(page.length <= 1, `page ${pages} has ${page.length} statuses: the limit was dropped`);
      seen.push(...page.map((s) => s.id));
      expect(pages <= 10, `still paging after ${pages} pages: ${seen.join(", ")}`);
    }
    for (const id of [first.id, reply.id]) {
      expect(seen.filter((s) => s === id).length === 1, `status ${id} seen ${seen.filter((s) => s === id).length} times in ${seen.join(", ")}`);
    }
    expect(new Set(seen).size === seen.length, `a status came twice: ${seen.join(", ")}`);
    expect(seen.indexOf(reply.id) < seen.indexOf(first.id), "not newest first");
    return result(seen, { pages, seen });
  });

  const one = api.v1.statuses.$select(first.id);
  await check(C, "statuses.$select(id).favourite", async () => {
    const status = await one.favourite();
    expect(status.id === first.id && status.favourited === true && status.favouritesCount === 1,
      `favourited=${status.favourited}, favouritesCount=${status.favouritesCount}`);
  });
  await check(C, "statuses.$select(id).reblog", async () => {
    const status = await one.reblog();
    expect(status.reblog?.id === first.id && status.reblog.reblogged === true,
      `not a boost of ${first.id}: ${JSON.stringify(status).slice(0, 300)}`);
    return result(status, { boost: status.id });
  });
  await check(C, "statuses.$select(id).bookmark", async () => {
    const status = await one.bookmark();
    expect(status.id === first.id && status.bookmarked === true, `bookmarked=${status.bookmarked}`);
  });
  await check(C, "statuses.$select(id).context", async () => {
    const below = await one.context.fetch();
    expect(below.descendants.some((s) => s.id === reply.id), "the reply is not among the descendants");
    const above = await api.v1.statuses.$select(reply.id).context.fetch();
    expect(above.ancestors.some((s) => s.id === first.id), "the post is not among the reply's ancestors");
    return result(null, { ancestors: above.ancestors.length, descendants: below.descendants.length });
  });
  await check(C, "statuses.$select(id).source", async () => {
    const source = await one.source.fetch();
    expect(source.id === first.id && source.text === `Hello from masto #${TAG}`, `source: ${JSON.stringify(source)}`);
  });

  await check(C, "v1.notifications.list", async () => {
    const page = await api.v1.notifications.list({ limit: 5 });
    expect(Array.isArray(page), `not a list: ${JSON.stringify(page).slice(0, 300)}`);
    return result(page, { count: page.length });
  });
  await check(C, "v2.notifications.list", async () => {
    const grouped = await api.v2.notifications.list({ limit: 5 });
    expect(Array.isArray(grouped.notificationGroups) && Array.isArray(grouped.accounts) && Array.isArray(grouped.statuses),
      `not grouped notifications: ${JSON.stringify(grouped).slice(0, 300)}`);
    const count = await api.v2.notifications.unreadCount.fetch();
    expect(typeof count.count === "number", `unread_count: ${JSON.stringify(count)}`);
    return result(grouped, { groups: grouped.notificationGroups.length, unread: count.count });
  });

  await check(C, "v1.markers create and fetch", async () => {
    const saved = await api.v1.markers.create({ home: { lastReadId: first.id } });
    expect(saved.home?.lastReadId === first.id, `saved: ${JSON.stringify(saved)}`);
    const found = await api.v1.markers.fetch({ timeline: ["home"] });
    expect(found.home?.lastReadId === first.id, `fetched: ${JSON.stringify(found)}`);
    return result(found, { home: found.home.lastReadId });
  });

  await check(C, "v2.search.list({q: a hashtag})", async () => {
    const found = await api.v2.search.list({ q: `#${TAG}` });
    expect(found.hashtags?.some((t) => t.name.toLowerCase() === TAG), `hashtags: ${JSON.stringify(found.hashtags)}`);
    return result(found, { hashtags: found.hashtags.map((t) => t.name) });
  });

  await check(C, "v1.preferences.fetch", async () => {
    const preferences = await api.v1.preferences.fetch();
    const keys = Object.keys(preferences);
    expect(keys.some((k) => /visibility/i.test(k)), `keys: ${keys.join(", ")}`);
    return result(preferences, { keys });
  });

  await check(C, "streaming: user.subscribe() receives a new post (token as subprotocol)", async () => {
    const instance = await api.v2.instance.fetch();
    const streaming = createStreamingAPIClient({
      streamingApiUrl: instance.configuration.urls.streaming,
      accessToken: token.accessToken,
      implementation: WebSocket,
    });
    const subscription = streaming.user.subscribe();
    const iterator = subscription[Symbol.asyncIterator]();
    let pending = iterator.next(); // masto connects (after a back-off pause) and then subscribes
    // The moment it is subscribed is not observable: post every 700 ms until one arrives.
    const posted = new Set();
    const poster = setInterval(async () => {
      if (posted.size < 10) posted.add((await api.v1.statuses.create({ status: "Streamed to masto" })).id);
    }, 700);
    try {
      for (;;) {
        const { value: event, done } = await pending;
        pending = iterator.next();
        expect(!done, "the stream ended before a post arrived");
        if (event.event === "update" && posted.has(event.payload.id)) {
          expect(event.payload.account?.acct === me.acct, `update for ${event.payload.account?.acct}`);
          return result(null, { event: event.event, id: event.payload.id, posts: posted.size });
        }
      }
    } finally {
      clearInterval(poster);
      subscription.unsubscribe();
      streaming.close();
    }
  });

  await check(C, "oauth.revoke, then the token is refused", async () => {
    await oauth.revoke({ clientId: app.clientId, clientSecret: app.clientSecret, token: token.accessToken });
    try {
      await api.v1.accounts.verifyCredentials();
    } catch (error) {
      expect(error.statusCode === 401, `answered ${error.statusCode} (${error.message}) instead of 401`);
      return result(null, { status: error.statusCode });
    }
    throw new CheckFailed("the revoked token still works");
  });
}

// --- megalodon ---------------------------------------------------------------------------------

async function megalodon() {
  const C = "megalodon";
  await check(C, "detector", async () => {
    // Whalebird and Fedistar pick the API by this: nodeinfo's software.name, or for a name megalodon
    // does not know, metadata.upstream.name.
    const sns = await detector(BASE).catch((error) => error);
    if (sns !== "mastodon") {
      const nodeinfo = await fetch(`${BASE}/nodeinfo/2.0`, { signal: AbortSignal.timeout(STEP_MS) })
        .then((r) => r.json()).catch((error) => ({ error: String(error) }));
      throw new CheckFailed(`detected ${sns instanceof Error ? `nothing (${sns.message})` : sns}; /nodeinfo/2.0 has `
        + `software ${JSON.stringify(nodeinfo.software)} and metadata ${JSON.stringify(nodeinfo.metadata)}`);
    }
    return result(sns, { sns });
  });

  const anon = generator("mastodon", BASE);
  const app = await check(C, "registerApp", async () => {
    const app = await anon.registerApp("smallfedi test (megalodon)", {
      scopes: SCOPES.split(" "), redirect_uris: REDIRECT,
    });
    expect(app.client_id && app.client_secret, `no client credentials in ${JSON.stringify(app)}`);
    expect(app.url?.startsWith(`${BASE}/oauth/authorize?`), `authorise URL ${app.url}`);
    return result(app, { url: app.url.replace(/client_id=[^&]*/, "client_id=…") });
  });

  const code = await check(C, "authorise page (password, approve)", () =>
    browserStep(app.url).then((code) => result(code, {})));

  const token = await check(C, "fetchAccessToken", async () => {
    const token = await anon.fetchAccessToken(app.client_id, app.client_secret, code, REDIRECT);
    expect(token.access_token, `no access token in ${JSON.stringify(token)}`);
    return result(token, { scope: token.scope });
  });

  const api = generator("mastodon", BASE, token.access_token);
  const me = await check(C, "verifyAccountCredentials", async () => {
    const res = await api.verifyAccountCredentials();
    expect(res.status === 200 && res.data.id && res.data.acct, `answer: ${res.status} ${JSON.stringify(res.data)}`);
    return result(res.data, { acct: res.data.acct });
  });

  const posted = await check(C, "postStatus", async () => {
    const res = await api.postStatus(`Hello from megalodon #${TAG}`, { visibility: "public" });
    expect(res.status === 200 && res.data.id && res.data.account?.id === me.id, `answer: ${res.status} ${JSON.stringify(res.data)}`);
    return result(res.data, { id: res.data.id });
  });

  await check(C, "getInstance", async () => {
    const res = await api.getInstance();
    expect(res.status === 200 && res.data.uri && res.data.version, `answer: ${res.status} ${JSON.stringify(res.data).slice(0, 300)}`);
    return result(res.data, { version: res.data.version });
  });

  await check(C, "getHomeTimeline", async () => {
    const res = await api.getHomeTimeline({ limit: 5 });
    expect(res.status === 200 && Array.isArray(res.data), `answer: ${res.status}`);
    expect(res.data[0]?.id === posted.id, `newest is ${res.data[0]?.id}, not ${posted.id}`);
    return result(res.data, { count: res.data.length });
  });

  await check(C, "getNotifications", async () => {
    const res = await api.getNotifications({ limit: 5 });
    expect(res.status === 200 && Array.isArray(res.data), `answer: ${res.status}`);
    return result(res.data, { count: res.data.length });
  });

  await check(C, "revokeToken, then the token is refused", async () => {
    await anon.revokeToken(app.client_id, app.client_secret, token.access_token);
    try {
      await api.verifyAccountCredentials();
    } catch (error) {
      expect(error.response?.status === 401, `answered ${error.response?.status ?? error.message} instead of 401`);
      return result(null, { status: error.response.status });
    }
    throw new CheckFailed("the revoked token still works");
  });
}

// -----------------------------------------------------------------------------------------------

function loopback(url) {
  try {
    const host = new URL(url).hostname;
    return /^127\.\d+\.\d+\.\d+$/.test(host) || host === "localhost" || host === "[::1]";
  } catch {
    return false;
  }
}

if (!loopback(BASE) || !PASSWORD) {
  out({ client: "-", check: "arguments", ok: false, error: "usage: node clients.mjs http://127.0.0.1:PORT PASSWORD" });
  process.exit(2);
}
setTimeout(() => fail("-", "the whole run", new Error(`not done in ${TOTAL_MS / 1000} s`)), TOTAL_MS).unref();
process.on("unhandledRejection", (error) => fail("-", "unhandled rejection", error));

await masto();
await megalodon();
out({ client: "-", check: "all", ok: true });
process.exit(0);
