// hyphal prelude, part 3: web platform globals -- TextEncoder/TextDecoder, atob/btoa,
// structuredClone, URL/URLSearchParams, EventTarget/AbortController, Headers/Request/Response
// and fetch (performed by the host on hyphal's loop). Engine-provided versions are kept.
(function (H) {
  "use strict";
  const G = globalThis;

  // ---- DOMException, Event, EventTarget -----------------------------------------------------
  if (typeof G.DOMException !== "function") {
    G.DOMException = class DOMException extends Error {
      constructor(message = "", name = "Error") { super(message); this.name = name; }
      get code() { return { AbortError: 20, TimeoutError: 23, DataCloneError: 25 }[this.name] || 0; }
    };
  }
  if (typeof G.Event !== "function") {
    G.Event = class Event {
      constructor(type, init = {}) { this.type = `${type}`; this.bubbles = !!init.bubbles; this.cancelable = !!init.cancelable; this.defaultPrevented = false; this.target = null; this.timeStamp = H.now(); }
      preventDefault() { if (this.cancelable) this.defaultPrevented = true; }
      stopPropagation() {}
      stopImmediatePropagation() { this._stop = true; }
    };
  }
  if (typeof G.EventTarget !== "function") {
    G.EventTarget = class EventTarget {
      constructor() { Object.defineProperty(this, "_listeners", { value: new Map() }); }
      addEventListener(type, fn, opts) {
        if (!fn) return;
        if (!this._listeners.has(type)) this._listeners.set(type, []);
        const list = this._listeners.get(type);
        if (!list.some((l) => l.fn === fn)) list.push({ fn, once: !!(opts && opts.once) });
      }
      removeEventListener(type, fn) {
        const list = this._listeners.get(type);
        if (list) { const i = list.findIndex((l) => l.fn === fn); if (i >= 0) list.splice(i, 1); }
      }
      dispatchEvent(event) {
        try { Object.defineProperty(event, "target", { value: this, configurable: true }); } catch (e) { /* */ }
        const handler = this[`on${event.type}`];
        if (typeof handler === "function") handler.call(this, event);
        for (const l of [...(this._listeners.get(event.type) || [])]) {
          if (l.once) this.removeEventListener(event.type, l.fn);
          if (typeof l.fn === "function") l.fn.call(this, event); else l.fn.handleEvent(event);
          if (event._stop) break;
        }
        return !event.defaultPrevented;
      }
    };
  }

  // ---- AbortController ----------------------------------------------------------------------
  if (typeof G.AbortController !== "function") {
    class AbortSignal extends G.EventTarget {
      constructor() { super(); this.aborted = false; this.reason = undefined; this.onabort = null; }
      throwIfAborted() { if (this.aborted) throw this.reason; }
      static abort(reason) { const c = new G.AbortController(); c.abort(reason); return c.signal; }
      static timeout(ms) {
        const c = new G.AbortController();
        setTimeout(() => c.abort(new G.DOMException("The operation was aborted due to timeout", "TimeoutError")), ms).unref();
        return c.signal;
      }
      static any(signals) {
        const c = new G.AbortController();
        for (const s of signals) {
          if (s.aborted) { c.abort(s.reason); break; }
          s.addEventListener("abort", () => c.abort(s.reason), { once: true });
        }
        return c.signal;
      }
    }
    G.AbortSignal = AbortSignal;
    G.AbortController = class AbortController {
      constructor() { this.signal = new AbortSignal(); }
      abort(reason) {
        const s = this.signal;
        if (s.aborted) return;
        s.aborted = true;
        s.reason = reason === undefined ? new G.DOMException("This operation was aborted", "AbortError") : reason;
        s.dispatchEvent(new G.Event("abort"));
      }
    };
  }

  // ---- TextEncoder / TextDecoder --------------------------------------------------------------
  function utf8Encode(str) {
    const out = [];
    for (let i = 0; i < str.length; i++) {
      let c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        const d = str.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; } else c = 0xfffd;
      } else if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }
  // The WHATWG UTF-8 decoder: one U+FFFD per maximal ill-formed subsequence.
  function utf8Decode(bytes, fatal) {
    let out = "";
    const chunk = [];
    let codePoint = 0, seen = 0, needed = 0, lower = 0x80, upper = 0xbf;
    const emit = (c) => {
      if (c === 0xfffd && fatal) throw new TypeError("The encoded data was not valid for encoding utf-8");
      if (c >= 0x10000) { c -= 0x10000; chunk.push(0xd800 + (c >> 10), 0xdc00 + (c & 1023)); } else chunk.push(c);
      if (chunk.length > 8000) { out += String.fromCharCode.apply(null, chunk); chunk.length = 0; }
    };
    for (let i = 0; i < bytes.length;) {
      const b = bytes[i];
      if (needed === 0) {
        i++;
        if (b <= 0x7f) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) { needed = 1; codePoint = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) { if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; needed = 2; codePoint = b & 0xf; }
        else if (b >= 0xf0 && b <= 0xf4) { if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; needed = 3; codePoint = b & 0x7; }
        else emit(0xfffd);
        continue;
      }
      if (b < lower || b > upper) { // the sequence ends early; b starts over
        codePoint = needed = seen = 0; lower = 0x80; upper = 0xbf;
        emit(0xfffd);
        continue;
      }
      lower = 0x80; upper = 0xbf;
      codePoint = (codePoint << 6) | (b & 0x3f);
      i++;
      if (++seen === needed) { emit(codePoint); codePoint = needed = seen = 0; }
    }
    if (needed !== 0) emit(0xfffd);
    return out + String.fromCharCode.apply(null, chunk);
  }
  function toBytes(input) {
    if (input === undefined || input === null) return new Uint8Array(0);
    if (input instanceof Uint8Array) return input;
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError("The \"input\" argument must be an instance of ArrayBuffer or ArrayBufferView");
  }
  H.utf8Encode = utf8Encode;
  H.utf8Decode = (b) => utf8Decode(toBytes(b), false);
  if (typeof G.TextEncoder !== "function") {
    G.TextEncoder = class TextEncoder {
      get encoding() { return "utf-8"; }
      encode(s = "") { return utf8Encode(`${s}`); }
      encodeInto(s, dest) { const b = utf8Encode(`${s}`); const n = Math.min(b.length, dest.length); dest.set(b.subarray(0, n)); return { read: s.length, written: n }; }
    };
  }
  if (typeof G.TextDecoder !== "function") {
    G.TextDecoder = class TextDecoder {
      constructor(label = "utf-8", opts = {}) {
        const l = `${label}`.toLowerCase();
        if (l !== "utf-8" && l !== "utf8" && l !== "unicode-1-1-utf-8") throw new RangeError(`The "${label}" encoding is not supported`);
        this.fatal = !!opts.fatal; this.ignoreBOM = !!opts.ignoreBOM;
      }
      get encoding() { return "utf-8"; }
      decode(input) {
        let b = toBytes(input);
        if (!this.ignoreBOM && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
        return utf8Decode(b, this.fatal);
      }
    };
  }

  // ---- base64 -------------------------------------------------------------------------------
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const B64I = new Map([...B64].map((c, i) => [c, i]));
  function bytesToB64(bytes) {
    let out = "";
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
      out += B64[n >> 18] + B64[(n >> 12) & 63] + (i + 1 < bytes.length ? B64[(n >> 6) & 63] : "=") + (i + 2 < bytes.length ? B64[n & 63] : "=");
    }
    return out;
  }
  function b64ToBytes(s) {
    s = `${s}`.replace(/[\t\n\f\r ]/g, "");
    if (s.length % 4 === 0) s = s.replace(/==?$/, "");
    if (s.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(s)) throw new G.DOMException("The string to be decoded is not correctly encoded.", "InvalidCharacterError");
    const out = new Uint8Array(Math.floor(s.length * 3 / 4));
    let bits = 0, acc = 0, j = 0;
    for (const c of s) {
      acc = (acc << 6) | B64I.get(c); bits += 6;
      if (bits >= 8) { bits -= 8; out[j++] = (acc >> bits) & 255; }
    }
    return out;
  }
  H.bytesToB64 = bytesToB64;
  H.b64ToBytes = b64ToBytes;
  if (typeof G.btoa !== "function") {
    G.btoa = function btoa(s) {
      s = `${s}`;
      const bytes = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) throw new G.DOMException("Invalid character", "InvalidCharacterError");
        bytes[i] = c;
      }
      return bytesToB64(bytes);
    };
  }
  if (typeof G.atob !== "function") {
    G.atob = function atob(s) { return String.fromCharCode(...b64ToBytes(s)); };
  }

  // ---- structuredClone ----------------------------------------------------------------------
  if (typeof G.structuredClone !== "function") {
    G.structuredClone = function structuredClone(value) {
      const seen = new Map();
      const fail = (what) => { throw new G.DOMException(`${what} could not be cloned.`, "DataCloneError"); };
      function clone(v) {
        if (typeof v === "function") fail(H.inspect(v));
        if (typeof v === "symbol") fail(v.toString());
        if (v === null || typeof v !== "object") return v;
        if (seen.has(v)) return seen.get(v);
        let out;
        if (Array.isArray(v)) { out = new Array(v.length); seen.set(v, out); for (const k of Object.keys(v)) out[k] = clone(v[k]); return out; }
        if (v instanceof Date) out = new Date(v.getTime());
        else if (v instanceof RegExp) out = new RegExp(v.source, v.flags);
        else if (v instanceof Map) { out = new Map(); seen.set(v, out); for (const [k, x] of v) out.set(clone(k), clone(x)); return out; }
        else if (v instanceof Set) { out = new Set(); seen.set(v, out); for (const x of v) out.add(clone(x)); return out; }
        else if (v instanceof ArrayBuffer) out = v.slice(0);
        else if (ArrayBuffer.isView(v)) out = new v.constructor(v);
        else if (v instanceof Error) { out = new (G[v.name] || Error)(v.message); if (v.stack) out.stack = v.stack; }
        else if (v instanceof Number || v instanceof String || v instanceof Boolean) out = Object(v.valueOf());
        else if (v instanceof Promise || v instanceof WeakMap || v instanceof WeakSet) fail(H.inspect(v));
        else {
          out = {}; seen.set(v, out);
          for (const k of Object.keys(v)) out[k] = clone(v[k]);
          return out;
        }
        seen.set(v, out);
        return out;
      }
      return clone(value);
    };
  }

  // ---- URLSearchParams / URL ----------------------------------------------------------------
  function formEncode(s) {
    return encodeURIComponent(s).replace(/%20/g, "+").replace(/[!'()~]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
  }
  function formDecode(s) {
    s = s.replace(/\+/g, " ");
    try { return decodeURIComponent(s); } catch (e) { return s.replace(/%([0-9a-fA-F]{2})/g, (m, h) => String.fromCharCode(parseInt(h, 16))); }
  }
  class URLSearchParams {
    constructor(init = "") {
      Object.defineProperty(this, "_list", { value: [], writable: true });
      Object.defineProperty(this, "_url", { value: null, writable: true });
      if (init instanceof URLSearchParams) this._list = init._list.map((p) => [...p]);
      else if (typeof init === "object" && init !== null && typeof init[Symbol.iterator] === "function") {
        for (const pair of init) { const p = [...pair]; if (p.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple"); this._list.push([`${p[0]}`, `${p[1]}`]); }
      } else if (typeof init === "object" && init !== null) {
        for (const k of Object.keys(init)) this._list.push([k, `${init[k]}`]);
      } else this._parse(`${init}`);
    }
    _parse(s) {
      this._list = [];
      if (s.startsWith("?")) s = s.slice(1);
      for (const part of s.split("&")) {
        if (!part) continue;
        const i = part.indexOf("=");
        this._list.push(i < 0 ? [formDecode(part), ""] : [formDecode(part.slice(0, i)), formDecode(part.slice(i + 1))]);
      }
    }
    _update() { if (this._url) { const s = this.toString(); this._url._query = s ? s : null; } }
    get size() { return this._list.length; }
    append(k, v) { this._list.push([`${k}`, `${v}`]); this._update(); }
    delete(k, v) { this._list = this._list.filter(([a, b]) => !(a === `${k}` && (v === undefined || b === `${v}`))); this._update(); }
    get(k) { const p = this._list.find(([a]) => a === `${k}`); return p ? p[1] : null; }
    getAll(k) { return this._list.filter(([a]) => a === `${k}`).map((p) => p[1]); }
    has(k, v) { return this._list.some(([a, b]) => a === `${k}` && (v === undefined || b === `${v}`)); }
    set(k, v) {
      k = `${k}`; v = `${v}`;
      const i = this._list.findIndex(([a]) => a === k);
      if (i < 0) this._list.push([k, v]);
      else { this._list[i][1] = v; this._list = this._list.filter(([a], j) => a !== k || j === i); }
      this._update();
    }
    sort() { this._list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); this._update(); }
    forEach(fn, self) { for (const [k, v] of this._list) fn.call(self, v, k, this); }
    keys() { return this._list.map((p) => p[0])[Symbol.iterator](); }
    values() { return this._list.map((p) => p[1])[Symbol.iterator](); }
    entries() { return this._list.map((p) => [...p])[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(([k, v]) => `${formEncode(k)}=${formEncode(v)}`).join("&"); }
    [Symbol.for("nodejs.util.inspect.custom")]() {
      if (!this._list.length) return "URLSearchParams {}";
      return `URLSearchParams { ${this._list.map(([k, v]) => `${H.strEscape(k)} => ${H.strEscape(v)}`).join(", ")} }`;
    }
  }
  const SPECIAL = { "http:": "80", "https:": "443", "ws:": "80", "wss:": "443", "ftp:": "21", "file:": "" };
  function normalizePath(path, special) {
    const out = [];
    const segments = path.split("/");
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      const last = i === segments.length - 1;
      if (s === "..") { if (out.length > 1) out.pop(); if (last) out.push(""); }
      else if (s === ".") { if (last) out.push(""); }
      else out.push(s);
    }
    let p = out.join("/");
    if (special && !p.startsWith("/")) p = "/" + p;
    return p.replace(/[ "<>`{}]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"));
  }
  const URL_RE = /^([a-zA-Z][a-zA-Z0-9+.-]*:)(?:\/\/(?:([^:@/?#]*)(?::([^@/?#]*))?@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(\?[^#]*)?(#.*)?$/;
  class URL {
    constructor(url, base) {
      url = `${url}`.trim();
      let m = URL_RE.exec(url);
      if (!m || (SPECIAL[m[1].toLowerCase()] !== undefined && m[1].toLowerCase() !== "file:" && !url.slice(m[1].length).startsWith("//") && base === undefined)) {
        if (base === undefined || (m && SPECIAL[m[1].toLowerCase()] === undefined)) {
          if (!m) { const e = new TypeError("Invalid URL"); e.code = "ERR_INVALID_URL"; e.input = url; throw e; }
        } else {
          const b = base instanceof URL ? base : new URL(base);
          let rel;
          if (url.startsWith("//")) rel = b.protocol + url;
          else if (url.startsWith("/")) rel = `${b.protocol}//${b.host}${url}`;
          else if (url.startsWith("?")) rel = `${b.protocol}//${b.host}${b.pathname}${url}`;
          else if (url.startsWith("#")) rel = `${b.protocol}//${b.host}${b.pathname}${b.search}${url}`;
          else if (url === "") rel = `${b.protocol}//${b.host}${b.pathname}${b.search}`;
          else rel = `${b.protocol}//${b.host}${b.pathname.replace(/[^/]*$/, "")}${url}`;
          m = URL_RE.exec(rel);
          if (!m) { const e = new TypeError("Invalid URL"); e.code = "ERR_INVALID_URL"; throw e; }
        }
      }
      const protocol = m[1].toLowerCase();
      const special = SPECIAL[protocol] !== undefined;
      this._protocol = protocol;
      this._username = m[2] || "";
      this._password = m[3] || "";
      this._hostname = (m[4] || "").toLowerCase();
      if (special && protocol !== "file:" && !this._hostname) { const e = new TypeError("Invalid URL"); e.code = "ERR_INVALID_URL"; e.input = url; throw e; }
      this._port = m[5] && m[5] !== SPECIAL[protocol] ? `${Number(m[5])}` : "";
      this._hasAuthority = m[4] !== undefined;
      this._pathname = this._hasAuthority || special ? normalizePath(m[6] || "", special) : (m[6] || "");
      // null: no "?" / "#" at all; "": present but empty (kept in href, as WHATWG says)
      this._query = m[7] !== undefined ? m[7].slice(1).replace(/ /g, "%20") : null;
      this._fragment = m[8] !== undefined ? m[8].slice(1).replace(/ /g, "%20") : null;
      this._params = new URLSearchParams(this._query || "");
      this._params._url = this;
    }
    get protocol() { return this._protocol; }
    set protocol(v) { v = `${v}`.replace(/:?$/, ":").toLowerCase(); this._protocol = v; }
    get username() { return this._username; }
    set username(v) { this._username = encodeURIComponent(v); }
    get password() { return this._password; }
    set password(v) { this._password = encodeURIComponent(v); }
    get hostname() { return this._hostname; }
    set hostname(v) { this._hostname = `${v}`.toLowerCase(); }
    get port() { return this._port; }
    set port(v) { v = `${v}`; this._port = v === SPECIAL[this._protocol] ? "" : v; }
    get host() { return this._port ? `${this._hostname}:${this._port}` : this._hostname; }
    set host(v) { const [h, p] = `${v}`.split(":"); this.hostname = h; if (p !== undefined) this.port = p; }
    get origin() { return SPECIAL[this._protocol] !== undefined && this._protocol !== "file:" ? `${this._protocol}//${this.host}` : "null"; }
    get pathname() { return this._pathname; }
    set pathname(v) { v = `${v}`; this._pathname = normalizePath(v.startsWith("/") ? v : "/" + v, true); }
    get search() { return this._query ? `?${this._query}` : ""; }
    set search(v) { v = `${v}`.replace(/^\?/, ""); this._query = v ? v : null; this._params._parse(v); }
    get searchParams() { return this._params; }
    get hash() { return this._fragment ? `#${this._fragment}` : ""; }
    set hash(v) { v = `${v}`.replace(/^#/, ""); this._fragment = v ? v : null; }
    get href() {
      const auth = this._username ? `${this._username}${this._password ? ":" + this._password : ""}@` : "";
      const authority = this._hasAuthority || SPECIAL[this._protocol] !== undefined ? `//${auth}${this.host}` : "";
      const query = this._query !== null ? `?${this._query}` : "";
      const fragment = this._fragment !== null ? `#${this._fragment}` : "";
      return `${this._protocol}${authority}${this._pathname}${query}${fragment}`;
    }
    set href(v) { Object.assign(this, new URL(v)); }
    toString() { return this.href; }
    toJSON() { return this.href; }
    static canParse(url, base) { try { new URL(url, base); return true; } catch (e) { return false; } }
    [Symbol.for("nodejs.util.inspect.custom")]() {
      const o = { href: this.href, origin: this.origin, protocol: this.protocol, username: this.username, password: this.password, host: this.host, hostname: this.hostname, port: this.port, pathname: this.pathname, search: this.search, searchParams: this.searchParams, hash: this.hash };
      return `URL ${H.inspect(o).replace("searchParams: [URLSearchParams]", `searchParams: ${this.searchParams[Symbol.for("nodejs.util.inspect.custom")]()}`)}`;
    }
  }
  if (typeof G.URL !== "function") G.URL = URL;
  if (typeof G.URLSearchParams !== "function") G.URLSearchParams = URLSearchParams;

  // ---- Headers / Request / Response ---------------------------------------------------------
  class Headers {
    constructor(init) {
      Object.defineProperty(this, "_map", { value: new Map() });
      if (init instanceof Headers) { for (const [k, v] of init._map) this._map.set(k, v); }
      else if (Array.isArray(init)) { for (const [k, v] of init) this.append(k, v); }
      else if (init && typeof init === "object") {
        if (typeof init[Symbol.iterator] === "function") { for (const [k, v] of init) this.append(k, v); }
        else for (const k of Object.keys(init)) this.append(k, init[k]);
      }
    }
    append(k, v) {
      k = `${k}`.toLowerCase(); v = `${v}`.trim();
      const old = this._map.get(k);
      this._map.set(k, old === undefined ? v : `${old}, ${v}`);
    }
    set(k, v) { this._map.set(`${k}`.toLowerCase(), `${v}`.trim()); }
    get(k) { const v = this._map.get(`${k}`.toLowerCase()); return v === undefined ? null : v; }
    has(k) { return this._map.has(`${k}`.toLowerCase()); }
    delete(k) { this._map.delete(`${k}`.toLowerCase()); }
    getSetCookie() { const v = this._map.get("set-cookie"); return v === undefined ? [] : v.split(", "); }
    forEach(fn, self) { for (const [k, v] of this.entries()) fn.call(self, v, k, this); }
    *entries() { yield* [...this._map].sort((a, b) => (a[0] < b[0] ? -1 : 1)); }
    *keys() { for (const [k] of this.entries()) yield k; }
    *values() { for (const [, v] of this.entries()) yield v; }
    [Symbol.iterator]() { return this.entries(); }
    [Symbol.for("nodejs.util.inspect.custom")]() { return `Headers ${H.inspect(Object.fromEntries(this.entries()))}`; }
  }
  G.Headers = Headers;

  function bodyToBytes(body) {
    if (body === undefined || body === null) return null;
    if (typeof body === "string") return utf8Encode(body);
    if (body instanceof URLSearchParams) return utf8Encode(body.toString());
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return toBytes(body).slice();
    return utf8Encode(`${body}`);
  }
  function defaultType(body) {
    if (typeof body === "string") return "text/plain;charset=UTF-8";
    if (body instanceof URLSearchParams) return "application/x-www-form-urlencoded;charset=UTF-8";
    return null;
  }
  class Body {
    _initBody(body, headers) {
      // Text stays text until bytes are asked for (the handler fast path never encodes).
      if (typeof body === "string") { this._text = body; this._raw = null; }
      else { this._text = null; this._raw = bodyToBytes(body); }
      this.bodyUsed = false;
      const type = defaultType(body);
      if (type && !headers.has("content-type")) headers.set("content-type", type);
    }
    get _bytes() {
      if (this._raw === null && this._text !== null) this._raw = utf8Encode(this._text);
      return this._raw;
    }
    _consume() {
      if (this.bodyUsed) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
      this.bodyUsed = true;
      return Promise.resolve();
    }
    get body() { return this._bytes; }
    _textNow() { return this._text !== null ? this._text : this._raw ? utf8Decode(this._raw, false) : ""; }
    text() { return this._consume().then(() => this._textNow()); }
    json() { return this._consume().then(() => JSON.parse(this._textNow())); }
    arrayBuffer() { return this._consume().then(() => (this._bytes ? this._bytes.slice().buffer : new ArrayBuffer(0))); }
    bytes() { return this.arrayBuffer().then((b) => new Uint8Array(b)); }
    blob() { return Promise.reject(new Error("Blob bodies are not supported by hyphal")); }
  }
  class Request extends Body {
    constructor(input, init = {}) {
      super();
      const from = input instanceof Request ? input : null;
      this.url = from ? from.url : new URL(`${input}`).href;
      this.method = `${init.method || (from ? from.method : "GET")}`.toUpperCase();
      this.headers = new Headers(init.headers || (from ? from.headers : undefined));
      this.signal = init.signal || (from ? from.signal : new G.AbortController().signal);
      this.redirect = init.redirect || (from ? from.redirect : "follow");
      if ((this.method === "GET" || this.method === "HEAD") && init.body != null) throw new TypeError("Request with GET/HEAD method cannot have body.");
      this._initBody(init.body !== undefined ? init.body : from ? from._bytes : null, this.headers);
    }
    clone() { return new Request(this); }
  }
  G.Request = Request;
  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      this.status = init.status === undefined ? 200 : init.status | 0;
      if (this.status < 200 || this.status > 599) throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      this.statusText = init.statusText !== undefined ? `${init.statusText}` : "";
      this._h = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
      this._ct = null;
      this.type = "default";
      this.url = init.url || "";
      this.redirected = !!init.redirected;
      this._initBody(body, this._h);
    }
    // Headers are materialised on first access; the fast factories keep only the content type.
    get headers() {
      if (this._h === null) { this._h = new Headers([["content-type", this._ct]]); this._ct = null; }
      return this._h;
    }
    get ok() { return this.status >= 200 && this.status < 300; }
    [Symbol.for("nodejs.util.inspect.custom")]() {  // node's fields, not the ones kept for speed
      const { status, statusText, headers, bodyUsed, ok, redirected, type, url } = this;
      return `Response ${H.inspect({ status, statusText, headers, body: this._textNow(), bodyUsed, ok, redirected, type, url })}`;
    }
    clone() { return new Response(this._bytes, { status: this.status, statusText: this.statusText, headers: new Headers(this.headers), url: this.url }); }
    static json(data, init) {
      if (init === undefined && nativeJSON !== null && objectProto.toJSON === undefined && arrayProto.toJSON === undefined) {
        const text = nativeJSON(data, objectProto, arrayProto);  // the common case, inlined
        if (text !== undefined) return { __proto__: okJSON, _text: text };
      }
      return typed(toJSON(data), init, "application/json", okJSON);
    }
    static text(text, init) { return typed(`${text}`, init, "text/plain; charset=utf-8", okText); }
    static html(html, init) { return typed(`${html}`, init, "text/html; charset=utf-8", okHTML); }
    static redirect(url, status = 302) {
      if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError("Invalid status code");
      return new Response(null, { status, headers: { location: `${url}` } });
    }
    static error() { const r = new Response(null, { status: 200 }); r.status = 0; r.type = "error"; return r; }
  }
  // JSON.stringify, through QuickJS's native __hyphal_json where that exists (hyphal/js/_speedups.c:
  // plain data, about 3x faster; undefined for anything else).
  const nativeJSON = typeof G.__hyphal_json === "function" ? G.__hyphal_json : null;
  const objectProto = Object.prototype, arrayProto = Array.prototype;
  function toJSON(data) {
    if (nativeJSON !== null && objectProto.toJSON === undefined && arrayProto.toJSON === undefined) {
      const text = nativeJSON(data, objectProto, arrayProto);
      if (text !== undefined) return text;
    }
    return JSON.stringify(data);
  }
  // The fast factories behind Response.json/text/html: few own fields, defaults on the
  // prototype (each own field costs QuickJS about 50 ns). With the default status a response
  // has one own field, its text: status, content type and _h live on a prototype per content
  // type. Reading `headers` gives it its own _h and _ct (see the getter above).
  function FastResponse(status, text, contentType) {
    this.status = status; this._h = null; this._ct = contentType; this._text = text;
  }
  FastResponse.prototype = Response.prototype;
  Object.assign(Response.prototype, { statusText: "", type: "default", url: "", redirected: false, bodyUsed: false, _raw: null });
  // (a literal with __proto__ is cheaper in QuickJS than `new` with a constructor)
  const okProto = (contentType) => Object.assign(Object.create(Response.prototype), { status: 200, _h: null, _ct: contentType });
  const okJSON = okProto("application/json"), okText = okProto("text/plain; charset=utf-8"),
    okHTML = okProto("text/html; charset=utf-8");
  function typed(text, init, contentType, ok) {
    if (init === undefined) return { __proto__: ok, _text: text };
    if (init.headers === undefined && init.statusText === undefined) {
      const status = init.status === undefined ? 200 : init.status | 0;
      if (status < 200 || status > 599) throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      return new FastResponse(status, text, contentType);
    }
    const headers = new Headers(init.headers);
    if (!headers.has("content-type")) headers.set("content-type", contentType);
    return new Response(text, { status: init.status, statusText: init.statusText, headers });
  }
  G.Response = Response;

  // ---- fetch --------------------------------------------------------------------------------
  G.fetch = function fetch(input, init) {
    let request;
    try { request = new Request(input, init); } catch (e) { return Promise.reject(e); }
    return new Promise((resolve, reject) => {
      const signal = request.signal;
      if (signal && signal.aborted) { reject(signal.reason); return; }
      const onAbort = () => { H.cancelOp(id); reject(signal.reason); };
      const id = H.hostOp("f", {
        url: request.url, method: request.method, headers: [...request.headers],
        body: request._bytes ? bytesToB64(request._bytes) : null, redirect: request.redirect,
      }, (ok, value) => {
        if (signal) signal.removeEventListener("abort", onAbort);
        if (!ok) { const e = new TypeError("fetch failed"); e.cause = new Error(value.message); reject(e); return; }
        const response = new Response(b64ToBytes(value.body), { status: value.status === 0 ? 200 : value.status, statusText: value.statusText, headers: value.headers, url: value.url, redirected: value.redirected });
        resolve(response);
      });
      if (signal) signal.addEventListener("abort", onAbort, { once: true });
    });
  };
})(globalThis.__hyphal);
