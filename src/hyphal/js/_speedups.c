/*
 * hyphal.js._speedups: the engines' promise rejection hooks, V8's clock, and QuickJS's call
 * path and JSON serializer, in C.
 *
 * Theory of operation
 * -------------------
 * Both engines report promise rejections to a C callback: QuickJS's host promise rejection
 * tracker and V8's PromiseRejectCallback. Neither engine binding exposes its hook, but both
 * libraries export their engine's whole C or C++ API. A Python (ctypes) callback works -- it is
 * the fallback where this module is not built -- but costs about 10 us per event, and code that
 * awaits rejected promises inside try/catch makes two events per rejection, so the callbacks
 * live here. quickjs_setup() finds QuickJS's API in the binding's own library with dlsym and
 * quickjs_track() registers the tracker on a context's runtime; bind_v8() takes the addresses
 * of the V8 functions the callback needs (v8_native.py resolves them through ctypes, which it
 * uses anyway) and returns the callback's address, which v8_native.py hands to each isolate.
 * Each callback calls the JavaScript function __hyphal_rejection(promise, event, reason) of
 * the current context (the prelude defines it; event 0: rejected with no handler, 1: a handler
 * was added later). No Python runs inside the callbacks and they never touch the GIL.
 *
 * QuickJS's hot call path: quickjs_call() calls a JavaScript function the way the binding's
 * Object.__call__ does (the same object layouts, the GIL released, the binding's exception
 * types and texts) but converts arguments directly and bounds the call with a monotonic
 * deadline checked by an interrupt handler, where the binding calls clock() -- a system call
 * costing about a microsecond -- at every entry. quickjs_track() also gives each context
 * __hyphal_json(), the native JSON serializer behind Response.json (see its section).
 *
 * V8 also gets a clock: its Date.now() has millisecond resolution and mini-racer gives it no
 * performance.now(). The first promise rejection in a context (the prelude makes one at start)
 * installs __hyphal_hrtime(), a native function that stores CLOCK_MONOTONIC in milliseconds,
 * with sub-microsecond resolution, into globalThis.__hyphal_hrtime_value (setting a property
 * through the public API instead of the callback's return slot, whose layout is internal).
 *
 * The V8 functions are C++ member functions called through their Itanium-ABI symbols: `this`
 * is the first argument and a Local<T>/MaybeLocal<T> is one pointer, passed and returned in a
 * register. PromiseRejectMessage (Local<Promise>, int event, Local<Value>) is passed by value.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- QuickJS (quickjs-ng, 64-bit: no NaN boxing) ---------------------------------------- */

typedef struct {
    int64_t u;
    int64_t tag;
} JSValue;

enum {
    QJS_TAG_STRING = -7, QJS_TAG_OBJECT = -1, QJS_TAG_INT = 0, QJS_TAG_BOOL = 1,
    QJS_TAG_NULL = 2, QJS_TAG_UNDEFINED = 3, QJS_TAG_EXCEPTION = 6, QJS_TAG_FLOAT64 = 8,
};

/* The binding's objects (quickjs-ng 0.17's module.c): _quickjs.Context and _quickjs.Object. */
typedef struct {
    PyObject_HEAD
    void *runtime;
    void *context;
    int has_time_limit;
    long time_limit;
    PyThreadState *thread_state;
} QJSContextObject;

typedef struct {
    PyObject_HEAD
    QJSContextObject *runtime_data;
    JSValue object;
} QJSObject;

#define QJS_CONTEXT_SIZE 80
#define QJS_OBJECT_SIZE 40
#define QJS_MAX_ARGS 16

static JSValue (*qjs_get_global_object)(void *ctx);
static JSValue (*qjs_get_property_str)(void *ctx, JSValue obj, const char *name);
static JSValue (*qjs_call)(void *ctx, JSValue fn, JSValue this_obj, int argc, JSValue *argv);
static JSValue (*qjs_get_exception)(void *ctx);
static void (*qjs_free_value)(void *ctx, JSValue v);
static JSValue (*qjs_new_string_len)(void *ctx, const char *text, size_t length);
static const char *(*qjs_to_cstring_len2)(void *ctx, size_t *length, JSValue v, bool cesu8);
static void (*qjs_free_cstring)(void *ctx, const char *text);
static void (*qjs_update_stack_top)(void *rt);
static void (*qjs_set_interrupt_handler)(void *rt, int (*handler)(void *, void *), void *opaque);
static void (*qjs_set_rejection_tracker)(void *rt, void *tracker, void *opaque);
static JSValue (*qjs_new_cfunction2)(void *ctx, void *func, const char *name, int length,
                                     int cproto, int magic);
static int (*qjs_set_property_str)(void *ctx, JSValue obj, const char *name, JSValue value);
static int (*qjs_get_own_property_names)(void *ctx, void **tab, uint32_t *len, JSValue obj,
                                         int flags);
static void (*qjs_free_property_enum)(void *ctx, void *tab, uint32_t len);
static JSValue (*qjs_get_property)(void *ctx, JSValue obj, uint32_t atom);
static JSValue (*qjs_get_property_uint32)(void *ctx, JSValue obj, uint32_t index);
static const char *(*qjs_atom_to_cstring_len)(void *ctx, size_t *length, uint32_t atom);
static uint32_t (*qjs_get_class_id)(JSValue v);
static JSValue (*qjs_get_prototype)(void *ctx, JSValue v);
static int (*qjs_get_length)(void *ctx, JSValue obj, int64_t *length);
static JSValue (*qjs_new_object)(void *ctx);
static JSValue (*qjs_new_array)(void *ctx);
static uint32_t (*qjs_new_atom_len)(void *ctx, const char *text, size_t length);
static void (*qjs_free_atom)(void *ctx, uint32_t atom);
static int (*qjs_define_property_value)(void *ctx, JSValue obj, uint32_t atom, JSValue value,
                                        int flags);
static int (*qjs_define_property_value_uint32)(void *ctx, JSValue obj, uint32_t index,
                                               JSValue value, int flags);
static JSValue (*qjs_new_number)(void *ctx, double value);
static int (*qjs_execute_pending_job)(void *rt, void **pctx);
static void *(*qjs_get_runtime)(void *ctx);
static PyObject *qjs_exception_type;       /* _quickjs.JSException */
static PyObject *qjs_stack_overflow_type;  /* _quickjs.StackOverflow */

static void
quickjs_tracker(void *ctx, JSValue promise, JSValue reason, bool is_handled, void *opaque)
{
    (void)opaque;
    JSValue global = qjs_get_global_object(ctx);
    JSValue tracker = qjs_get_property_str(ctx, global, "__hyphal_rejection");
    if ((int32_t)tracker.tag == QJS_TAG_OBJECT) {
        JSValue args[3] = {promise, {is_handled ? 1 : 0, QJS_TAG_INT}, reason};
        JSValue result = qjs_call(ctx, tracker, global, 3, args);
        if ((int32_t)result.tag == QJS_TAG_EXCEPTION) {
            qjs_free_value(ctx, qjs_get_exception(ctx));
        }
        qjs_free_value(ctx, result);
    }
    qjs_free_value(ctx, tracker);
    qjs_free_value(ctx, global);
}

/* The time limit of quickjs_call: a monotonic deadline (clock_gettime(CLOCK_MONOTONIC) is a
 * vDSO call, unlike the binding's clock(), a system call, per entry). */
static int64_t
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
deadline_passed(void *rt, void *opaque)
{
    (void)rt;
    return monotonic_ns() >= *(int64_t *)opaque;
}

static PyObject *
quickjs_setup(PyObject *module, PyObject *args)
{
    (void)module;
    const char *path;
    PyObject *exception_type, *stack_overflow_type;
    if (!PyArg_ParseTuple(args, "sOO", &path, &exception_type, &stack_overflow_type)) {
        return NULL;
    }
    void *lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (lib == NULL) {
        PyErr_Format(PyExc_OSError, "the QuickJS binding is not loaded from %s", path);
        return NULL;
    }
    static const char *names[] = {
        "JS_GetGlobalObject", "JS_GetPropertyStr", "JS_Call", "JS_GetException",
        "JS_FreeValue", "JS_NewStringLen", "JS_ToCStringLen2", "JS_FreeCString",
        "JS_UpdateStackTop", "JS_SetInterruptHandler", "JS_SetHostPromiseRejectionTracker",
        "JS_NewCFunction2", "JS_SetPropertyStr", "JS_GetOwnPropertyNames", "JS_FreePropertyEnum",
        "JS_GetProperty", "JS_GetPropertyUint32", "JS_AtomToCStringLen", "JS_GetClassID",
        "JS_GetPrototype", "JS_GetLength", "JS_NewObject", "JS_NewArray", "JS_NewAtomLen",
        "JS_FreeAtom", "JS_DefinePropertyValue", "JS_DefinePropertyValueUint32", "JS_NewNumber",
        "JS_ExecutePendingJob", "JS_GetRuntime",
    };
    void *f[sizeof(names) / sizeof(names[0])];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        f[i] = dlsym(lib, names[i]);
        if (f[i] == NULL) {
            dlclose(lib);
            PyErr_Format(PyExc_OSError, "the QuickJS binding exports no %s", names[i]);
            return NULL;
        }
    }
    *(void **)&qjs_get_global_object = f[0];
    *(void **)&qjs_get_property_str = f[1];
    *(void **)&qjs_call = f[2];
    *(void **)&qjs_get_exception = f[3];
    *(void **)&qjs_free_value = f[4];
    *(void **)&qjs_new_string_len = f[5];
    *(void **)&qjs_to_cstring_len2 = f[6];
    *(void **)&qjs_free_cstring = f[7];
    *(void **)&qjs_update_stack_top = f[8];
    *(void **)&qjs_set_interrupt_handler = f[9];
    *(void **)&qjs_set_rejection_tracker = f[10];
    *(void **)&qjs_new_cfunction2 = f[11];
    *(void **)&qjs_set_property_str = f[12];
    *(void **)&qjs_get_own_property_names = f[13];
    *(void **)&qjs_free_property_enum = f[14];
    *(void **)&qjs_get_property = f[15];
    *(void **)&qjs_get_property_uint32 = f[16];
    *(void **)&qjs_atom_to_cstring_len = f[17];
    *(void **)&qjs_get_class_id = f[18];
    *(void **)&qjs_get_prototype = f[19];
    *(void **)&qjs_get_length = f[20];
    *(void **)&qjs_new_object = f[21];
    *(void **)&qjs_new_array = f[22];
    *(void **)&qjs_new_atom_len = f[23];
    *(void **)&qjs_free_atom = f[24];
    *(void **)&qjs_define_property_value = f[25];
    *(void **)&qjs_define_property_value_uint32 = f[26];
    *(void **)&qjs_new_number = f[27];
    *(void **)&qjs_execute_pending_job = f[28];
    *(void **)&qjs_get_runtime = f[29];
    Py_INCREF(exception_type);
    Py_XSETREF(qjs_exception_type, exception_type);
    Py_INCREF(stack_overflow_type);
    Py_XSETREF(qjs_stack_overflow_type, stack_overflow_type);
    Py_RETURN_NONE;  /* the library stays open: the binding keeps it loaded anyway */
}

/* ---- QuickJS: JSON for Response.json ----------------------------------------------------- */

/* __hyphal_json(value, Object.prototype, Array.prototype): JSON.stringify(value) for the data
 * handlers answer with -- plain objects and arrays of strings, numbers, booleans and null --
 * without QuickJS's generic machinery (a wrapper object, toJSON lookups on every value).
 * Anything else (a toJSON key, another prototype or class, a lone surrogate, deep nesting or
 * a cycle, BigInt, out of memory) returns undefined and the prelude calls JSON.stringify,
 * so the text is always what JSON.stringify gives. (A getter may then run twice.) */

typedef struct {
    char *data;
    size_t length, capacity;
    char *stack;  /* the caller's first block (capacity bytes), or NULL: data is heap memory */
} Buffer;

/* Results: JSON_OK, JSON_SKIP (undefined: left out of an object, null in an array),
 * JSON_FALLBACK (let JSON.stringify do it), JSON_THROW (a JavaScript exception is pending). */
enum { JSON_OK, JSON_SKIP, JSON_FALLBACK, JSON_THROW };
#define QJS_TAG_STRING_ROPE (-6)
#define QJS_CLASS_OBJECT 1
#define QJS_CLASS_ARRAY 2
#define JSON_MAX_DEPTH 32

static int
buffer_grow(Buffer *b, size_t length)
{
    size_t capacity = b->capacity ? b->capacity : 256;
    while (capacity < b->length + length) {
        capacity *= 2;
    }
    char *data = realloc(b->stack != NULL ? NULL : b->data, capacity);
    if (data == NULL) {
        return JSON_FALLBACK;
    }
    if (b->stack != NULL) {  /* leave the caller's block for the heap */
        memcpy(data, b->stack, b->length);
        b->stack = NULL;
    }
    b->data = data;
    b->capacity = capacity;
    return JSON_OK;
}

static inline int
buffer_add(Buffer *b, const char *text, size_t length)
{
    if (b->length + length > b->capacity && buffer_grow(b, length)) {
        return JSON_FALLBACK;
    }
    memcpy(b->data + b->length, text, length);
    b->length += length;
    return JSON_OK;
}

static void
buffer_free(Buffer *b)
{
    if (b->stack == NULL) {
        free(b->data);
    }
}

/* A JSON string literal of UTF-8 text; JSON_FALLBACK for a lone surrogate (WTF-8 "ED A0..BF"),
 * which JSON.stringify escapes as \uDXXX. */
static int
add_quoted(Buffer *b, const char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    if (buffer_add(b, "\"", 1)) {
        return JSON_FALLBACK;
    }
    size_t run = 0;  /* start of the pending run of bytes that need no escape */
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            if (c == 0xED && i + 1 < length && (unsigned char)text[i + 1] >= 0xA0) {
                return JSON_FALLBACK;
            }
            continue;
        }
        char escape[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"': escape[1] = '"'; break;
        case '\\': escape[1] = '\\'; break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        default:
            escape[1] = 'u'; escape[2] = '0'; escape[3] = '0';
            escape[4] = hex[c >> 4]; escape[5] = hex[c & 15];
            n = 6;
        }
        if (buffer_add(b, text + run, i - run) || buffer_add(b, escape, n)) {
            return JSON_FALLBACK;
        }
        run = i + 1;
    }
    return buffer_add(b, text + run, length - run) || buffer_add(b, "\"", 1) ? JSON_FALLBACK
                                                                            : JSON_OK;
}

static int json_value(void *ctx, Buffer *b, JSValue v, JSValue protos[2], int depth);

/* A string (quoted) or a number (QuickJS's own formatting) as JSON. */
static int
json_text(void *ctx, Buffer *b, JSValue v, int quote)
{
    size_t length;
    const char *text = qjs_to_cstring_len2(ctx, &length, v, false);
    if (text == NULL) {
        return JSON_THROW;
    }
    int status = quote ? add_quoted(b, text, length) : buffer_add(b, text, length);
    qjs_free_cstring(ctx, text);
    return status;
}

static int
json_array(void *ctx, Buffer *b, JSValue v, JSValue protos[2], int depth)
{
    int64_t length;
    if (qjs_get_length(ctx, v, &length) < 0) {
        return JSON_THROW;
    }
    int status = buffer_add(b, "[", 1);
    for (int64_t i = 0; i < length && status == JSON_OK; i++) {
        if (i && buffer_add(b, ",", 1)) {
            return JSON_FALLBACK;
        }
        JSValue item = qjs_get_property_uint32(ctx, v, (uint32_t)i);
        if ((int32_t)item.tag == QJS_TAG_EXCEPTION) {
            return JSON_THROW;
        }
        status = json_value(ctx, b, item, protos, depth + 1);
        if (status == JSON_SKIP) {
            status = buffer_add(b, "null", 4);
        }
        qjs_free_value(ctx, item);
    }
    return status == JSON_OK ? buffer_add(b, "]", 1) : status;
}

static int
json_object(void *ctx, Buffer *b, JSValue v, JSValue protos[2], int depth)
{
    void *tab;
    uint32_t count;
    /* JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY: own enumerable string keys, in property order */
    if (qjs_get_own_property_names(ctx, &tab, &count, v, (1 << 0) | (1 << 4)) < 0) {
        return JSON_THROW;
    }
    struct { bool is_enumerable; uint32_t atom; } *props = tab;
    int status = buffer_add(b, "{", 1);
    int first = 1;
    for (uint32_t i = 0; i < count && status == JSON_OK; i++) {
        size_t key_length;
        const char *key = qjs_atom_to_cstring_len(ctx, &key_length, props[i].atom);
        if (key == NULL) {
            status = JSON_THROW;
            break;
        }
        JSValue item = {0, QJS_TAG_UNDEFINED};
        size_t mark = b->length;
        if (key_length == 6 && memcmp(key, "toJSON", 6) == 0) {
            status = JSON_FALLBACK;
        } else if ((int32_t)(item = qjs_get_property(ctx, v, props[i].atom)).tag
                   == QJS_TAG_EXCEPTION) {
            status = JSON_THROW;
        } else if ((first || (status = buffer_add(b, ",", 1)) == JSON_OK)
                   && (status = add_quoted(b, key, key_length)) == JSON_OK
                   && (status = buffer_add(b, ":", 1)) == JSON_OK) {
            status = json_value(ctx, b, item, protos, depth + 1);
            if (status == JSON_SKIP) {  /* left out, with its key */
                b->length = mark;
                status = JSON_OK;
            } else if (status == JSON_OK) {
                first = 0;
            }
        }
        qjs_free_cstring(ctx, key);
        qjs_free_value(ctx, item);
    }
    qjs_free_property_enum(ctx, tab, count);
    return status == JSON_OK ? buffer_add(b, "}", 1) : status;
}

static int
json_value(void *ctx, Buffer *b, JSValue v, JSValue protos[2], int depth)
{
    char digits[16];
    switch ((int32_t)v.tag) {
    case QJS_TAG_STRING:
    case QJS_TAG_STRING_ROPE:
        return json_text(ctx, b, v, 1);
    case QJS_TAG_INT: {  /* the digits right to left: snprintf costs more than the rest */
        int32_t n = (int32_t)v.u;
        uint32_t u = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;
        char *end = digits + sizeof digits, *p = end;
        do {
            *--p = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (n < 0) {
            *--p = '-';
        }
        return buffer_add(b, p, (size_t)(end - p));
    }
    case QJS_TAG_FLOAT64: {
        double d;
        memcpy(&d, &v.u, sizeof d);
        if (d != d || d - d != 0) {  /* NaN, Infinity */
            return buffer_add(b, "null", 4);
        }
        return json_text(ctx, b, v, 0);
    }
    case QJS_TAG_BOOL:
        return (int32_t)v.u ? buffer_add(b, "true", 4) : buffer_add(b, "false", 5);
    case QJS_TAG_NULL:
        return buffer_add(b, "null", 4);
    case QJS_TAG_UNDEFINED:
        return JSON_SKIP;
    case QJS_TAG_OBJECT: {
        uint32_t cls = qjs_get_class_id(v);
        if ((cls != QJS_CLASS_OBJECT && cls != QJS_CLASS_ARRAY) || depth >= JSON_MAX_DEPTH) {
            return JSON_FALLBACK;  /* functions, dates, maps, boxed values ...; cycles */
        }
        JSValue proto = qjs_get_prototype(ctx, v);
        int plain = (int32_t)proto.tag == QJS_TAG_NULL
                    || ((int32_t)proto.tag == QJS_TAG_OBJECT
                        && proto.u == protos[cls == QJS_CLASS_ARRAY].u);
        qjs_free_value(ctx, proto);
        if (!plain) {
            return JSON_FALLBACK;  /* a class instance, or a prototype that may have toJSON */
        }
        return cls == QJS_CLASS_ARRAY ? json_array(ctx, b, v, protos, depth)
                                      : json_object(ctx, b, v, protos, depth);
    }
    default:
        return JSON_FALLBACK;  /* symbols, BigInt */
    }
}

static JSValue
quickjs_json(void *ctx, JSValue this_obj, int argc, JSValue *argv)
{
    (void)this_obj;
    JSValue out = {0, QJS_TAG_UNDEFINED};
    if (argc < 3) {
        return out;
    }
    JSValue protos[2] = {argv[1], argv[2]};
    char first[1024];
    Buffer b = {first, 0, sizeof first, first};
    int status = json_value(ctx, &b, argv[0], protos, 0);
    if (status == JSON_OK) {
        out = qjs_new_string_len(ctx, b.data, b.length);
    } else if (status == JSON_THROW) {
        out = (JSValue){0, QJS_TAG_EXCEPTION};  /* a getter threw */
    }
    buffer_free(&b);
    return out;
}

/* ---- QuickJS: JSON.parse for request.json() ---------------------------------------------- */

/* __hyphal_json_parse(text): JSON.parse(text) for the JSON requests carry -- objects, arrays,
 * strings without \u escapes, numbers, true, false, null -- building the values directly,
 * where QuickJS's JSON.parse runs its general tokenizer. Anything else (a \u escape, a syntax
 * error, a lone surrogate, nesting deeper than JSON_MAX_DEPTH) returns undefined and the
 * prelude calls JSON.parse, which gives the same value or throws its SyntaxError. Numbers
 * come from strtod (correctly rounded, as JSON.parse's) through JS_NewNumber. */


#define JS_PROP_C_W_E 7

typedef struct {
    void *ctx;
    const char *p, *end;
    Buffer text;  /* a string with escapes, decoded */
} Parser;

static inline void
skip_space(Parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r'
                               || *ps->p == '\t')) {
        ps->p++;
    }
}

/* The string at ps->p (after its opening quote) as UTF-8: *start and *length point into the input
 * when it has no escape, else into ps->text. */
static int
parse_string(Parser *ps, const char **start, size_t *length)
{
    const char *p = ps->p;
    const char *run = p;
    int escaped = 0;
    ps->text.length = 0;
    while (p < ps->end) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            if (escaped) {
                if (buffer_add(&ps->text, run, (size_t)(p - run))) {
                    return JSON_FALLBACK;
                }
                *start = ps->text.data;
                *length = ps->text.length;
            } else {
                *start = run;
                *length = (size_t)(p - run);
            }
            ps->p = p + 1;
            return JSON_OK;
        }
        if (c < 0x20 || (c == 0xED && p + 1 < ps->end && (unsigned char)p[1] >= 0xA0)) {
            return JSON_FALLBACK;  /* a control character (a syntax error), a lone surrogate */
        }
        if (c == '\\') {
            if (p + 1 >= ps->end) {
                return JSON_FALLBACK;
            }
            const char *decoded;
            switch (p[1]) {
            case '"': decoded = "\""; break;
            case '\\': decoded = "\\"; break;
            case '/': decoded = "/"; break;
            case 'b': decoded = "\b"; break;
            case 'f': decoded = "\f"; break;
            case 'n': decoded = "\n"; break;
            case 'r': decoded = "\r"; break;
            case 't': decoded = "\t"; break;
            default: return JSON_FALLBACK;  /* \u, or not an escape */
            }
            if (buffer_add(&ps->text, run, (size_t)(p - run)) || buffer_add(&ps->text, decoded, 1)) {
                return JSON_FALLBACK;
            }
            escaped = 1;
            p += 2;
            run = p;
            continue;
        }
        p++;
    }
    return JSON_FALLBACK;  /* unterminated */
}

static int
parse_number(Parser *ps, JSValue *out)
{
    const char *p = ps->p, *start = p;
    int negative = p < ps->end && *p == '-';
    p += negative;
    if (p >= ps->end || *p < '0' || *p > '9') {
        return JSON_FALLBACK;
    }
    if (*p == '0') {
        p++;
    } else {
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    size_t digits = (size_t)(p - start) - (size_t)negative;
    int integral = 1;
    if (p < ps->end && *p == '.') {
        integral = 0;
        p++;
        if (p >= ps->end || *p < '0' || *p > '9') {
            return JSON_FALLBACK;
        }
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        integral = 0;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p >= ps->end || *p < '0' || *p > '9') {
            return JSON_FALLBACK;
        }
        while (p < ps->end && *p >= '0' && *p <= '9') {
            p++;
        }
    }
    ps->p = p;
    if (integral && digits <= 9 && !(negative && start[1] == '0')) {  /* "-0" is a double */
        int32_t value = 0;
        for (const char *d = start + negative; d < p; d++) {
            value = value * 10 + (*d - '0');
        }
        *out = (JSValue){(int64_t)(uint32_t)(negative ? -value : value), QJS_TAG_INT};
        return JSON_OK;
    }
    char copy[64];
    size_t length = (size_t)(p - start);
    if (length >= sizeof copy) {
        return JSON_FALLBACK;
    }
    memcpy(copy, start, length);
    copy[length] = 0;
    *out = qjs_new_number(ps->ctx, strtod(copy, NULL));
    return JSON_OK;
}

static int
parse_value(Parser *ps, JSValue *out, int depth)
{
    skip_space(ps);
    if (ps->p >= ps->end) {
        return JSON_FALLBACK;
    }
    void *ctx = ps->ctx;
    char c = *ps->p;
    if (c == '"') {
        const char *start;
        size_t length;
        ps->p++;
        int status = parse_string(ps, &start, &length);
        if (status == JSON_OK) {
            *out = qjs_new_string_len(ctx, start, length);
            if ((int32_t)out->tag == QJS_TAG_EXCEPTION) {
                return JSON_THROW;
            }
        }
        return status;
    }
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH) {
            return JSON_FALLBACK;
        }
        int array = c == '[';
        JSValue container = array ? qjs_new_array(ctx) : qjs_new_object(ctx);
        if ((int32_t)container.tag == QJS_TAG_EXCEPTION) {
            return JSON_THROW;
        }
        ps->p++;
        skip_space(ps);
        int status = JSON_OK;
        if (ps->p < ps->end && *ps->p == (array ? ']' : '}')) {
            ps->p++;
            *out = container;
            return JSON_OK;
        }
        for (uint32_t index = 0;; index++) {
            uint32_t atom = 0;
            if (!array) {
                const char *key;
                size_t key_length;
                skip_space(ps);
                if (ps->p >= ps->end || *ps->p != '"') {
                    status = JSON_FALLBACK;
                    break;
                }
                ps->p++;
                if ((status = parse_string(ps, &key, &key_length)) != JSON_OK) {
                    break;
                }
                skip_space(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    status = JSON_FALLBACK;
                    break;
                }
                ps->p++;
                atom = qjs_new_atom_len(ctx, key, key_length);
                if (atom == 0) {
                    status = JSON_THROW;
                    break;
                }
            }
            JSValue item;
            status = parse_value(ps, &item, depth + 1);
            if (status == JSON_OK) {  /* both define calls take the value */
                int defined = array
                    ? qjs_define_property_value_uint32(ctx, container, index, item, JS_PROP_C_W_E)
                    : qjs_define_property_value(ctx, container, atom, item, JS_PROP_C_W_E);
                if (defined < 0) {
                    status = JSON_THROW;
                }
            }
            if (!array) {
                qjs_free_atom(ctx, atom);
            }
            if (status != JSON_OK) {
                break;
            }
            skip_space(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == (array ? ']' : '}')) {
                ps->p++;
                *out = container;
                return JSON_OK;
            }
            status = JSON_FALLBACK;
            break;
        }
        qjs_free_value(ctx, container);
        return status;
    }
    static const struct { const char *word; size_t length; int32_t tag; int64_t value; } words[] = {
        {"true", 4, QJS_TAG_BOOL, 1}, {"false", 5, QJS_TAG_BOOL, 0}, {"null", 4, QJS_TAG_NULL, 0},
    };
    for (size_t i = 0; i < 3; i++) {
        if (c == words[i].word[0]) {
            if ((size_t)(ps->end - ps->p) < words[i].length
                    || memcmp(ps->p, words[i].word, words[i].length) != 0) {
                return JSON_FALLBACK;
            }
            ps->p += words[i].length;
            *out = (JSValue){words[i].value, words[i].tag};
            return JSON_OK;
        }
    }
    return parse_number(ps, out);
}

static JSValue
quickjs_json_parse(void *ctx, JSValue this_obj, int argc, JSValue *argv)
{
    (void)this_obj;
    JSValue out = {0, QJS_TAG_UNDEFINED};
    if (argc < 1 || ((int32_t)argv[0].tag != QJS_TAG_STRING
                     && (int32_t)argv[0].tag != QJS_TAG_STRING_ROPE)) {
        return out;
    }
    size_t length;
    const char *text = qjs_to_cstring_len2(ctx, &length, argv[0], false);
    if (text == NULL) {
        return (JSValue){0, QJS_TAG_EXCEPTION};
    }
    char first[256];
    Parser ps = {ctx, text, text + length, {first, 0, sizeof first, first}};
    JSValue value;
    int status = parse_value(&ps, &value, 0);
    if (status == JSON_OK) {
        skip_space(&ps);
        if (ps.p == ps.end) {
            out = value;
        } else {
            qjs_free_value(ctx, value);  /* text after the value: JSON.parse's SyntaxError */
        }
    } else if (status == JSON_THROW) {
        out = (JSValue){0, QJS_TAG_EXCEPTION};
    }
    buffer_free(&ps.text);
    qjs_free_cstring(ctx, text);
    return out;
}

/* ---- QuickJS: the microtask checkpoint ---------------------------------------------------- */

/* __hyphal_native_checkpoint(): run QuickJS's promise jobs until none is left, from
 * JavaScript -- what V8's %PerformMicrotaskCheckpoint does. With it the prelude's event loop
 * runs a checkpoint after every macrotask itself (see prelude/runtime.js) instead of
 * returning to the host for each one, and a handler's promise that settles in its first
 * checkpoint is answered within the call. A job that throws (the time limit's interrupt;
 * promise reactions turn errors into rejections) throws here. */
static JSValue
quickjs_checkpoint(void *ctx, JSValue this_obj, int argc, JSValue *argv)
{
    (void)this_obj;
    (void)argc;
    (void)argv;
    void *rt = qjs_get_runtime(ctx);
    for (;;) {
        void *job_ctx;
        int ran = qjs_execute_pending_job(rt, &job_ctx);
        if (ran == 0) {
            return (JSValue){0, QJS_TAG_UNDEFINED};
        }
        if (ran < 0) {
            if (job_ctx != ctx) {  /* another context's job failed: not this caller's error */
                qjs_free_value(job_ctx, qjs_get_exception(job_ctx));
                continue;
            }
            return (JSValue){0, QJS_TAG_EXCEPTION};
        }
    }
}

static QJSContextObject *
as_context(PyObject *obj)
{
    if (qjs_call == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "call quickjs_setup() first");
        return NULL;
    }
    if (Py_TYPE(obj)->tp_basicsize != QJS_CONTEXT_SIZE) {
        PyErr_SetString(PyExc_TypeError, "expected a _quickjs.Context of quickjs-ng 0.17");
        return NULL;
    }
    return (QJSContextObject *)obj;
}

static PyObject *
quickjs_track(PyObject *module, PyObject *obj)
{
    (void)module;
    QJSContextObject *ctx = as_context(obj);
    if (ctx == NULL) {
        return NULL;
    }
    qjs_set_rejection_tracker(ctx->runtime, (void *)&quickjs_tracker, NULL);
    JSValue global = qjs_get_global_object(ctx->context);
    JSValue json = qjs_new_cfunction2(ctx->context, (void *)&quickjs_json, "__hyphal_json", 3,
                                      0 /* JS_CFUNC_generic */, 0);
    if ((int32_t)json.tag == QJS_TAG_OBJECT) {
        qjs_set_property_str(ctx->context, global, "__hyphal_json", json);  /* takes json */
    }
    JSValue checkpoint = qjs_new_cfunction2(ctx->context, (void *)&quickjs_checkpoint,
                                            "__hyphal_native_checkpoint", 0, 0, 0);
    if ((int32_t)checkpoint.tag == QJS_TAG_OBJECT) {
        qjs_set_property_str(ctx->context, global, "__hyphal_native_checkpoint", checkpoint);
    }
    JSValue parse = qjs_new_cfunction2(ctx->context, (void *)&quickjs_json_parse,
                                       "__hyphal_json_parse", 1, 0 /* JS_CFUNC_generic */, 0);
    if ((int32_t)parse.tag == QJS_TAG_OBJECT) {
        qjs_set_property_str(ctx->context, global, "__hyphal_json_parse", parse);
    }
    qjs_free_value(ctx->context, global);
    Py_RETURN_NONE;
}

/* The binding's conversion of a pending JavaScript exception: "<error>\n<stack>". */
static PyObject *
raise_exception(void *context)
{
    JSValue exception = qjs_get_exception(context);
    const char *text = qjs_to_cstring_len2(context, NULL, exception, false);
    const char *stack = NULL;
    if ((int32_t)exception.tag != QJS_TAG_NULL && (int32_t)exception.tag != QJS_TAG_UNDEFINED) {
        JSValue value = qjs_get_property_str(context, exception, "stack");
        if ((int32_t)value.tag != QJS_TAG_EXCEPTION) {
            stack = qjs_to_cstring_len2(context, NULL, value, false);
            qjs_free_value(context, value);
        }
    }
    if (text != NULL) {
        int overflow = strstr(text, "stack overflow") != NULL
                       || strstr(text, "call stack size exceeded") != NULL;
        PyErr_Format(overflow ? qjs_stack_overflow_type : qjs_exception_type, "%s\n%s", text,
                     stack != NULL ? stack : "");
    } else {
        PyErr_SetString(qjs_exception_type, "(Failed obtaining QuickJS error string)");
    }
    qjs_free_cstring(context, text);
    qjs_free_cstring(context, stack);
    qjs_free_value(context, exception);
    return NULL;
}

/* quickjs_call(function, time_limit, *args): call a _quickjs.Object function with str, int,
 * float, bool or None arguments; return its primitive result (None for an object). What the
 * binding's Object.__call__ does, minus its per-call costs: argument checks through generic
 * conversions, and clock() for the time limit (here a monotonic deadline, 0: none). */
static PyObject *
quickjs_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs < 2 || nargs - 2 > QJS_MAX_ARGS) {
        PyErr_SetString(PyExc_TypeError, "quickjs_call(function, time_limit, *args) takes up to "
                                         "16 arguments after the time limit");
        return NULL;
    }
    if (Py_TYPE(args[0])->tp_basicsize != QJS_OBJECT_SIZE) {
        PyErr_SetString(PyExc_TypeError, "expected a _quickjs.Object");
        return NULL;
    }
    QJSObject *fn = (QJSObject *)args[0];
    QJSContextObject *ctx = fn->runtime_data;
    if (ctx == NULL || as_context((PyObject *)ctx) == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "the function has no context");
        }
        return NULL;
    }
    if (ctx->thread_state != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the QuickJS context is already running JavaScript");
        return NULL;
    }
    double limit = PyFloat_AsDouble(args[1]);
    if (limit == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    void *context = ctx->context;
    int argc = (int)(nargs - 2);
    JSValue argv[QJS_MAX_ARGS];
    for (int i = 0; i < argc; i++) {
        PyObject *item = args[i + 2];
        if (PyUnicode_CheckExact(item)) {
            Py_ssize_t size;
            const char *utf8 = PyUnicode_AsUTF8AndSize(item, &size);
            if (utf8 == NULL) {
                for (int j = 0; j < i; j++) {
                    qjs_free_value(context, argv[j]);
                }
                return NULL;
            }
            argv[i] = qjs_new_string_len(context, utf8, (size_t)size);
        } else if (item == Py_None) {
            argv[i] = (JSValue){0, QJS_TAG_NULL};
        } else if (PyBool_Check(item)) {
            argv[i] = (JSValue){item == Py_True, QJS_TAG_BOOL};
        } else if (PyLong_Check(item) || PyFloat_Check(item)) {
            int overflow = 1;
            long integer = PyLong_Check(item) ? PyLong_AsLongAndOverflow(item, &overflow) : 0;
            if (!overflow && integer >= INT32_MIN && integer <= INT32_MAX) {
                argv[i] = (JSValue){(int64_t)(uint32_t)(int32_t)integer, QJS_TAG_INT};
            } else {
                double value = PyFloat_AsDouble(item);
                if (value == -1.0 && PyErr_Occurred()) {
                    for (int j = 0; j < i; j++) {
                        qjs_free_value(context, argv[j]);
                    }
                    return NULL;
                }
                JSValue number = {0, QJS_TAG_FLOAT64};
                memcpy(&number.u, &value, sizeof value);
                argv[i] = number;
            }
        } else {
            for (int j = 0; j < i; j++) {
                qjs_free_value(context, argv[j]);
            }
            PyErr_Format(PyExc_TypeError, "cannot pass %.100s to JavaScript here",
                         Py_TYPE(item)->tp_name);
            return NULL;
        }
    }
    int64_t deadline = 0;
    ctx->thread_state = PyEval_SaveThread();
    qjs_update_stack_top(ctx->runtime);
    if (limit > 0) {
        deadline = monotonic_ns() + (int64_t)(limit * 1e9);
        qjs_set_interrupt_handler(ctx->runtime, deadline_passed, &deadline);
    }
    JSValue result = qjs_call(context, fn->object, (JSValue){0, QJS_TAG_UNDEFINED}, argc, argv);
    if (limit > 0) {
        qjs_set_interrupt_handler(ctx->runtime, NULL, NULL);
    }
    PyEval_RestoreThread(ctx->thread_state);
    ctx->thread_state = NULL;
    for (int i = 0; i < argc; i++) {
        qjs_free_value(context, argv[i]);
    }
    PyObject *out;
    switch ((int32_t)result.tag) {
    case QJS_TAG_STRING: {
        size_t length;
        const char *text = qjs_to_cstring_len2(context, &length, result, false);
        if (text == NULL) {
            qjs_free_value(context, result);
            return raise_exception(context);
        }
        out = PyUnicode_DecodeUTF8(text, (Py_ssize_t)length, "surrogatepass");
        qjs_free_cstring(context, text);
        break;
    }
    case QJS_TAG_EXCEPTION:
        return raise_exception(context);
    case QJS_TAG_INT:
        out = PyLong_FromLong((int32_t)result.u);
        break;
    case QJS_TAG_BOOL:
        out = PyBool_FromLong((int32_t)result.u != 0);
        break;
    case QJS_TAG_FLOAT64: {
        double value;
        memcpy(&value, &result.u, sizeof value);
        out = PyFloat_FromDouble(value);
        break;
    }
    default:  /* undefined, null, objects, symbols, big integers */
        out = Py_NewRef(Py_None);
    }
    qjs_free_value(context, result);
    return out;
}

/* ---- V8 ------------------------------------------------------------------------------------ */

typedef struct {
    void *promise;
    int event;
    void *value;
} RejectMessage;

static void *(*v8_current_isolate)(void);
static void *(*v8_current_context)(void *isolate);
static void *(*v8_context_global)(void *context);
static void *(*v8_new_string)(void *isolate, const char *text, int type, int length);
static void *(*v8_object_get)(void *object, void *context, void *key);
static bool (*v8_is_function)(void *value);
static void *(*v8_new_number)(void *isolate, double value);
static void *(*v8_function_call)(void *fn, void *context, void *recv, int argc, void **argv);
static void *(*v8_function_new)(void *context, void (*callback)(const void *info), void *data,
                                int length, int constructor_behavior, int side_effect_type);
static uint16_t (*v8_object_set)(void *object, void *context, void *key, void *value);

static void
v8_hrtime(const void *info)
{
    (void)info;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    void *isolate = v8_current_isolate();
    void *context = v8_current_context(isolate);
    void *key = v8_new_string(isolate, "__hyphal_hrtime_value", 0, -1);
    if (key != NULL) {
        double ms = (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
        v8_object_set(v8_context_global(context), context, key, v8_new_number(isolate, ms));
    }
}

static void
v8_install_hrtime(void *isolate, void *context, void *global)
{
    void *name = v8_new_string(isolate, "__hyphal_hrtime", 0, -1);
    void *current = name != NULL ? v8_object_get(global, context, name) : NULL;
    if (current != NULL && !v8_is_function(current)) {
        /* ConstructorBehavior::kThrow = 0, SideEffectType::kHasSideEffect = 0 */
        void *fn = v8_function_new(context, v8_hrtime, NULL, 0, 0, 0);
        if (fn != NULL) {
            v8_object_set(global, context, name, fn);
        }
    }
}

static void
v8_reject_callback(RejectMessage message)
{
    if (message.event > 1) {  /* reject/resolve after resolved: not about handlers */
        return;
    }
    void *isolate = v8_current_isolate();
    void *context = v8_current_context(isolate);
    void *key = v8_new_string(isolate, "__hyphal_rejection", 0, -1);
    if (key == NULL) {
        return;
    }
    void *global = v8_context_global(context);
    if (message.event == 0) {
        v8_install_hrtime(isolate, context, global);
    }
    void *tracker = v8_object_get(global, context, key);
    if (tracker == NULL || !v8_is_function(tracker)) {
        return;  /* no prelude in this context */
    }
    void *args[3] = {message.promise, v8_new_number(isolate, (double)message.event),
                     message.event == 0 ? message.value : global};
    v8_function_call(tracker, context, global, 3, args);
}

/* ---- binding ------------------------------------------------------------------------------- */

static int
take_addresses(PyObject *seq, void **out, Py_ssize_t n)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of function addresses");
    if (fast == NULL) {
        return -1;
    }
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        PyErr_Format(PyExc_ValueError, "expected %zd function addresses", n);
        Py_DECREF(fast);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = PyLong_AsVoidPtr(PySequence_Fast_GET_ITEM(fast, i));
        if (out[i] == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "function address %zd is null", i);
            }
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

static PyObject *
bind_v8(PyObject *module, PyObject *addresses)
{
    (void)module;
    void *f[10];
    if (take_addresses(addresses, f, 10) < 0) {
        return NULL;
    }
    *(void **)&v8_current_isolate = f[0];
    *(void **)&v8_current_context = f[1];
    *(void **)&v8_context_global = f[2];
    *(void **)&v8_new_string = f[3];
    *(void **)&v8_object_get = f[4];
    *(void **)&v8_is_function = f[5];
    *(void **)&v8_new_number = f[6];
    *(void **)&v8_function_call = f[7];
    *(void **)&v8_function_new = f[8];
    *(void **)&v8_object_set = f[9];
    return PyLong_FromVoidPtr((void *)&v8_reject_callback);
}

/* ---- V8: results handed over without the GIL ------------------------------------------------ */

/* mini-racer runs each context's isolate on a thread of its own and reports every finished
 * task by calling the context's callback there with the callback id the task was posted with.
 * A Python callback must take the GIL on that thread, and the caller waiting in a queue is
 * woken through the GIL and a condition variable: about 130 us per eval. v8_deliver() is the
 * callback in C -- the id is the address of the waiting context's V8Mailbox -- and
 * V8Mailbox.wait() watches the mailbox without the GIL, first spinning briefly (a small task
 * answers within microseconds on the other core), then sleeping on a condition variable. The
 * first delivery of a context also installs the promise rejection hook (the isolate is
 * entered on that thread), as v8_native.py's Python callback does. */

static void (*v8_set_reject_callback)(void *isolate, void *callback);

typedef struct {
    PyObject_HEAD
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_int ready;
    void *value;
    int tracking;
} V8Mailbox;

#define MAILBOX_SPIN_NS 30000

static void
v8_deliver(uint64_t id, void *raw)
{
    V8Mailbox *box = (V8Mailbox *)(uintptr_t)id;
    if (!box->tracking) {
        box->tracking = 1;
        if (v8_set_reject_callback != NULL && v8_current_isolate != NULL) {
            void *isolate = v8_current_isolate();
            if (isolate != NULL) {
                v8_set_reject_callback(isolate, (void *)&v8_reject_callback);
            }
        }
    }
    pthread_mutex_lock(&box->lock);
    box->value = raw;
    atomic_store_explicit(&box->ready, 1, memory_order_release);
    pthread_cond_signal(&box->cond);
    pthread_mutex_unlock(&box->lock);
}

static PyObject *
V8Mailbox_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    V8Mailbox *self = (V8Mailbox *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&self->ready, 0);
    return (PyObject *)self;
}

static void
V8Mailbox_dealloc(V8Mailbox *self)
{
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* wait(timeout): the next result's address, or None when `timeout` seconds (None: no limit)
   passed first. The GIL is released meanwhile. */
static PyObject *
V8Mailbox_wait(V8Mailbox *self, PyObject *timeout_arg)
{
    double timeout = -1.0;
    if (timeout_arg != Py_None) {
        timeout = PyFloat_AsDouble(timeout_arg);
        if (timeout == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
    }
    int got = 1;
    void *value = NULL;
    Py_BEGIN_ALLOW_THREADS
    int64_t start = monotonic_ns();
    while (!atomic_load_explicit(&self->ready, memory_order_acquire)
           && monotonic_ns() - start < MAILBOX_SPIN_NS) {
    }
    pthread_mutex_lock(&self->lock);
    if (!atomic_load_explicit(&self->ready, memory_order_acquire)) {
        if (timeout < 0) {
            while (!atomic_load_explicit(&self->ready, memory_order_acquire)) {
                pthread_cond_wait(&self->cond, &self->lock);
            }
        } else {
            int64_t deadline = start + (int64_t)(timeout * 1e9);
            struct timespec until = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
            while (!atomic_load_explicit(&self->ready, memory_order_acquire)) {
                if (pthread_cond_timedwait(&self->cond, &self->lock, &until) != 0
                        && !atomic_load_explicit(&self->ready, memory_order_acquire)) {
                    got = 0;
                    break;
                }
            }
        }
    }
    if (got) {
        value = self->value;
        atomic_store_explicit(&self->ready, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&self->lock);
    Py_END_ALLOW_THREADS
    if (!got) {
        Py_RETURN_NONE;
    }
    return PyLong_FromVoidPtr(value);
}

static PyObject *
V8Mailbox_address(V8Mailbox *self, void *closure)
{
    (void)closure;
    return PyLong_FromVoidPtr(self);
}

static PyMethodDef V8Mailbox_methods[] = {
    {"wait", (PyCFunction)V8Mailbox_wait, METH_O,
     "wait(timeout) -> the next result's address, or None after timeout seconds"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef V8Mailbox_getset[] = {
    {"address", (getter)V8Mailbox_address, NULL, "the callback id to post tasks with", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject V8MailboxType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.js._speedups.V8Mailbox",
    .tp_basicsize = sizeof(V8Mailbox),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Where v8_deliver() puts one context's task results (see the source)",
    .tp_new = V8Mailbox_new,
    .tp_dealloc = (destructor)V8Mailbox_dealloc,
    .tp_methods = V8Mailbox_methods,
    .tp_getset = V8Mailbox_getset,
};

/* v8_mailboxes(address of Isolate::SetPromiseRejectCallback, or 0) -> address of v8_deliver */
static PyObject *
v8_mailboxes(PyObject *module, PyObject *address)
{
    (void)module;
    void *f = PyLong_AsVoidPtr(address);
    if (f == NULL && PyErr_Occurred()) {
        return NULL;
    }
    *(void **)&v8_set_reject_callback = f;
    return PyLong_FromVoidPtr((void *)&v8_deliver);
}

static PyMethodDef methods[] = {
    {"quickjs_setup", quickjs_setup, METH_VARARGS,
     "quickjs_setup(path of _quickjs's library, JSException, StackOverflow): find the QuickJS "
     "C API in the binding's library"},
    {"quickjs_track", quickjs_track, METH_O,
     "quickjs_track(context): report the context's promise rejections to its prelude"},
    {"quickjs_call", (PyCFunction)(void (*)(void))quickjs_call, METH_FASTCALL,
     "quickjs_call(function, time_limit, *args): call a QuickJS function (see the source)"},
    {"bind_v8", bind_v8, METH_O,
     "bind_v8((Isolate::GetCurrent, Isolate::GetCurrentContext, Context::Global, "
     "String::NewFromUtf8, Object::Get, Value::IsFunction, Number::New, Function::Call, "
     "Function::New, Object::Set)) -> address of the PromiseRejectCallback"},
    {"v8_mailboxes", v8_mailboxes, METH_O,
     "v8_mailboxes(address of Isolate::SetPromiseRejectCallback or 0) -> address of the C "
     "result callback for mr_init_context (task callback id: a V8Mailbox's address)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "hyphal.js._speedups",
    "The engines' hooks and QuickJS's call path in C (see the source's header).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&V8MailboxType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL
            && PyModule_AddObjectRef(module, "V8Mailbox", (PyObject *)&V8MailboxType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
