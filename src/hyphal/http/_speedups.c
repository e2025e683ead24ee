/*
 * hyphal.http._speedups: the common HTTP/1.1 request and response in C.
 *
 * Theory of operation
 * -------------------
 * Nearly every request a busy server sees is a plain one: a GET or POST in origin form, HTTP/1.1,
 * a few ordinary headers, a body announced by Content-Length and already read in full. For those,
 * `Scanner.scan(data, append)` builds the `hyphal.http.Request` objects itself -- writing the
 * slots directly, no parser callbacks into Python -- and calls `append(request)` for each. It
 * stops at the first byte it is not *sure* about and returns that offset; the caller hands the
 * rest to the full parser (httptools/llhttp plus the limit checks in _parser.py), which then
 * answers every unusual or hostile request exactly as before. So the scanner only ever accepts
 * a strict subset of what llhttp accepts, and it never answers an error itself:
 *
 *   - method GET, POST, PUT, DELETE, HEAD, OPTIONS or PATCH, one space, a target of visible
 *     ASCII starting with '/' (none of "#<>\^`{|}), one space, exactly "HTTP/1.1", CRLF;
 *   - header lines `token ":" OWS value CRLF`, the value non-empty, visible ASCII, spaces and
 *     tabs inside it only (no obs-fold, no bare LF, no trailing whitespace);
 *   - no Transfer-Encoding, Connection, Proxy-Connection, Expect or Upgrade header (these change
 *     framing or keep-alive: the full parser decides), at most one Content-Length of 1-9 digits;
 *   - within the configured limits (request line, header count and size, body size) and with the
 *     whole body present; anything over a limit goes to the full parser, which answers 413/414/431.
 *
 * `Answerer.answer(call, request, date_block, out)` calls a handler and, when it returns the
 * common answer -- a `Response` with a bytes body under 8 KiB and a known status other than
 * 204/304, to a keep-alive HTTP/1.1 request other than HEAD -- appends the encoded response
 * (status line, date/server block, headers, content-length, body: one bytes object) to `out`
 * and returns `DONE`; anything else (or `out` None) comes back untouched for the Python code.
 * The call is timed with the monotonic clock: `elapsed` (ns) is set even when it raises.
 * `calls` counts the calls started and `busy` is 1 during one: the sync-handler watchdog
 * (_watchdog.py) reads them to interrupt a call that overran the handler timeout.
 * `Answerer.encode(request, response, date_block, out)` is the encoding half alone.
 *
 * `join_headers(raw_headers)` is the header list in a JS handler's wire form: the latin-1 text
 * `name\x01value\x01name\x01value`.
 *
 * `lower_headers(raw_headers)` is the header list in ASGI's form (names in lower case).
 *
 * `step_as(current_tasks, loop, handle, context, coro)` runs one step of a coroutine inside
 * `context` with `handle` as the loop's current task (asyncio's `_current_tasks` entry, swapped
 * exactly as `asyncio.tasks._enter_task`/`_leave_task` do) and returns `(finished, value)`: the
 * return value, or what it yielded when it suspended. An async handler that finishes in its
 * first step (no I/O) so costs no StopIteration and no Python-level task swap; errors propagate.
 *
 * The pure-Python twin is the full parser alone (`HYPHAL_PURE_PYTHON=1`, or no compiler); the
 * test suite runs the conformance tests against both.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <time.h>

enum { F_METHOD, F_RAW_URL, F_RAW_HEADERS, F_BODY, F_HTTP_VERSION, F_KEEP_ALIVE, F_PATH,
       F_QUERY, F_HEADERS, N_FIELDS };
static const char *field_names[N_FIELDS] = {"method", "raw_url", "raw_headers", "body",
                                            "http_version", "keep_alive", "_path", "_query",
                                            "_headers"};

#define N_METHODS 7
static const char *method_names[N_METHODS] = {"GET", "POST", "PUT", "DELETE", "HEAD",
                                              "OPTIONS", "PATCH"};
static PyObject *methods[N_METHODS];
static PyObject *version_11;
static PyObject *empty_bytes;

/* RFC 9110 tchar; the request-target bytes taken without a second opinion (visible ASCII less
   the ones URLs must escape and '#') */
static unsigned char is_tchar[256];
static unsigned char is_url[256];

static int
slot_offsets(PyTypeObject *tp, const char **names, int n, Py_ssize_t *offsets)
{
    for (int i = 0; i < n; i++) {
        PyObject *descr = PyDict_GetItemString(tp->tp_dict, names[i]);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)
                || ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "%s needs a __slots__ field %s", tp->tp_name,
                         names[i]);
            return -1;
        }
        offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    return 0;
}

static inline PyObject *
get_field(PyObject *obj, Py_ssize_t offset)  /* borrowed, may be NULL */
{
    return *(PyObject **)((char *)obj + offset);
}

typedef struct {
    PyObject_HEAD
    PyTypeObject *request_type;
    Py_ssize_t offsets[N_FIELDS];
    Py_ssize_t max_url;
    Py_ssize_t max_headers;
    Py_ssize_t max_header_bytes;
    Py_ssize_t max_body;
} Scanner;

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"request_type", "max_request_line", "max_headers",
                             "max_header_bytes", "max_body", NULL};
    PyObject *type;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!nnnn", kwlist, &PyType_Type, &type,
                                     &self->max_url, &self->max_headers,
                                     &self->max_header_bytes, &self->max_body))
        return -1;
    PyTypeObject *tp = (PyTypeObject *)type;
    if (slot_offsets(tp, field_names, N_FIELDS, self->offsets) < 0)
        return -1;
    Py_INCREF(type);
    Py_XSETREF(self->request_type, tp);
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    Py_XDECREF(self->request_type);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline void
set_field(PyObject *obj, Py_ssize_t offset, PyObject *value)  /* steals value */
{
    PyObject **slot = (PyObject **)((char *)obj + offset);
    Py_XSETREF(*slot, value);
}

static inline int
lower_equals(const char *s, Py_ssize_t n, const char *lower)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != lower[i])
            return 0;
    }
    return lower[n] == '\0';
}

/* Parse one plain request at buf[0:len). Returns its total length, 0 when it is not one this
   scanner accepts (or incomplete), -1 with an exception set on a memory error. */
static Py_ssize_t
scan_one(Scanner *self, const char *buf, Py_ssize_t len, PyObject *append)
{
    Py_ssize_t pos = 0;
    int method = -1;
    for (int i = 0; i < N_METHODS; i++) {
        Py_ssize_t n = (Py_ssize_t)strlen(method_names[i]);
        if (len > n && buf[n] == ' ' && memcmp(buf, method_names[i], n) == 0) {
            method = i;
            pos = n + 1;
            break;
        }
    }
    if (method < 0 || pos >= len || buf[pos] != '/')
        return 0;
    Py_ssize_t url_start = pos, query_at = -1;
    int percent = 0;
    while (pos < len) {
        unsigned char c = (unsigned char)buf[pos];
        if (!is_url[c])
            break;
        if (c == '?' && query_at < 0)
            query_at = pos;
        else if (c == '%')
            percent = 1;
        pos++;
    }
    Py_ssize_t url_end = pos;
    if (url_end - url_start > self->max_url)
        return 0;
    if (len - pos < 11 || memcmp(buf + pos, " HTTP/1.1\r\n", 11) != 0)
        return 0;
    pos += 11;

    /* header lines: first pass validates and finds the specials, without allocating */
    Py_ssize_t headers_start = pos, count = 0, size = 0;
    long long content_length = -1;
    for (;;) {
        if (pos + 1 >= len)
            return 0;
        if (buf[pos] == '\r') {
            if (buf[pos + 1] != '\n')
                return 0;
            pos += 2;
            break;
        }
        Py_ssize_t name_start = pos;
        while (pos < len && is_tchar[(unsigned char)buf[pos]])
            pos++;
        Py_ssize_t name_len = pos - name_start;
        if (name_len == 0 || pos >= len || buf[pos] != ':')
            return 0;
        pos++;
        while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t'))
            pos++;
        Py_ssize_t value_start = pos;
        while (pos < len) {
            unsigned char c = (unsigned char)buf[pos];
            if ((c < 0x20 && c != '\t') || c >= 0x7f)
                break;
            pos++;
        }
        Py_ssize_t value_len = pos - value_start;
        if (value_len == 0 || pos + 1 >= len || buf[pos] != '\r' || buf[pos + 1] != '\n')
            return 0;
        char last = buf[pos - 1];
        if (last == ' ' || last == '\t')
            return 0;
        pos += 2;
        const char *name = buf + name_start;
        switch (name_len) {
        case 6:  /* expect */
        case 7:  /* upgrade */
        case 10: /* connection */
        case 16: /* proxy-connection */
        case 17: /* transfer-encoding */
            if (lower_equals(name, name_len, "expect") || lower_equals(name, name_len, "upgrade")
                    || lower_equals(name, name_len, "connection")
                    || lower_equals(name, name_len, "proxy-connection")
                    || lower_equals(name, name_len, "transfer-encoding"))
                return 0;
            break;
        case 14:
            if (lower_equals(name, name_len, "content-length")) {
                if (content_length >= 0 || value_len > 9)
                    return 0;
                content_length = 0;
                for (Py_ssize_t i = 0; i < value_len; i++) {
                    char c = buf[value_start + i];
                    if (c < '0' || c > '9')
                        return 0;
                    content_length = content_length * 10 + (c - '0');
                }
            }
            break;
        }
        count++;
        size += name_len + value_len;
    }
    if (count > self->max_headers || size + 4 * count > self->max_header_bytes)
        return 0;
    Py_ssize_t body_len = content_length > 0 ? (Py_ssize_t)content_length : 0;
    if (body_len > self->max_body || len - pos < body_len)
        return 0;

    /* accepted: build the request */
    PyTypeObject *tp = self->request_type;
    PyObject *request = tp->tp_alloc(tp, 0);
    if (request == NULL)
        return -1;
    const Py_ssize_t *off = self->offsets;
    PyObject *headers = PyList_New(count);
    PyObject *raw_url = PyBytes_FromStringAndSize(buf + url_start, url_end - url_start);
    PyObject *body = body_len ? PyBytes_FromStringAndSize(buf + pos, body_len)
                              : Py_NewRef(empty_bytes);
    PyObject *path = NULL;
    if (!percent) {
        Py_ssize_t path_end = query_at >= 0 ? query_at : url_end;
        path = PyUnicode_DecodeLatin1(buf + url_start, path_end - url_start, NULL);
    }
    set_field(request, off[F_METHOD], Py_NewRef(methods[method]));
    set_field(request, off[F_RAW_URL], raw_url);
    set_field(request, off[F_RAW_HEADERS], headers);
    set_field(request, off[F_BODY], body);
    set_field(request, off[F_HTTP_VERSION], Py_NewRef(version_11));
    set_field(request, off[F_KEEP_ALIVE], Py_NewRef(Py_True));
    set_field(request, off[F_PATH], path != NULL ? path : Py_NewRef(Py_None));
    set_field(request, off[F_QUERY], Py_NewRef(Py_None));
    set_field(request, off[F_HEADERS], Py_NewRef(Py_None));
    if (headers == NULL || raw_url == NULL || body == NULL || (path == NULL && percent == 0))
        goto fail;
    Py_ssize_t at = headers_start;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t name_start = at;
        while (buf[at] != ':')
            at++;
        Py_ssize_t name_end = at++;
        while (buf[at] == ' ' || buf[at] == '\t')
            at++;
        Py_ssize_t value_start = at;
        while (buf[at] != '\r')
            at++;
        PyObject *pair = PyTuple_New(2);
        if (pair == NULL)
            goto fail;
        PyList_SET_ITEM(headers, i, pair);
        PyObject *n = PyBytes_FromStringAndSize(buf + name_start, name_end - name_start);
        PyTuple_SET_ITEM(pair, 0, n);
        PyObject *v = PyBytes_FromStringAndSize(buf + value_start, at - value_start);
        PyTuple_SET_ITEM(pair, 1, v);
        if (n == NULL || v == NULL)
            goto fail;
        at += 2;
    }
    PyObject *result = PyObject_CallOneArg(append, request);
    Py_DECREF(request);
    if (result == NULL)
        return -1;
    Py_DECREF(result);
    return pos + body_len;
fail:
    Py_DECREF(request);
    return -1;
}

static PyObject *
Scanner_scan(Scanner *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyBytes_Check(args[0]) || self->request_type == NULL) {
        PyErr_SetString(PyExc_TypeError, "scan(data: bytes, append) on an initialised Scanner");
        return NULL;
    }
    const char *buf = PyBytes_AS_STRING(args[0]);
    Py_ssize_t len = PyBytes_GET_SIZE(args[0]), pos = 0;
    while (pos < len) {
        Py_ssize_t used = scan_one(self, buf + pos, len - pos, args[1]);
        if (used < 0)
            return NULL;
        if (used == 0)
            break;
        pos += used;
    }
    return PyLong_FromSsize_t(pos);
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)(void (*)(void))Scanner_scan, METH_FASTCALL,
     "scan(data, append) -> offset: build and append the plain requests at the start of data; "
     "the offset is where the full parser must take over."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.http._speedups.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Scanner(request_type, max_request_line, max_headers, max_header_bytes, max_body)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

/* -- Answerer ------------------------------------------------------------------------------ */

enum { R_STATUS, R_BODY, R_HEAD, R_STREAM, N_RESPONSE_FIELDS };
static const char *response_fields[N_RESPONSE_FIELDS] = {"status", "body", "_head",
                                                         "stream_body"};
#define SMALL_BODY 8192

static PyObject *done_marker;  /* DONE */
static PyObject *head_method;

typedef struct {
    PyObject_HEAD
    PyTypeObject *request_type;
    PyTypeObject *response_type;
    PyObject *status_lines;  /* dict[int, bytes] */
    Py_ssize_t request_offsets[N_FIELDS];
    Py_ssize_t response_offsets[N_RESPONSE_FIELDS];
    long long elapsed;
    unsigned long long calls;  /* calls started (the watchdog tells one call from the next) */
    int busy;                  /* a call is running (see _watchdog.py) */
} Answerer;

static int
Answerer_init(Answerer *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"request_type", "response_type", "status_lines", NULL};
    PyObject *request_type, *response_type, *status_lines;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!O!", kwlist, &PyType_Type, &request_type,
                                     &PyType_Type, &response_type, &PyDict_Type, &status_lines))
        return -1;
    if (slot_offsets((PyTypeObject *)request_type, field_names, N_FIELDS,
                     self->request_offsets) < 0
            || slot_offsets((PyTypeObject *)response_type, response_fields, N_RESPONSE_FIELDS,
                            self->response_offsets) < 0)
        return -1;
    Py_INCREF(request_type);
    Py_XSETREF(self->request_type, (PyTypeObject *)request_type);
    Py_INCREF(response_type);
    Py_XSETREF(self->response_type, (PyTypeObject *)response_type);
    Py_INCREF(status_lines);
    Py_XSETREF(self->status_lines, status_lines);
    return 0;
}

static void
Answerer_dealloc(Answerer *self)
{
    Py_XDECREF(self->request_type);
    Py_XDECREF(self->response_type);
    Py_XDECREF(self->status_lines);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static inline long long
monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The encoded response when `result` is the common answer to `request`, else NULL without
   an exception. -1 on a memory error. */
static int
encode_plain(Answerer *self, PyObject *request, PyObject *result, PyObject *date_block,
             PyObject **encoded)
{
    *encoded = NULL;
    const Py_ssize_t *rq = self->request_offsets, *rs = self->response_offsets;
    if (Py_TYPE(result) != self->response_type || get_field(result, rs[R_STREAM]) != Py_None)
        return 0;
    PyObject *keep = get_field(request, rq[F_KEEP_ALIVE]);
    PyObject *version = get_field(request, rq[F_HTTP_VERSION]);
    PyObject *method = get_field(request, rq[F_METHOD]);
    if (keep != Py_True || version == NULL || method == NULL || !PyUnicode_CheckExact(version)
            || !PyUnicode_CheckExact(method))
        return 0;  /* odd values: the Python code looks */
    if ((version != version_11 && PyUnicode_Compare(version, version_11) != 0)
            || method == head_method || PyUnicode_Compare(method, head_method) == 0)
        return 0;
    PyObject *status = get_field(result, rs[R_STATUS]);
    PyObject *body = get_field(result, rs[R_BODY]);
    PyObject *head = get_field(result, rs[R_HEAD]);
    if (status == NULL || body == NULL || head == NULL || !PyLong_CheckExact(status)
            || !PyBytes_CheckExact(body) || !PyBytes_CheckExact(head)
            || !PyBytes_CheckExact(date_block) || PyBytes_GET_SIZE(body) >= SMALL_BODY)
        return 0;
    long code = PyLong_AsLong(status);
    if (code == 204 || code == 304 || (code == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    PyObject *line = PyDict_GetItemWithError(self->status_lines, status);
    if (line == NULL || !PyBytes_CheckExact(line)) {
        if (PyErr_Occurred())
            PyErr_Clear();
        return 0;
    }
    PyObject *parts[4] = {line, date_block, head, body};
    Py_ssize_t body_len = PyBytes_GET_SIZE(body);
    char length[48];
    int length_len = snprintf(length, sizeof length, "content-length: %zd\r\n\r\n", body_len);
    Py_ssize_t total = length_len;
    for (int i = 0; i < 4; i++)
        total += PyBytes_GET_SIZE(parts[i]);
    PyObject *out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL)
        return -1;
    char *p = PyBytes_AS_STRING(out);
    for (int i = 0; i < 3; i++) {
        memcpy(p, PyBytes_AS_STRING(parts[i]), PyBytes_GET_SIZE(parts[i]));
        p += PyBytes_GET_SIZE(parts[i]);
    }
    memcpy(p, length, length_len);
    memcpy(p + length_len, PyBytes_AS_STRING(body), body_len);
    *encoded = out;
    return 0;
}

static PyObject *
Answerer_answer(Answerer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || self->request_type == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "answer(call, request, date_block, out) on an initialised Answerer");
        return NULL;
    }
    PyObject *request = args[1], *out = args[3];
    long long start = monotonic_ns();
    self->calls++;
    self->busy = 1;
    PyObject *result = PyObject_CallOneArg(args[0], request);
    self->busy = 0;  /* no Python runs in between: a timeout can only land inside the call */
    self->elapsed = monotonic_ns() - start;
    if (result == NULL || out == Py_None || !PyList_CheckExact(out))
        return result;
    if (Py_TYPE(request) != self->request_type)
        return result;
    PyObject *encoded;
    if (encode_plain(self, request, result, args[2], &encoded) < 0) {
        Py_DECREF(result);
        return NULL;
    }
    if (encoded == NULL)
        return result;
    Py_DECREF(result);
    int failed = PyList_Append(out, encoded);
    Py_DECREF(encoded);
    return failed ? NULL : Py_NewRef(done_marker);
}

static PyObject *
Answerer_encode(Answerer *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyList_CheckExact(args[3]) || self->request_type == NULL) {
        PyErr_SetString(PyExc_TypeError,
                        "encode(request, response, date_block, out: list) on an initialised "
                        "Answerer");
        return NULL;
    }
    PyObject *encoded;
    if (Py_TYPE(args[0]) != self->request_type)
        Py_RETURN_FALSE;
    if (encode_plain(self, args[0], args[1], args[2], &encoded) < 0)
        return NULL;
    if (encoded == NULL)
        Py_RETURN_FALSE;
    int failed = PyList_Append(args[3], encoded);
    Py_DECREF(encoded);
    if (failed)
        return NULL;
    Py_RETURN_TRUE;
}

static PyMemberDef Answerer_members[] = {
    {"elapsed", T_LONGLONG, offsetof(Answerer, elapsed), READONLY,
     "nanoseconds the last call took"},
    {"calls", T_ULONGLONG, offsetof(Answerer, calls), 0, "calls started"},
    {"busy", T_INT, offsetof(Answerer, busy), 0, "1 while a call runs"},
    {NULL, 0, 0, 0, NULL},
};

static PyMethodDef Answerer_methods[] = {
    {"answer", (PyCFunction)(void (*)(void))Answerer_answer, METH_FASTCALL,
     "answer(call, request, date_block, out) -> DONE (the encoded response was appended to "
     "out) or whatever call(request) returned."},
    {"encode", (PyCFunction)(void (*)(void))Answerer_encode, METH_FASTCALL,
     "encode(request, response, date_block, out) -> whether response was the common answer "
     "to request and its encoding was appended to out."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject AnswererType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.http._speedups.Answerer",
    .tp_basicsize = sizeof(Answerer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Answerer(request_type, response_type, status_lines)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Answerer_init,
    .tp_dealloc = (destructor)Answerer_dealloc,
    .tp_methods = Answerer_methods,
    .tp_members = Answerer_members,
};

/* join_headers(raw_headers: list[tuple[bytes, bytes]]) -> str */
static PyObject *
join_headers(PyObject *module, PyObject *headers)
{
    if (!PyList_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "join_headers() needs a list of (name, value) pairs");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(headers), total = 0;
    unsigned char high = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2
                || !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))
                || !PyBytes_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "join_headers() needs (bytes, bytes) pairs");
            return NULL;
        }
        for (int k = 0; k < 2; k++) {
            PyObject *part = PyTuple_GET_ITEM(pair, k);
            const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(part);
            for (Py_ssize_t j = 0, m = PyBytes_GET_SIZE(part); j < m; j++)
                high |= b[j];
            total += PyBytes_GET_SIZE(part) + ((i || k) ? 1 : 0);
        }
    }
    /* a str must be created with its true widest character (ASCII or latin-1) */
    PyObject *out = PyUnicode_New(total, (high & 0x80) ? 255 : 127);
    if (out == NULL)
        return NULL;
    Py_UCS1 *p = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(headers, i);
        for (int k = 0; k < 2; k++) {
            if (i || k)
                *p++ = 1;
            PyObject *part = PyTuple_GET_ITEM(pair, k);
            memcpy(p, PyBytes_AS_STRING(part), PyBytes_GET_SIZE(part));
            p += PyBytes_GET_SIZE(part);
        }
    }
    return out;
}

/* lower_headers(raw_headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]] */
static PyObject *
lower_headers(PyObject *module, PyObject *headers)
{
    if (!PyList_Check(headers)) {
        PyErr_SetString(PyExc_TypeError, "lower_headers() needs a list of (name, value) pairs");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(headers);
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyList_GET_ITEM(headers, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2
                || !PyBytes_Check(PyTuple_GET_ITEM(pair, 0))) {
            PyErr_SetString(PyExc_TypeError, "lower_headers() needs (bytes, value) pairs");
            Py_DECREF(out);
            return NULL;
        }
        PyObject *name = PyTuple_GET_ITEM(pair, 0);
        const char *raw = PyBytes_AS_STRING(name);
        Py_ssize_t len = PyBytes_GET_SIZE(name), j = 0;
        while (j < len && !(raw[j] >= 'A' && raw[j] <= 'Z'))
            j++;
        PyObject *lowered;
        if (j == len && PyBytes_CheckExact(name)) {
            lowered = Py_NewRef(name);
        } else {
            lowered = PyBytes_FromStringAndSize(raw, len);
            if (lowered == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            char *w = PyBytes_AS_STRING(lowered);
            for (; j < len; j++)
                if (w[j] >= 'A' && w[j] <= 'Z')
                    w[j] += 32;
        }
        PyObject *item = PyTuple_Pack(2, lowered, PyTuple_GET_ITEM(pair, 1));
        Py_DECREF(lowered);
        if (item == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, item);
    }
    return out;
}

/* step_as(current_tasks, loop, handle, context, coro) -> (finished, value) */
static PyObject *
step_as(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyDict_CheckExact(args[0]) || !PyContext_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "step_as(current_tasks: dict, loop, handle, context: Context, coro)");
        return NULL;
    }
    PyObject *tasks = args[0], *loop = args[1], *handle = args[2], *context = args[3];
    PyObject *parent = PyDict_GetItemWithError(tasks, loop);
    if (parent == NULL && PyErr_Occurred())
        return NULL;
    Py_XINCREF(parent);
    if (PyDict_SetItem(tasks, loop, handle) < 0 || PyContext_Enter(context) < 0) {
        Py_XDECREF(parent);
        return NULL;
    }
    PyObject *value = NULL;
    PySendResult sent = PyIter_Send(args[4], Py_None, &value);
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);  /* keep the coroutine's error while restoring */
    int failed = PyContext_Exit(context) < 0;
    PyObject *now = failed ? NULL : PyDict_GetItemWithError(tasks, loop);
    if (!failed && now != handle) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "the current task changed inside a handler step");
        failed = 1;
    }
    if (!failed)
        failed = (parent != NULL ? PyDict_SetItem(tasks, loop, parent)
                                 : PyDict_DelItem(tasks, loop)) < 0;
    Py_XDECREF(parent);
    if (failed) {
        Py_XDECREF(type);
        Py_XDECREF(exc);
        Py_XDECREF(tb);
        Py_XDECREF(value);
        return NULL;
    }
    PyErr_Restore(type, exc, tb);
    if (sent == PYGEN_ERROR)
        return NULL;
    PyObject *pair = PyTuple_Pack(2, sent == PYGEN_RETURN ? Py_True : Py_False, value);
    Py_DECREF(value);
    return pair;
}

/* -- JSCall --------------------------------------------------------------------------------- */

/* A JavaScript handler context's `call(request)` (see _jshandler.py): the request goes to the
 * engine's __hyphal_handle in its wire form and the common answer -- "R", a response prefix
 * (base64 flag, status, headers), \x02, a text body -- comes back as a `Response` without a
 * Python frame. The head of each distinct prefix is computed once by `host._shape(prefix)`
 * ((status, encoded head), or None: not for this path) and kept in `shapes`; the last one
 * used is compared first, without hashing (a handler mostly answers with one shape). Anything
 * else goes back to the host's Python methods: a request that is not a plain `Request` or a
 * context the host marked not `ready` (busy with an async call, or closed: `_call_py`, which
 * raises the right error), a path not yet decoded or not ASCII (`_path`), a query string
 * (`_query`), output to drain or a promise (`_other`),
 * an engine error (`_raise`). `calls` counts the calls made here. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *handle;  /* (method, url, path, query, headers, body) -> answer str */
    PyObject *host;    /* the JSHandlerContext: the slow paths */
    PyObject *shapes;  /* dict: answer prefix -> (status, head) or None */
    PyObject *last_prefix;  /* the prefix used last, and its (status, head) */
    PyObject *last_shape;
    int ready;
    long long calls;
    PyTypeObject *request_type;
    PyTypeObject *response_type;
    Py_ssize_t request_offsets[N_FIELDS];
    Py_ssize_t response_offsets[N_RESPONSE_FIELDS];
} JSCall;

static PyObject *s_path, *s_call_py, *s_query, *s_shape, *s_other, *s_raise;

#define MAX_SHAPES 1024

static PyObject *JSCall_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames);

static PyObject *
JSCall_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"handle", "host", "request_type", "response_type", NULL};
    PyObject *handle, *host, *request_type, *response_type;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!O!", kwlist, &handle, &host,
                                     &PyType_Type, &request_type, &PyType_Type, &response_type))
        return NULL;
    JSCall *self = (JSCall *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = JSCall_vectorcall;
    if (slot_offsets((PyTypeObject *)request_type, field_names, N_FIELDS,
                     self->request_offsets) < 0
            || slot_offsets((PyTypeObject *)response_type, response_fields, N_RESPONSE_FIELDS,
                            self->response_offsets) < 0
            || (self->shapes = PyDict_New()) == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    self->handle = Py_NewRef(handle);
    self->ready = 1;
    self->host = Py_NewRef(host);
    self->request_type = (PyTypeObject *)Py_NewRef(request_type);
    self->response_type = (PyTypeObject *)Py_NewRef(response_type);
    return (PyObject *)self;
}

static int
JSCall_traverse(JSCall *self, visitproc visit, void *arg)
{
    Py_VISIT(self->handle);
    Py_VISIT(self->host);
    Py_VISIT(self->shapes);
    Py_VISIT(self->last_prefix);
    Py_VISIT(self->last_shape);
    Py_VISIT(self->request_type);
    Py_VISIT(self->response_type);
    return 0;
}

static int
JSCall_clear(JSCall *self)
{
    Py_CLEAR(self->handle);
    Py_CLEAR(self->host);
    Py_CLEAR(self->shapes);
    Py_CLEAR(self->last_prefix);
    Py_CLEAR(self->last_shape);
    Py_CLEAR(self->request_type);
    Py_CLEAR(self->response_type);
    return 0;
}

static void
JSCall_dealloc(JSCall *self)
{
    PyObject_GC_UnTrack(self);
    JSCall_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The answer's (status, head) when it is the common "R" answer, else NULL (no exception);
   *body_start is the index after the \x02. -1 on an error. */
static int
answer_shape(JSCall *self, PyObject *answer, PyObject **shape, Py_ssize_t *body_start)
{
    *shape = NULL;
    Py_ssize_t length = PyUnicode_GET_LENGTH(answer);
    if (length < 1 || PyUnicode_READ_CHAR(answer, 0) != 'R')
        return 0;
    Py_ssize_t split = PyUnicode_FindChar(answer, 2, 1, length, 1);
    if (split < 0)
        return split == -1 ? 0 : -1;
    PyObject *last = self->last_prefix;
    if (last != NULL && PyUnicode_GET_LENGTH(last) == split
            && PyUnicode_KIND(last) == PyUnicode_KIND(answer)
            && memcmp(PyUnicode_DATA(last), PyUnicode_DATA(answer),
                      (size_t)split * PyUnicode_KIND(answer)) == 0) {
        *shape = Py_NewRef(self->last_shape);
        *body_start = split + 1;
        return 0;
    }
    PyObject *prefix = PyUnicode_Substring(answer, 0, split);
    if (prefix == NULL)
        return -1;
    PyObject *found = PyDict_GetItemWithError(self->shapes, prefix);  /* borrowed */
    if (found != NULL) {
        Py_INCREF(found);
    } else if (PyErr_Occurred()) {
        Py_DECREF(prefix);
        return -1;
    } else {
        found = PyObject_CallMethodOneArg(self->host, s_shape, prefix);
        if (found == NULL
                || (found != Py_None && (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2
                                         || !PyLong_CheckExact(PyTuple_GET_ITEM(found, 0))
                                         || !PyBytes_CheckExact(PyTuple_GET_ITEM(found, 1))))) {
            if (found != NULL)
                PyErr_SetString(PyExc_TypeError, "_shape() must give (status, head) or None");
            Py_XDECREF(found);
            Py_DECREF(prefix);
            return -1;
        }
        if (PyDict_GET_SIZE(self->shapes) < MAX_SHAPES
                && PyDict_SetItem(self->shapes, prefix, found) < 0) {
            Py_DECREF(found);
            Py_DECREF(prefix);
            return -1;
        }
    }
    if (found == Py_None) {
        Py_DECREF(prefix);
        Py_DECREF(found);
        return 0;
    }
    Py_XSETREF(self->last_prefix, prefix);
    Py_XSETREF(self->last_shape, Py_NewRef(found));
    *shape = found;
    *body_start = split + 1;
    return 0;
}

static PyObject *
JSCall_respond(JSCall *self, PyObject *answer)
{
    PyObject *shape;
    Py_ssize_t start;
    if (answer_shape(self, answer, &shape, &start) < 0)
        return NULL;
    if (shape == NULL)
        return PyObject_CallMethodOneArg(self->host, s_other, answer);
    Py_ssize_t length = PyUnicode_GET_LENGTH(answer);
    PyObject *body;
    if (PyUnicode_IS_ASCII(answer)) {
        body = PyBytes_FromStringAndSize((const char *)PyUnicode_1BYTE_DATA(answer) + start,
                                         length - start);
    } else {
        PyObject *text = PyUnicode_Substring(answer, start, length);
        body = text == NULL ? NULL : PyUnicode_AsUTF8String(text);
        Py_XDECREF(text);
    }
    PyTypeObject *tp = self->response_type;
    PyObject *response = body == NULL ? NULL : tp->tp_alloc(tp, 0);
    if (response == NULL) {
        Py_XDECREF(body);
        Py_DECREF(shape);
        return NULL;
    }
    const Py_ssize_t *rs = self->response_offsets;
    set_field(response, rs[R_STATUS], Py_NewRef(PyTuple_GET_ITEM(shape, 0)));
    set_field(response, rs[R_HEAD], Py_NewRef(PyTuple_GET_ITEM(shape, 1)));
    set_field(response, rs[R_BODY], body);
    set_field(response, rs[R_STREAM], Py_NewRef(Py_None));
    Py_DECREF(shape);
    return response;
}

static PyObject *
JSCall_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    JSCall *self = (JSCall *)callable;
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL || self->handle == NULL) {
        PyErr_SetString(PyExc_TypeError, "call(request) takes one Request");
        return NULL;
    }
    PyObject *request = args[0];
    if (Py_TYPE(request) != self->request_type)
        return PyObject_CallMethodOneArg(self->host, s_call_py, request);
    const Py_ssize_t *rq = self->request_offsets;
    PyObject *method = get_field(request, rq[F_METHOD]);
    PyObject *raw_url = get_field(request, rq[F_RAW_URL]);
    PyObject *raw_headers = get_field(request, rq[F_RAW_HEADERS]);
    PyObject *raw_body = get_field(request, rq[F_BODY]);
    if (method == NULL || raw_url == NULL || raw_headers == NULL || raw_body == NULL
            || !PyUnicode_CheckExact(method) || !PyBytes_CheckExact(raw_url)
            || !PyList_CheckExact(raw_headers) || !PyBytes_CheckExact(raw_body))
        return PyObject_CallMethodOneArg(self->host, s_call_py, request);
    if (!self->ready)  /* busy or closed: the Python path raises the right error */
        return PyObject_CallMethodOneArg(self->host, s_call_py, request);
    self->calls++;

    /* the usual values go as None (JavaScript null: no string to make, no string to compare):
       method GET, a url that is the path, no query, no body */
    PyObject *argv[6] = {method == methods[0] ? Py_None : method, NULL, NULL, NULL, NULL, NULL};
    const char *url = PyBytes_AS_STRING(raw_url);
    Py_ssize_t url_len = PyBytes_GET_SIZE(raw_url);
    int has_query = memchr(url, '?', (size_t)url_len) != NULL;
    int url_is_path = url_len > 0 && url[0] == '/' && !has_query
                      && memchr(url, '%', (size_t)url_len) == NULL;
    PyObject *path = get_field(request, rq[F_PATH]);
    argv[1] = url_is_path ? Py_NewRef(Py_None) : PyUnicode_DecodeLatin1(url, url_len, NULL);
    argv[2] = path != NULL && PyUnicode_CheckExact(path) && PyUnicode_IS_ASCII(path)
                  ? Py_NewRef(path)
                  : PyObject_CallMethodOneArg(self->host, s_path, request);
    argv[3] = has_query ? PyObject_CallMethodOneArg(self->host, s_query, request)
                        : Py_NewRef(Py_None);
    argv[4] = join_headers(NULL, raw_headers);
    argv[5] = PyBytes_GET_SIZE(raw_body) == 0
                  ? Py_NewRef(Py_None)
                  : PyUnicode_DecodeUTF8(PyBytes_AS_STRING(raw_body),
                                         PyBytes_GET_SIZE(raw_body), "replace");
    PyObject *answer = NULL;
    if (argv[1] != NULL && argv[2] != NULL && argv[3] != NULL && argv[4] != NULL
            && argv[5] != NULL) {
        answer = PyObject_Vectorcall(self->handle, argv, 6, NULL);
        if (answer == NULL) {
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            PyErr_NormalizeException(&type, &value, &traceback);
            if (traceback != NULL)
                PyException_SetTraceback(value, traceback);
            Py_XDECREF(type);
            Py_XDECREF(traceback);
            if (value != NULL) {  /* _raise converts the engine's error and raises it */
                PyObject *none = PyObject_CallMethodOneArg(self->host, s_raise, value);
                if (none != NULL) {
                    Py_DECREF(none);
                    PyErr_SetString(PyExc_RuntimeError, "_raise() returned");
                }
                Py_DECREF(value);
            }
        }
    }
    for (int i = 1; i < 6; i++)
        Py_XDECREF(argv[i]);
    if (answer == NULL)
        return NULL;
    PyObject *result = PyUnicode_CheckExact(answer)
                           ? JSCall_respond(self, answer)
                           : PyObject_CallMethodOneArg(self->host, s_other, answer);
    Py_DECREF(answer);
    return result;
}

static PyMemberDef JSCall_members[] = {
    {"ready", T_INT, offsetof(JSCall, ready), 0,
     "0 sends every call through host._call_py (the context is busy or closed)"},
    {"calls", T_LONGLONG, offsetof(JSCall, calls), READONLY, "calls made in C"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject JSCallType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.http._speedups.JSCall",
    .tp_basicsize = sizeof(JSCall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_members = JSCall_members,
    .tp_doc = "JSCall(handle, host, request_type, response_type): a JS handler "
              "context's call(request) -> Response or what host's slow paths return",
    .tp_new = JSCall_new,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(JSCall, vectorcall),
    .tp_traverse = (traverseproc)JSCall_traverse,
    .tp_clear = (inquiry)JSCall_clear,
    .tp_dealloc = (destructor)JSCall_dealloc,
};

static int
JSCall_ready(void)
{
    const char *names[] = {"_path", "_call_py", "_query", "_shape", "_other", "_raise"};
    PyObject **slots[] = {&s_path, &s_call_py, &s_query, &s_shape, &s_other, &s_raise};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((*slots[i] = PyUnicode_InternFromString(names[i])) == NULL)
            return -1;
    }
    return PyType_Ready(&JSCallType);
}

static PyMethodDef module_methods[] = {
    {"join_headers", (PyCFunction)join_headers, METH_O,
     "join_headers(raw_headers) -> 'name\\x01value\\x01...' as latin-1 text."},
    {"lower_headers", (PyCFunction)lower_headers, METH_O,
     "lower_headers(raw_headers) -> a new list of (lower-case name, value) pairs (ASGI's form)."},
    {"step_as", (PyCFunction)(void (*)(void))step_as, METH_FASTCALL,
     "step_as(current_tasks, loop, handle, context, coro) -> (finished, value): one coroutine "
     "step inside context with handle as the loop's current task (the previous one restored "
     "after); value is the return value when finished, else what the coroutine yielded."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "hyphal.http._speedups",
    "The common HTTP/1.1 request and response in C (see _speedups.c).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    const char *tchars = "!#$%&'*+-.^_`|~";
    for (int c = 0; c < 256; c++)
        is_tchar[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                      || (c != 0 && strchr(tchars, c) != NULL);
    for (int c = 0x21; c < 0x7f; c++)
        is_url[c] = strchr("\"#<>\\^`{|}", c) == NULL;
    for (int i = 0; i < N_METHODS; i++) {
        methods[i] = PyUnicode_InternFromString(method_names[i]);
        if (methods[i] == NULL)
            return NULL;
    }
    version_11 = PyUnicode_InternFromString("1.1");
    empty_bytes = PyBytes_FromStringAndSize("", 0);
    head_method = methods[4];
    if (version_11 == NULL || empty_bytes == NULL || PyType_Ready(&ScannerType) < 0
            || PyType_Ready(&AnswererType) < 0 || JSCall_ready() < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    done_marker = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    if (done_marker == NULL
            || PyModule_AddObjectRef(module, "DONE", done_marker) < 0
            || PyModule_AddObjectRef(module, "Answerer", (PyObject *)&AnswererType) < 0
            || PyModule_AddObjectRef(module, "Scanner", (PyObject *)&ScannerType) < 0
            || PyModule_AddObjectRef(module, "JSCall", (PyObject *)&JSCallType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
