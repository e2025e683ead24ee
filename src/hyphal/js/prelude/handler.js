// hyphal prelude, part 5: HTTP handler glue. The host calls __hyphal_handle(method, url, path,
// queryJSON, headersJSON, body) with primitives only. The answer is a string:
//   "R" + encoded response   the response is ready, the outbox is empty (see encode)
//   "O" + encoded response   ready, and the outbox has output to drain
//   "P" + id                                      the handler returned a pending promise;
//                                                 poll __hyphal_handler_result(id) after jobs
(function (H) {
  "use strict";
  const G = globalThis;
  function HandlerRequest(method, url, path, query, headers, body) {
    this.method = method; this.url = url; this.path = path;
    this._query = query; this._headers = headers; this.body = body;
  }
  Object.defineProperties(HandlerRequest.prototype, {
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
  HandlerRequest.prototype.json = function json() { return JSON.parse(this.body); };
  G.HandlerRequest = HandlerRequest;
  const requestProto = HandlerRequest.prototype;
  const hasOutput = H.hasOutput;
  const unhandled = H.unhandled;
  // The part before the body of a Response.json/text/html answer, per status and content type.
  const heads = new Map();
  // kind (R|O, added by the caller), base64 flag (0|1), status (3 digits), headers as
  // k \x01 v \x01 k \x01 v, \x02, body. Header text cannot contain \x01 or \x02.
  function encode(response) {
    if (!(response instanceof Response)) {
      if (response === undefined || response === null) throw new TypeError("the handler returned no Response (return Response.json(...), Response.text(...) or new Response(...))");
      response = typeof response === "string" ? Response.text(response) : Response.json(response);
    }
    if (response._h === null) {  // Response.json/text/html: one content-type header
      const key = response.status === 200 ? response._ct : `${response.status} ${response._ct}`;
      let head = heads.get(key);
      if (head === undefined) {
        head = "0" + response.status + "content-type\x01" + response._ct + "\x02";
        if (heads.size < 256) heads.set(key, head);
      }
      return head + response._text;
    }
    let headers = "";
    for (const [k, v] of response._h._map) headers += (headers ? "\x01" : "") + k + "\x01" + v;
    const status = response.status < 100 ? "000" : response.status;
    if (response._text !== null) return "0" + status + headers + "\x02" + response._text;
    return "1" + status + headers + "\x02" + (response._raw ? H.bytesToB64(response._raw) : "");
  }
  let nextPending = 1;
  const pending = new Map();
  G.__hyphal_handle = function (method, url, path, query, headers, body) {
    const handler = G.handler;
    if (typeof handler !== "function") throw new TypeError("the handler file must define `function handler(request)`");
    if (unhandled.size !== 0) H.processRejections();  // left by earlier calls: report them
    // a literal with __proto__ is cheaper in QuickJS than `new HandlerRequest(...)`
    const result = handler({ __proto__: requestProto, method, url, path, _query: query, _headers: headers, body });
    if (result instanceof Response) return (hasOutput() ? "O" : "R") + encode(result);  // the common case
    if (result !== null && typeof result === "object" && typeof result.then === "function") {
      const id = nextPending++;
      const slot = { done: false, value: null, error: null };
      pending.set(id, slot);
      result.then((r) => { slot.done = true; try { slot.value = encode(r); } catch (e) { slot.error = e; } },
        (e) => { slot.done = true; slot.error = e; });
      return `P${id}`;
    }
    return (hasOutput() ? "O" : "R") + encode(result);
  };
  // -> null while pending; "R"/"O" + JSON when done; throws the handler's error.
  G.__hyphal_handler_result = function (id) {
    const slot = pending.get(id);
    if (slot === undefined) throw new Error(`no pending handler call ${id}`);
    if (!slot.done) return null;
    pending.delete(id);
    if (slot.error !== null) throw slot.error;
    return (hasOutput() ? "O" : "R") + slot.value;
  };
})(globalThis.__hyphal);
