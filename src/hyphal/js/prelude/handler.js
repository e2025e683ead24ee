// hyphal prelude, part 5: HTTP handler glue. The host calls __hyphal_handle(method, url, path,
// queryJSON, headersJSON, body) with primitives only -- method, url, queryJSON and body may be
// null for GET, the path itself, no query and no body. The answer is a string:
//   "R" + encoded response   the response is ready, the outbox is empty (see encode)
//   "O" + encoded response   ready, and the outbox has output to drain
//   "P" + id                                      the handler returned a pending promise;
//                                                 poll __hyphal_handler_result(id) after jobs
(function (H) {
  "use strict";
  const G = globalThis;
  // A request's usual values live on the prototype and only the rest become own fields:
  // each own field costs QuickJS about 50 ns per request.
  function HandlerRequest(method, url, path, query, headers, body) {
    this.path = path; this._headers = headers;
    if (method !== "GET") this.method = method;
    if (url !== path) this._url = url;
    if (query !== "{}") this._query = query;
    if (body !== "") this.body = body;
  }
  Object.defineProperties(HandlerRequest.prototype, {
    method: { value: "GET", writable: true },
    body: { value: "", writable: true },
    _query: { value: "{}", writable: true },
    _url: { value: undefined, writable: true },
    url: { get() { const u = this._url; return u === undefined ? this.path : u; } },
    query: { get() { const q = JSON.parse(this._query); Object.defineProperty(this, "query", { value: q }); return q; } },
    headers: { get() { const h = new Headers(headerPairs(this._headers)); Object.defineProperty(this, "headers", { value: h }); return h; } },
  });
  // headers arrive as a JSON array of pairs or as "name\x01value\x01name\x01value" (what the
  // HTTP server sends: no JSON encoding per request); a header name never starts with "[".
  function headerPairs(text) {
    if (text === "") return [];
    if (text.charCodeAt(0) === 91) return JSON.parse(text);
    const parts = text.split("\x01"), pairs = [];
    for (let i = 0; i + 1 < parts.length; i += 2) pairs.push([parts[i], parts[i + 1]]);
    return pairs;
  }
  HandlerRequest.prototype.text = function text() { return this.body; };
  // console.log(request) shows what a handler reads, not the fields kept for speed
  HandlerRequest.prototype[Symbol.for("nodejs.util.inspect.custom")] = function inspect() {
    const { method, url, path, query, headers, body } = this;
    return `Request ${H.inspect({ method, url, path, query, headers, body })}`;
  };
  // QuickJS's native parser for plain JSON where hyphal/js/_speedups.c is built (undefined:
  // not plain, JSON.parse decides -- and throws its SyntaxError).
  const nativeParse = typeof G.__hyphal_json_parse === "function" ? G.__hyphal_json_parse : null;
  HandlerRequest.prototype.json = function json() {
    const text = this.body;
    if (nativeParse !== null) {
      const value = nativeParse(text);
      if (value !== undefined) return value;
    }
    return JSON.parse(text);
  };
  G.HandlerRequest = HandlerRequest;
  const requestProto = HandlerRequest.prototype;
  const outbox = H.outbox;  // console output waiting for the host
  const checkpoint = H.checkpoint;
  const unhandled = H.unhandled;
  // The part before the body of a Response.json/text/html answer, per status and content
  // type, with the kind "R" in front (the common answer is then one concatenation).
  const heads = new Map();
  // kind (R|O), base64 flag (0|1), status (3 digits), headers as k \x01 v \x01 k \x01 v, \x02,
  // body. Header text cannot contain \x01 or \x02.
  function encode(response, kind) {
    if (!(response instanceof Response)) {
      if (response === undefined || response === null) throw new TypeError("the handler returned no Response (return Response.json(...), Response.text(...) or new Response(...))");
      response = typeof response === "string" ? Response.text(response) : Response.json(response);
    }
    if (response._h === null) {  // Response.json/text/html: one content-type header
      const key = response.status === 200 ? response._ct : `${response.status} ${response._ct}`;
      let head = heads.get(key);
      if (head === undefined) {
        head = "R0" + response.status + "content-type\x01" + response._ct + "\x02";
        if (heads.size < 256) heads.set(key, head);
      }
      return kind === "R" ? head + response._text : kind + head.slice(1) + response._text;
    }
    let headers = "";
    for (const [k, v] of response._h._map) headers += (headers ? "\x01" : "") + k + "\x01" + v;
    const status = response.status < 100 ? "000" : response.status;
    if (response._text !== null) return kind + "0" + status + headers + "\x02" + response._text;
    return kind + "1" + status + headers + "\x02" + (response._raw ? H.bytesToB64(response._raw) : "");
  }
  let nextPending = 1;
  const pending = new Map();
  G.__hyphal_handle = function (method, url, path, query, headers, body) {
    const handler = G.handler;
    if (typeof handler !== "function") throw new TypeError("the handler file must define `function handler(request)`");
    if (unhandled.size !== 0) H.processRejections();  // left by earlier calls: report them
    // a literal with __proto__ is cheaper in QuickJS than `new HandlerRequest(...)`
    const request = { __proto__: requestProto, path, _headers: headers };
    // null: the usual value, which the prototype has (what the HTTP server's C path sends)
    if (method !== null && method !== "GET") request.method = method;
    if (url !== null && url !== path) request._url = url;
    if (query !== null && query !== "{}") request._query = query;
    if (body !== null && body !== "") request.body = body;
    const result = handler(request);
    if (result instanceof Response) return encode(result, outbox.length !== 0 ? "O" : "R");  // the common case
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      const slot = { done: false, value: null, error: null };
      result.then((r) => { slot.done = true; try { slot.value = encode(r, ""); } catch (e) { slot.error = e; } },
        (e) => { slot.done = true; slot.error = e; });
      // A handler that awaits nothing slow (no timer, no fetch) is done after the call's
      // microtask checkpoint: answer it now, without the host's round trips.
      if (checkpoint !== null) {
        checkpoint();
        if (slot.done) return answer(slot);
      }
      const id = nextPending++;
      pending.set(id, slot);
      return `P${id}`;
    }
    return encode(result, outbox.length !== 0 ? "O" : "R");
  };
  // "R"/"O" + the encoded response of a settled call; throws the handler's error.
  function answer(slot) {
    if (slot.error !== null) throw slot.error;
    return (outbox.length !== 0 ? "O" : "R") + slot.value;
  }
  // -> null while pending, else what answer() gives.
  G.__hyphal_handler_result = function (id) {
    const slot = pending.get(id);
    if (slot === undefined) throw new Error(`no pending handler call ${id}`);
    if (!slot.done) return null;
    pending.delete(id);
    return answer(slot);
  };
})(globalThis.__hyphal);
