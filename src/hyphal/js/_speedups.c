/*
 * hyphal.js._speedups: the engines' promise rejection hooks in C.
 *
 * Theory of operation
 * -------------------
 * Both engines report promise rejections to a C callback: QuickJS's host promise rejection
 * tracker and V8's PromiseRejectCallback. Neither engine binding exposes its hook, so
 * quickjs_engine.py and v8_native.py register one through ctypes, resolving the engines' own
 * exported C and C++ API functions. A Python (ctypes) callback works but costs about 10 us per
 * event -- and code that awaits rejected promises inside try/catch makes two events per
 * rejection -- so the callbacks live here: bind_quickjs()/bind_v8() take the addresses of the
 * API functions the callback needs and return the callback's address, which Python hands to
 * the engine. Each callback calls the JavaScript function __hyphal_rejection(promise, event,
 * reason) of the current context (the prelude defines it; event 0: rejected with no handler,
 * 1: a handler was added later). No Python runs inside the callbacks and they never touch the
 * GIL.
 *
 * The V8 functions are C++ member functions called through their Itanium-ABI symbols: `this`
 * is the first argument and a Local<T>/MaybeLocal<T> is one pointer, passed and returned in a
 * register. PromiseRejectMessage (Local<Promise>, int event, Local<Value>) is passed by value.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- QuickJS (quickjs-ng, 64-bit: no NaN boxing) ---------------------------------------- */

typedef struct {
    int64_t u;
    int64_t tag;
} JSValue;

enum { QJS_TAG_INT = 0, QJS_TAG_OBJECT = -1, QJS_TAG_EXCEPTION = 6 };

static JSValue (*qjs_get_global_object)(void *ctx);
static JSValue (*qjs_get_property_str)(void *ctx, JSValue obj, const char *name);
static JSValue (*qjs_call)(void *ctx, JSValue fn, JSValue this_obj, int argc, JSValue *argv);
static JSValue (*qjs_get_exception)(void *ctx);
static void (*qjs_free_value)(void *ctx, JSValue v);

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
bind_quickjs(PyObject *module, PyObject *addresses)
{
    (void)module;
    void *f[5];
    if (take_addresses(addresses, f, 5) < 0) {
        return NULL;
    }
    *(void **)&qjs_get_global_object = f[0];
    *(void **)&qjs_get_property_str = f[1];
    *(void **)&qjs_call = f[2];
    *(void **)&qjs_get_exception = f[3];
    *(void **)&qjs_free_value = f[4];
    return PyLong_FromVoidPtr((void *)&quickjs_tracker);
}

static PyObject *
bind_v8(PyObject *module, PyObject *addresses)
{
    (void)module;
    void *f[8];
    if (take_addresses(addresses, f, 8) < 0) {
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
    return PyLong_FromVoidPtr((void *)&v8_reject_callback);
}

static PyMethodDef methods[] = {
    {"bind_quickjs", bind_quickjs, METH_O,
     "bind_quickjs((JS_GetGlobalObject, JS_GetPropertyStr, JS_Call, JS_GetException, "
     "JS_FreeValue)) -> address of the rejection tracker"},
    {"bind_v8", bind_v8, METH_O,
     "bind_v8((Isolate::GetCurrent, Isolate::GetCurrentContext, Context::Global, "
     "String::NewFromUtf8, Object::Get, Value::IsFunction, Number::New, Function::Call)) -> "
     "address of the PromiseRejectCallback"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "hyphal.js._speedups",
    "The engines' promise rejection hooks in C (see the source's header).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module_def);
}
