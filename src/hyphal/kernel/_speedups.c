/*
 * hyphal.kernel._speedups: the message constructor in C.
 *
 * Theory of operation
 * -------------------
 * `MessageCore` is the base class of hyphal.Message. It owns the fields every message has
 * (path, body, _meta, ts, _seq, _root) and the lazily filled ones (_params, _reply_to, _id:
 * unset until assigned, so reading them raises AttributeError exactly like an unset slot in
 * the pure-Python twin). Its constructor does what message.py's `_PyMessageCore.__init__`
 * does -- store the arguments, read the wall clock, take the next sequence number, and take
 * the trace root from the kernel's "current message" context variable -- without a Python
 * frame. Everything else (properties, restore, fork) stays in Python, in message.py, and the
 * test suite runs against both bases.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>

typedef struct {
    PyObject_HEAD
    PyObject *path;
    PyObject *body;
    PyObject *meta;
    PyObject *root;
    PyObject *params;
    PyObject *reply_to;
    PyObject *id;
    double ts;
    long long seq;
} MessageCore;

static PyTypeObject MessageCoreType;
static PyObject *mc_make(PyTypeObject *type, PyObject *path, PyObject *body, PyObject *meta);
static PyObject *current_var = NULL; /* the ContextVar holding the message being handled */
static long long next_seq = 0;

static double
wall_clock(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int
MC_traverse(MessageCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->path);
    Py_VISIT(self->body);
    Py_VISIT(self->meta);
    Py_VISIT(self->root);
    Py_VISIT(self->params);
    Py_VISIT(self->reply_to);
    Py_VISIT(self->id);
    return 0;
}

static int
MC_clear(MessageCore *self)
{
    Py_CLEAR(self->path);
    Py_CLEAR(self->body);
    Py_CLEAR(self->meta);
    Py_CLEAR(self->root);
    Py_CLEAR(self->params);
    Py_CLEAR(self->reply_to);
    Py_CLEAR(self->id);
    return 0;
}

static void
MC_dealloc(MessageCore *self)
{
    /* a static base: the subclass's own dealloc (subtype_dealloc) drops the type reference */
    PyObject_GC_UnTrack(self);
    MC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
MC_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "body", "meta", NULL};
    PyObject *path, *body = Py_None, *meta = Py_None;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (kwds == NULL && n >= 1 && n <= 3) {
        path = PyTuple_GET_ITEM(args, 0);
        if (n > 1) body = PyTuple_GET_ITEM(args, 1);
        if (n > 2) meta = PyTuple_GET_ITEM(args, 2);
    }
    else if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OO:Message", kwlist,
                                          &path, &body, &meta)) {
        return NULL;
    }
    return mc_make(type, path, body, meta);
}

static PyObject *
mc_make(PyTypeObject *type, PyObject *path, PyObject *body, PyObject *meta)
{
    PyObject *parent = NULL;
    if (current_var != NULL && PyContextVar_Get(current_var, Py_None, &parent) < 0) {
        return NULL;
    }
    MessageCore *self = (MessageCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_XDECREF(parent);
        return NULL;
    }
    Py_INCREF(path);
    self->path = path;
    Py_INCREF(body);
    self->body = body;
    Py_INCREF(meta);
    self->meta = meta;
    self->ts = wall_clock();
    self->seq = ++next_seq;
    PyObject *root = Py_None;
    if (parent != NULL && parent != Py_None) {
        root = parent;
        if (PyObject_TypeCheck(parent, &MessageCoreType)) {
            PyObject *grand = ((MessageCore *)parent)->root;
            if (grand != NULL && grand != Py_None) {
                root = grand;
            }
        }
    }
    Py_INCREF(root);
    self->root = root;
    Py_XDECREF(parent);
    return (PyObject *)self;
}

static PyMemberDef MC_members[] = {
    {"path", T_OBJECT_EX, offsetof(MessageCore, path), 0, NULL},
    {"body", T_OBJECT_EX, offsetof(MessageCore, body), 0, NULL},
    {"_meta", T_OBJECT_EX, offsetof(MessageCore, meta), 0, NULL},
    {"_root", T_OBJECT_EX, offsetof(MessageCore, root), 0, NULL},
    {"_params", T_OBJECT_EX, offsetof(MessageCore, params), 0, NULL},
    {"_reply_to", T_OBJECT_EX, offsetof(MessageCore, reply_to), 0, NULL},
    {"_id", T_OBJECT_EX, offsetof(MessageCore, id), 0, NULL},
    {"ts", T_DOUBLE, offsetof(MessageCore, ts), 0, NULL},
    {"_seq", T_LONGLONG, offsetof(MessageCore, seq), 0, NULL},
    {NULL},
};

static PyTypeObject MessageCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.kernel._speedups.MessageCore",
    .tp_basicsize = sizeof(MessageCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of hyphal.Message: its fields and its constructor.",
    .tp_new = MC_new,
    .tp_dealloc = (destructor)MC_dealloc,
    .tp_traverse = (traverseproc)MC_traverse,
    .tp_clear = (inquiry)MC_clear,
    .tp_members = MC_members,
};

/* ------------------------------------------------------------------------------------------ */
/* RouteCore: the hot fields of a route                                                       */

typedef struct {
    PyObject_HEAD
    PyObject *handler;
    PyObject *hist;     /* a list of ints: the sampled latency histogram */
    long long calls;
    long long errors;
    char inline_;
    char awaits;
} RouteCore;

static int
RC_traverse(RouteCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->handler);
    Py_VISIT(self->hist);
    return 0;
}

static int
RC_clear(RouteCore *self)
{
    Py_CLEAR(self->handler);
    Py_CLEAR(self->hist);
    return 0;
}

static void
RC_dealloc(RouteCore *self)
{
    PyObject_GC_UnTrack(self);
    RC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef RC_members[] = {
    {"handler", T_OBJECT_EX, offsetof(RouteCore, handler), 0, NULL},
    {"hist", T_OBJECT_EX, offsetof(RouteCore, hist), 0, NULL},
    {"calls", T_LONGLONG, offsetof(RouteCore, calls), 0, NULL},
    {"errors", T_LONGLONG, offsetof(RouteCore, errors), 0, NULL},
    {"inline", T_BOOL, offsetof(RouteCore, inline_), 0, NULL},
    {"awaits", T_BOOL, offsetof(RouteCore, awaits), 0, NULL},
    {NULL},
};

static PyTypeObject RouteCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.kernel._speedups.RouteCore",
    .tp_basicsize = sizeof(RouteCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of a kernel route: the fields send() reads on its fast path.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)RC_dealloc,
    .tp_traverse = (traverseproc)RC_traverse,
    .tp_clear = (inquiry)RC_clear,
    .tp_members = RC_members,
};

/* ------------------------------------------------------------------------------------------ */
/* Done: what send() returns once the message is delivered: awaiting it gives None at once,   */
/* through am_send (no iterator object, no exception).                                        */

static PyObject *
Done_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PySendResult
Done_send(PyObject *self, PyObject *arg, PyObject **result)
{
    *result = Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *
Done_next(PyObject *self)
{
    return NULL;  /* no exception set: StopIteration(None) */
}

static PyObject *
Done_repr(PyObject *self)
{
    return PyUnicode_FromString("<hyphal.kernel delivered>");
}

static PyAsyncMethods Done_async = {
    .am_await = Done_await,
    .am_send = Done_send,
};

static PyTypeObject DoneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.kernel._speedups.Done",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An awaitable that is already complete (its result is None).",
    .tp_as_async = &Done_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = Done_next,
    .tp_repr = Done_repr,
};

static PyObject *done_singleton = NULL;

/* ------------------------------------------------------------------------------------------ */
/* KernelCore: Kernel.send's fast path                                                        */

typedef struct {
    PyObject_HEAD
    PyObject *fast;     /* path -> (route, params): the route table's hot dict, {} when stopped */
} KernelCore;

static PyObject *message_type = NULL;   /* hyphal.Message */
static PyObject *str_send_slow, *str_send_durable, *str_failed, *str_subsystem, *str_put, *one;
#define UNTIMED 15                      /* LATENCY_SAMPLE - 1 in stats.py */

static long long
mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int
KC_traverse(KernelCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fast);
    return 0;
}

static int
KC_clear(KernelCore *self)
{
    Py_CLEAR(self->fast);
    return 0;
}

static void
KC_dealloc(KernelCore *self)
{
    PyObject_GC_UnTrack(self);
    KC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
record_latency(RouteCore *r, long long t0)
{
    long long elapsed = mono_ns() - t0;
    int bucket = 0;
    while (elapsed > 0 && bucket < 63) {  /* int.bit_length() */
        elapsed >>= 1;
        bucket++;
    }
    if (r->hist == NULL || !PyList_Check(r->hist) || bucket >= PyList_GET_SIZE(r->hist)) {
        return 0;
    }
    PyObject *old = PyList_GET_ITEM(r->hist, bucket);
    PyObject *new = PyNumber_Add(old, one);
    if (new == NULL) {
        return -1;
    }
    PyList_SetItem(r->hist, bucket, new);  /* steals new, drops old */
    return 0;
}

/* send(path, body=None, *, meta=None, durable=False): see Kernel.send in kernel.py
 * (_PyKernelCore.send is the same in Python). Misses and every case but "a known path" go to
 * self._send_slow; durable=True to self._send_durable. */
static PyObject *
KC_send(KernelCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *path = nargs > 0 ? args[0] : NULL;
    PyObject *body = nargs > 1 ? args[1] : Py_None;
    PyObject *meta = Py_None;
    PyObject *durable = NULL;
    if (nargs > 2) {
        goto general;
    }
    if (kwnames != NULL) {
        Py_ssize_t nk = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t i = 0; i < nk; i++) {
            PyObject *key = PyTuple_GET_ITEM(kwnames, i);
            if (PyUnicode_CompareWithASCIIString(key, "meta") == 0) {
                meta = args[nargs + i];
            }
            else if (nargs < 2 && PyUnicode_CompareWithASCIIString(key, "body") == 0) {
                body = args[nargs + i];
            }
            else if (nargs < 1 && PyUnicode_CompareWithASCIIString(key, "path") == 0) {
                path = args[nargs + i];
            }
            else if (PyUnicode_CompareWithASCIIString(key, "durable") == 0) {
                durable = args[nargs + i];
            }
            else {
                goto general;
            }
        }
    }
    if (path == NULL) {
        goto general;
    }
    if (durable != NULL) {
        int wanted = PyObject_IsTrue(durable);
        if (wanted < 0) {
            return NULL;
        }
        if (wanted) {
            return PyObject_CallMethodObjArgs((PyObject *)self, str_send_durable, path, body,
                                              meta, NULL);
        }
    }
    if (self->fast == NULL || message_type == NULL) {
        goto slow;
    }
    /* a ready Message (nothing else given): route it by its path */
    MessageCore *given = NULL;
    PyObject *key = path;
    if (Py_TYPE(path) == (PyTypeObject *)message_type) {
        if (nargs != 1 || kwnames != NULL) {
            goto slow;
        }
        given = (MessageCore *)path;
        key = given->path;
        if (key == NULL) {
            goto slow;
        }
    }
    PyObject *hit = PyDict_GetItemWithError(self->fast, key);
    if (hit == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        goto slow;
    }
    if (!PyTuple_Check(hit) || PyTuple_GET_SIZE(hit) != 2
            || !PyObject_TypeCheck(PyTuple_GET_ITEM(hit, 0), &RouteCoreType)) {
        goto slow;
    }
    PyObject *route = PyTuple_GET_ITEM(hit, 0);
    RouteCore *r = (RouteCore *)route;
    Py_INCREF(route);
    MessageCore *msg;
    if (given != NULL) {
        msg = (MessageCore *)Py_NewRef(given);
    }
    else {
        msg = (MessageCore *)mc_make((PyTypeObject *)message_type, path, body, meta);
    }
    if (msg == NULL) {
        Py_DECREF(route);
        return NULL;
    }
    Py_INCREF(PyTuple_GET_ITEM(hit, 1));
    Py_XSETREF(msg->params, PyTuple_GET_ITEM(hit, 1));
    PyObject *result = NULL;
    if (r->inline_ && r->handler != NULL) {
        PyObject *token = PyContextVar_Set(current_var, (PyObject *)msg);
        if (token == NULL) {
            goto done;
        }
        long long t0 = (r->calls & UNTIMED) ? 0 : mono_ns();
        PyObject *res = PyObject_CallOneArg(r->handler, (PyObject *)msg);
        int failed = 0;
        if (res == NULL) {
            if (PyErr_ExceptionMatches(PyExc_Exception)) {
                PyObject *et, *ev, *etb;
                PyErr_Fetch(&et, &ev, &etb);
                PyErr_NormalizeException(&et, &ev, &etb);
                if (etb != NULL) {
                    PyException_SetTraceback(ev, etb);
                }
                PyObject *ok = PyObject_CallMethodObjArgs(route, str_failed, msg, ev, NULL);
                Py_XDECREF(et);
                Py_XDECREF(ev);
                Py_XDECREF(etb);
                if (ok == NULL) {
                    failed = 1;
                }
                Py_XDECREF(ok);
            }
            else {
                failed = 1;  /* BaseException: propagate, after restoring the context */
            }
        }
        Py_XDECREF(res);
        if (failed) {
            PyObject *et, *ev, *etb;
            PyErr_Fetch(&et, &ev, &etb);
            PyContextVar_Reset(current_var, token);
            Py_DECREF(token);
            PyErr_Restore(et, ev, etb);
            goto done;
        }
        if (PyContextVar_Reset(current_var, token) < 0) {
            Py_DECREF(token);
            goto done;
        }
        Py_DECREF(token);
        r->calls += 1;
        if (t0 && record_latency(r, t0) < 0) {
            goto done;
        }
        result = Py_NewRef(done_singleton);
    }
    else {
        PyObject *sub = PyObject_GetAttr(route, str_subsystem);
        if (sub == NULL) {
            goto done;
        }
        PyObject *item = PyTuple_Pack(2, (PyObject *)msg, route);
        if (item != NULL) {
            result = PyObject_CallMethodOneArg(sub, str_put, item);
            Py_DECREF(item);
        }
        Py_DECREF(sub);
    }
done:
    Py_DECREF(msg);
    Py_DECREF(route);
    return result;
slow:
    return PyObject_CallMethodObjArgs((PyObject *)self, str_send_slow, path, body, meta, NULL);
general:
    PyErr_SetString(PyExc_TypeError,
                    "send() takes a path (or a Message), an optional body, meta= and durable= "
                    "(send(path, body=None, *, meta=None, durable=False))");
    return NULL;
}

/* run_ready(batch, start): the subsystem worker's inner loop. For each (msg, route) of the
 * list `batch` from `start`: make msg the current message (the worker's own context, so it is
 * not reset), call route.call(msg) and drive the coroutine it returns with PyIter_Send. A
 * handler that finishes without suspending is counted (errors go to route.failed) and the loop
 * goes on. The first one that suspends -- or returns something that is not a coroutine -- is
 * handed back as (index, awaitable, yielded or NOT_STARTED, t0) for the Python worker to
 * finish (subsystem.py); None means the whole batch is done. */
static PyObject *not_started = NULL;
static PyObject *str_call;

static int
route_failed(PyObject *route, PyObject *msg)
{
    /* the current exception is an Exception: hand it to route.failed; else leave it set */
    if (!PyErr_ExceptionMatches(PyExc_Exception)) {
        return -1;
    }
    PyObject *et, *ev, *etb;
    PyErr_Fetch(&et, &ev, &etb);
    PyErr_NormalizeException(&et, &ev, &etb);
    if (etb != NULL) {
        PyException_SetTraceback(ev, etb);
    }
    PyObject *ok = PyObject_CallMethodObjArgs(route, str_failed, msg, ev, NULL);
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(etb);
    if (ok == NULL) {
        return -1;
    }
    Py_DECREF(ok);
    return 0;
}

static PyObject *
run_ready(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "run_ready(batch: list, start: int)");
        return NULL;
    }
    PyObject *batch = args[0];
    Py_ssize_t i = PyLong_AsSsize_t(args[1]);
    if (i == -1 && PyErr_Occurred()) {
        return NULL;
    }
    for (; i < PyList_GET_SIZE(batch); i++) {
        PyObject *item = PyList_GET_ITEM(batch, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2
                || !PyObject_TypeCheck(PyTuple_GET_ITEM(item, 1), &RouteCoreType)) {
            PyErr_SetString(PyExc_TypeError, "run_ready() needs (message, route) pairs");
            return NULL;
        }
        PyObject *msg = PyTuple_GET_ITEM(item, 0);
        PyObject *route = PyTuple_GET_ITEM(item, 1);
        RouteCore *r = (RouteCore *)route;
        Py_INCREF(item);  /* keeps msg and route alive whatever the handler does */
        PyObject *token = PyContextVar_Set(current_var, msg);
        if (token == NULL) {
            Py_DECREF(item);
            return NULL;
        }
        Py_DECREF(token);
        long long t0 = (r->calls & UNTIMED) ? 0 : mono_ns();
        PyObject *call = PyObject_GetAttr(route, str_call);
        PyObject *coro = call == NULL ? NULL : PyObject_CallOneArg(call, msg);
        Py_XDECREF(call);
        if (coro == NULL) {
            if (route_failed(route, msg) < 0) {
                Py_DECREF(item);
                return NULL;
            }
        }
        else if (!PyCoro_CheckExact(coro)) {
            Py_DECREF(item);
            PyObject *t0obj = PyLong_FromLongLong(t0);
            if (t0obj == NULL) {
                Py_DECREF(coro);
                return NULL;
            }
            PyObject *out = Py_BuildValue("(nNON)", i, coro, not_started, t0obj);
            return out;
        }
        else {
            PyObject *res = NULL;
            PySendResult status = PyIter_Send(coro, Py_None, &res);
            if (status == PYGEN_NEXT) {
                Py_DECREF(item);
                PyObject *t0obj = PyLong_FromLongLong(t0);
                if (t0obj == NULL) {
                    Py_DECREF(coro);
                    Py_DECREF(res);
                    return NULL;
                }
                return Py_BuildValue("(nNNN)", i, coro, res, t0obj);
            }
            Py_DECREF(coro);
            if (status == PYGEN_RETURN) {
                Py_DECREF(res);
            }
            else if (route_failed(route, msg) < 0) {
                Py_DECREF(item);
                return NULL;
            }
        }
        r->calls += 1;
        if (t0 && record_latency(r, t0) < 0) {
            Py_DECREF(item);
            return NULL;
        }
        Py_DECREF(item);
    }
    Py_RETURN_NONE;
}

static PyMethodDef KC_methods[] = {
    {"send", (PyCFunction)(void (*)(void))KC_send, METH_FASTCALL | METH_KEYWORDS,
     "Deliver one message to the handler of its path (see hyphal.Kernel.send)."},
    {NULL},
};

static PyMemberDef KC_members[] = {
    {"_fast", T_OBJECT_EX, offsetof(KernelCore, fast), 0, NULL},
    {NULL},
};

static PyTypeObject KernelCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.kernel._speedups.KernelCore",
    .tp_basicsize = sizeof(KernelCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of hyphal.Kernel: the fast path of send().",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)KC_dealloc,
    .tp_traverse = (traverseproc)KC_traverse,
    .tp_clear = (inquiry)KC_clear,
    .tp_members = KC_members,
    .tp_methods = KC_methods,
};

static PyObject *
set_message_type(PyObject *module, PyObject *type)
{
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &MessageCoreType)) {
        PyErr_SetString(PyExc_TypeError, "set_message_type() needs the MessageCore subclass");
        return NULL;
    }
    Py_XSETREF(message_type, Py_NewRef(type));
    Py_RETURN_NONE;
}

static PyObject *
set_current_var(PyObject *module, PyObject *var)
{
    if (!PyContextVar_CheckExact(var)) {
        PyErr_SetString(PyExc_TypeError, "set_current_var() needs a contextvars.ContextVar");
        return NULL;
    }
    Py_INCREF(var);
    Py_XSETREF(current_var, var);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_current_var", set_current_var, METH_O,
     "Tell the constructor which ContextVar holds the message being handled."},
    {"run_ready", (PyCFunction)(void (*)(void))run_ready, METH_FASTCALL,
     "Run a worker batch's handlers until one suspends (see subsystem.py)."},
    {"set_message_type", set_message_type, METH_O,
     "Tell send() which class (hyphal.Message) to build messages of."},
    {NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyphal.kernel._speedups",
    .m_doc = "C fast paths of the hyphal message kernel.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&MessageCoreType) < 0 || PyType_Ready(&RouteCoreType) < 0
            || PyType_Ready(&KernelCoreType) < 0 || PyType_Ready(&DoneType) < 0) {
        return NULL;
    }
    done_singleton = PyObject_New(PyObject, &DoneType);
    if (done_singleton == NULL) {
        return NULL;
    }
    str_send_slow = PyUnicode_InternFromString("_send_slow");
    str_send_durable = PyUnicode_InternFromString("_send_durable");
    str_failed = PyUnicode_InternFromString("failed");
    str_subsystem = PyUnicode_InternFromString("subsystem");
    str_put = PyUnicode_InternFromString("_put");
    str_call = PyUnicode_InternFromString("call");
    one = PyLong_FromLong(1);
    not_started = PyObject_New(PyObject, &PyBaseObject_Type);
    if (!str_send_slow || !str_send_durable || !str_failed || !str_subsystem || !str_put
            || !str_call || !one || !not_started) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "MessageCore", (PyObject *)&MessageCoreType) < 0
            || PyModule_AddObjectRef(m, "RouteCore", (PyObject *)&RouteCoreType) < 0
            || PyModule_AddObjectRef(m, "KernelCore", (PyObject *)&KernelCoreType) < 0
            || PyModule_AddObjectRef(m, "DONE", done_singleton) < 0
            || PyModule_AddObjectRef(m, "NOT_STARTED", not_started) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
