/*
 * hyphal._core._speedups: the channel fast paths in C.
 *
 * Theory of operation
 * -------------------
 * `Ring` is a growable circular buffer with the small deque API the channel's Python code
 * uses (append, appendleft, popleft, extend, clear, len, iter). `ChannelCore` is the base
 * class of hyphal.Channel: it owns the hot fields (_buf, _limit, _received, _rw, _sw) and
 * implements send/send_nowait/recv/recv_nowait/__anext__ for the case that needs no waiting.
 * Every other case calls back into the Python methods of the subclass (_send_wait,
 * _send_nowait_slow, _recv_wait, _recv_nowait_slow, _anext_slow, _admit_senders), so all the
 * subtle logic (waiters, overflow policies, spilling, closing, cancellation) lives in one
 * place: channel.py. The pure-Python base class in channel.py implements the same fast paths
 * and the test suite runs against both.
 *
 * `Ready` is what recv() returns on its fast path: an awaitable that completes at once with
 * the item, through the am_send slot (no exception, no coroutine frame).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* ------------------------------------------------------------------------------------------ */
/* Ring                                                                                       */

typedef struct {
    PyObject_HEAD
    PyObject **items;
    Py_ssize_t head;
    Py_ssize_t count;
    Py_ssize_t alloc; /* a power of two, or 0 before the first push */
} Ring;

static PyTypeObject RingType;

static int
ring_grow(Ring *r)
{
    Py_ssize_t alloc = r->alloc ? r->alloc * 2 : 16;
    PyObject **items = PyMem_New(PyObject *, alloc);
    if (items == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < r->count; i++) {
        items[i] = r->items[(r->head + i) & (r->alloc - 1)];
    }
    PyMem_Free(r->items);
    r->items = items;
    r->head = 0;
    r->alloc = alloc;
    return 0;
}

static inline int
ring_push(Ring *r, PyObject *item)
{
    if (r->count == r->alloc && ring_grow(r) < 0) {
        return -1;
    }
    r->items[(r->head + r->count) & (r->alloc - 1)] = Py_NewRef(item);
    r->count++;
    return 0;
}

static inline int
ring_push_front(Ring *r, PyObject *item)
{
    if (r->count == r->alloc && ring_grow(r) < 0) {
        return -1;
    }
    r->head = (r->head - 1) & (r->alloc - 1);
    r->items[r->head] = Py_NewRef(item);
    r->count++;
    return 0;
}

/* the caller checked count > 0; returns a new reference */
static inline PyObject *
ring_pop(Ring *r)
{
    PyObject *item = r->items[r->head];
    r->items[r->head] = NULL;
    r->head = (r->head + 1) & (r->alloc - 1);
    r->count--;
    return item;
}

static void
ring_clear_items(Ring *r)
{
    while (r->count) {
        PyObject *item = ring_pop(r);
        Py_DECREF(item);
    }
    r->head = 0;
}

static PyObject *
Ring_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "Ring() takes no arguments");
        return NULL;
    }
    Ring *r = PyObject_GC_New(Ring, type);
    if (r == NULL) {
        return NULL;
    }
    r->items = NULL;
    r->head = r->count = r->alloc = 0;
    PyObject_GC_Track(r);
    return (PyObject *)r;
}

static int
Ring_traverse(Ring *r, visitproc visit, void *arg)
{
    for (Py_ssize_t i = 0; i < r->count; i++) {
        Py_VISIT(r->items[(r->head + i) & (r->alloc - 1)]);
    }
    return 0;
}

static int
Ring_clear(Ring *r)
{
    ring_clear_items(r);
    return 0;
}

static void
Ring_dealloc(Ring *r)
{
    PyObject_GC_UnTrack(r);
    ring_clear_items(r);
    PyMem_Free(r->items);
    Py_TYPE(r)->tp_free((PyObject *)r);
}

static Py_ssize_t
Ring_len(Ring *r)
{
    return r->count;
}

static PyObject *
Ring_append(Ring *r, PyObject *item)
{
    if (ring_push(r, item) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Ring_appendleft(Ring *r, PyObject *item)
{
    if (ring_push_front(r, item) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Ring_popleft(Ring *r, PyObject *Py_UNUSED(ignored))
{
    if (!r->count) {
        PyErr_SetString(PyExc_IndexError, "pop from an empty Ring");
        return NULL;
    }
    return ring_pop(r);
}

static PyObject *
Ring_extend(Ring *r, PyObject *iterable)
{
    PyObject *it = PyObject_GetIter(iterable);
    if (it == NULL) {
        return NULL;
    }
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        int err = ring_push(r, item);
        Py_DECREF(item);
        if (err < 0) {
            Py_DECREF(it);
            return NULL;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Ring_clear_method(Ring *r, PyObject *Py_UNUSED(ignored))
{
    ring_clear_items(r);
    Py_RETURN_NONE;
}

/* popmany(n): remove and return up to n items as a list */
static PyObject *
Ring_popmany(Ring *r, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (n > r->count) {
        n = r->count;
    }
    if (n < 0) {
        n = 0;
    }
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyList_SET_ITEM(out, i, ring_pop(r)); /* steals */
    }
    return out;
}

static PyObject *
Ring_snapshot(Ring *r)
{
    PyObject *out = PyList_New(r->count);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < r->count; i++) {
        PyList_SET_ITEM(out, i, Py_NewRef(r->items[(r->head + i) & (r->alloc - 1)]));
    }
    return out;
}

static PyObject *
Ring_iter(Ring *r)
{
    /* iterate over a snapshot, so mutation during iteration cannot corrupt anything */
    PyObject *snap = Ring_snapshot(r);
    if (snap == NULL) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(snap);
    Py_DECREF(snap);
    return it;
}

static PyObject *
Ring_repr(Ring *r)
{
    return PyUnicode_FromFormat("<Ring of %zd items>", r->count);
}

static PySequenceMethods Ring_as_sequence = {
    .sq_length = (lenfunc)Ring_len,
};

static PyMethodDef Ring_methods[] = {
    {"append", (PyCFunction)Ring_append, METH_O, "Add an item at the back."},
    {"appendleft", (PyCFunction)Ring_appendleft, METH_O, "Add an item at the front."},
    {"popleft", (PyCFunction)Ring_popleft, METH_NOARGS, "Remove and return the front item."},
    {"extend", (PyCFunction)Ring_extend, METH_O, "Add every item of an iterable at the back."},
    {"clear", (PyCFunction)Ring_clear_method, METH_NOARGS, "Remove every item."},
    {"popmany", (PyCFunction)Ring_popmany, METH_O,
     "Remove and return up to n front items as a list."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal._core._speedups.Ring",
    .tp_basicsize = sizeof(Ring),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "A circular FIFO buffer with a deque-like API (channel storage).",
    .tp_new = Ring_new,
    .tp_dealloc = (destructor)Ring_dealloc,
    .tp_traverse = (traverseproc)Ring_traverse,
    .tp_clear = (inquiry)Ring_clear,
    .tp_as_sequence = &Ring_as_sequence,
    .tp_iter = (getiterfunc)Ring_iter,
    .tp_repr = (reprfunc)Ring_repr,
    .tp_methods = Ring_methods,
};

/* ------------------------------------------------------------------------------------------ */
/* Ready: an awaitable that is already complete                                              */

typedef struct {
    PyObject_HEAD
    PyObject *value; /* NULL once delivered */
} Ready;

static PyTypeObject ReadyType;

/* steals a reference to value */
static PyObject *
ready_new(PyObject *value)
{
    Ready *r = PyObject_New(Ready, &ReadyType);
    if (r == NULL) {
        Py_DECREF(value);
        return NULL;
    }
    r->value = value;
    return (PyObject *)r;
}

static void
Ready_dealloc(Ready *r)
{
    Py_CLEAR(r->value);
    PyObject_Free(r);
}

static PyObject *
Ready_await(Ready *r)
{
    return Py_NewRef(r);
}

static PySendResult
Ready_send(Ready *r, PyObject *arg, PyObject **result)
{
    PyObject *value = r->value;
    r->value = NULL;
    *result = value ? value : Py_NewRef(Py_None);
    return PYGEN_RETURN;
}

static PyObject *
Ready_iternext(Ready *r)
{
    PyObject *value = r->value ? r->value : Py_None;
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, value);
    Py_CLEAR(r->value);
    if (stop == NULL) {
        return NULL;
    }
    PyErr_SetObject(PyExc_StopIteration, stop);
    Py_DECREF(stop);
    return NULL;
}

static PyAsyncMethods Ready_as_async = {
    .am_await = (unaryfunc)Ready_await,
    .am_send = (sendfunc)Ready_send,
};

static PyTypeObject ReadyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal._core._speedups.Ready",
    .tp_basicsize = sizeof(Ready),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An awaitable that completes at once with a value (recv's fast path).",
    .tp_dealloc = (destructor)Ready_dealloc,
    .tp_as_async = &Ready_as_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)Ready_iternext,
};

/* ------------------------------------------------------------------------------------------ */
/* ChannelCore                                                                                */

typedef struct {
    PyObject_HEAD
    PyObject *buf; /* a Ring, or anything else before the subclass sets it */
    Py_ssize_t limit;
    Py_ssize_t received;
    PyObject *rw;
    PyObject *sw;
} ChannelCore;

static PyObject *DONE = NULL; /* a Ready holding nothing: awaiting it gives None, forever */

static PyObject *str_send_wait, *str_send_nowait_slow, *str_recv_wait, *str_recv_nowait_slow,
    *str_anext_slow, *str_admit_senders;

static inline int
waiting(PyObject *queue)
{
    /* 1 if the waiter queue (None or a deque) holds anyone, 0 if not, -1 on error */
    if (queue == NULL || queue == Py_None) {
        return 0;
    }
    return PyObject_IsTrue(queue);
}

static PyObject *
CC_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    ChannelCore *self = (ChannelCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->buf = Py_NewRef(Py_None);
    self->rw = Py_NewRef(Py_None);
    self->sw = Py_NewRef(Py_None);
    self->limit = 0;
    self->received = 0;
    return (PyObject *)self;
}

static int
CC_traverse(ChannelCore *self, visitproc visit, void *arg)
{
    /* the heap subclass's own traverse visits the type */
    Py_VISIT(self->buf);
    Py_VISIT(self->rw);
    Py_VISIT(self->sw);
    return 0;
}

static int
CC_clear(ChannelCore *self)
{
    Py_CLEAR(self->buf);
    Py_CLEAR(self->rw);
    Py_CLEAR(self->sw);
    return 0;
}

static void
CC_dealloc(ChannelCore *self)
{
    /* reached through subtype_dealloc, which drops the heap subclass's reference itself */
    PyObject_GC_UnTrack(self);
    CC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* items can move without waiting: a Ring with room under the fast-path limit and no receiver
 * waiting for a direct hand-over */
static inline int
can_push(ChannelCore *self, Ring **ring)
{
    if (self->buf == NULL || !Py_IS_TYPE(self->buf, &RingType)) {
        return 0;
    }
    Ring *r = (Ring *)self->buf;
    if (r->count >= self->limit) {
        return 0;
    }
    int w = waiting(self->rw);
    if (w != 0) {
        return w; /* 1: must hand over (slow path); -1: error */
    }
    *ring = r;
    return 2;
}

static PyObject *
CC_send(ChannelCore *self, PyObject *item)
{
    Ring *r = NULL;
    int ok = can_push(self, &r);
    if (ok == 2) {
        if (ring_push(r, item) < 0) {
            return NULL;
        }
        return Py_NewRef(DONE);
    }
    if (ok < 0) {
        return NULL;
    }
    return PyObject_CallMethodObjArgs((PyObject *)self, str_send_wait, item, Py_True, NULL);
}

static PyObject *
CC_send_nowait(ChannelCore *self, PyObject *item)
{
    Ring *r = NULL;
    int ok = can_push(self, &r);
    if (ok == 2) {
        if (ring_push(r, item) < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (ok < 0) {
        return NULL;
    }
    return PyObject_CallMethodOneArg((PyObject *)self, str_send_nowait_slow, item);
}

/* pop the front item when there is one; NULL without an error set when the buffer is empty */
static PyObject *
take_front(ChannelCore *self)
{
    if (self->buf == NULL || !Py_IS_TYPE(self->buf, &RingType) ||
        !((Ring *)self->buf)->count) {
        return NULL;
    }
    PyObject *item = ring_pop((Ring *)self->buf);
    self->received++;
    int w = waiting(self->sw);
    if (w) {
        PyObject *res = w < 0 ? NULL : PyObject_CallMethodNoArgs((PyObject *)self,
                                                                 str_admit_senders);
        if (res == NULL) {
            /* put the item back: an error here must not lose it */
            ring_push_front((Ring *)self->buf, item);
            self->received--;
            Py_DECREF(item);
            return NULL;
        }
        Py_DECREF(res);
    }
    return item;
}

static PyObject *
CC_recv(ChannelCore *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *item = take_front(self);
    if (item != NULL) {
        return ready_new(item);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, str_recv_wait);
}

static PyObject *
CC_recv_nowait(ChannelCore *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *item = take_front(self);
    if (item != NULL || PyErr_Occurred()) {
        return item;
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, str_recv_nowait_slow);
}

static PyObject *
CC_anext(ChannelCore *self)
{
    PyObject *item = take_front(self);
    if (item != NULL) {
        return ready_new(item);
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyObject_CallMethodNoArgs((PyObject *)self, str_anext_slow);
}

static PyObject *
CC_aiter(PyObject *self)
{
    return Py_NewRef(self);
}

static PyMethodDef CC_methods[] = {
    {"send", (PyCFunction)CC_send, METH_O, NULL},
    {"send_nowait", (PyCFunction)CC_send_nowait, METH_O, NULL},
    {"recv", (PyCFunction)CC_recv, METH_NOARGS, NULL},
    {"recv_nowait", (PyCFunction)CC_recv_nowait, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef CC_members[] = {
    {"_buf", T_OBJECT, offsetof(ChannelCore, buf), 0, NULL},
    {"_limit", T_PYSSIZET, offsetof(ChannelCore, limit), 0, NULL},
    {"_received", T_PYSSIZET, offsetof(ChannelCore, received), 0, NULL},
    {"_rw", T_OBJECT, offsetof(ChannelCore, rw), 0, NULL},
    {"_sw", T_OBJECT, offsetof(ChannelCore, sw), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyAsyncMethods CC_as_async = {
    .am_aiter = (unaryfunc)CC_aiter,
    .am_anext = (unaryfunc)CC_anext,
};

static PyTypeObject ChannelCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal._core._speedups.ChannelCore",
    .tp_basicsize = sizeof(ChannelCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C fast paths of hyphal.Channel (see channel.py for the semantics).",
    .tp_new = CC_new,
    .tp_dealloc = (destructor)CC_dealloc,
    .tp_traverse = (traverseproc)CC_traverse,
    .tp_clear = (inquiry)CC_clear,
    .tp_methods = CC_methods,
    .tp_members = CC_members,
    .tp_as_async = &CC_as_async,
};

/* ------------------------------------------------------------------------------------------ */
/* select                                                                                     */

typedef struct {
    PyObject_HEAD
    PyObject *channel;
} RecvOpBase;

static PyObject *
ROB_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *channel;
    if (!PyArg_ParseTuple(args, "O:RecvOp", &channel)) {
        return NULL;
    }
    RecvOpBase *self = (RecvOpBase *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->channel = Py_NewRef(channel);
    return (PyObject *)self;
}

static int
ROB_traverse(RecvOpBase *self, visitproc visit, void *arg)
{
    Py_VISIT(self->channel);
    return 0;
}

static int
ROB_clear(RecvOpBase *self)
{
    Py_CLEAR(self->channel);
    return 0;
}

static void
ROB_dealloc(RecvOpBase *self)
{
    PyObject_GC_UnTrack(self);
    ROB_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef ROB_members[] = {
    {"channel", T_OBJECT, offsetof(RecvOpBase, channel), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject RecvOpBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal._core._speedups.RecvOpBase",
    .tp_basicsize = sizeof(RecvOpBase),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The receive operation of hyphal.select (its channel, for the C fast path).",
    .tp_new = ROB_new,
    .tp_dealloc = (destructor)ROB_dealloc,
    .tp_traverse = (traverseproc)ROB_traverse,
    .tp_clear = (inquiry)ROB_clear,
    .tp_members = ROB_members,
};

static PyObject *select_fallback = NULL; /* select.py's _select(ops, timeout) */
static PyObject *str_timeout;

/* select(*ops, timeout=None): when an operation can complete at once and every operation
 * before it is a receive that certainly cannot, perform it and return an awaitable of
 * (index, item). Everything else (send operations, rendezvous, spilling or closed channels,
 * nothing ready, waiting) is decided by the Python implementation. */
static PyObject *
c_select(PyObject *module, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    PyObject *timeout = Py_None;
    if (kwnames != NULL) {
        Py_ssize_t nkw = PyTuple_GET_SIZE(kwnames);
        for (Py_ssize_t k = 0; k < nkw; k++) {
            PyObject *name = PyTuple_GET_ITEM(kwnames, k);
            if (PyUnicode_Compare(name, str_timeout) != 0) {
                PyErr_Format(PyExc_TypeError,
                             "select() got an unexpected keyword argument '%U'", name);
                return NULL;
            }
            timeout = args[n + k];
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *op = args[i];
        if (!PyObject_TypeCheck(op, &RecvOpBaseType)) {
            break;
        }
        PyObject *ch = ((RecvOpBase *)op)->channel;
        if (ch == NULL || !PyObject_TypeCheck(ch, &ChannelCoreType)) {
            break;
        }
        ChannelCore *core = (ChannelCore *)ch;
        Py_INCREF(ch);
        PyObject *item = take_front(core);
        if (item != NULL) {
            Py_DECREF(ch);
            PyObject *index = PyLong_FromSsize_t(i);
            if (index == NULL) {
                Py_DECREF(item);
                return NULL;
            }
            PyObject *pair = PyTuple_Pack(2, index, item);
            Py_DECREF(index);
            Py_DECREF(item);
            if (pair == NULL) {
                return NULL;
            }
            return ready_new(pair);
        }
        int w = PyErr_Occurred() ? -1 : waiting(core->sw);
        Py_ssize_t limit = core->limit;
        Py_DECREF(ch);
        if (w < 0) {
            return NULL;
        }
        if (w || limit <= 0) { /* a waiting sender, rendezvous, spilling or closed */
            break;
        }
    }
    if (select_fallback == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hyphal.select is not initialised");
        return NULL;
    }
    PyObject *ops = PyTuple_New(n);
    if (ops == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyTuple_SET_ITEM(ops, i, Py_NewRef(args[i]));
    }
    PyObject *res = PyObject_CallFunctionObjArgs(select_fallback, ops, timeout, NULL);
    Py_DECREF(ops);
    return res;
}

static PyObject *
set_select_fallback(PyObject *module, PyObject *fn)
{
    Py_XSETREF(select_fallback, Py_NewRef(fn));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------------------------ */
/* module                                                                                     */

static PyMethodDef module_methods[] = {
    {"select", (PyCFunction)(void (*)(void))c_select, METH_FASTCALL | METH_KEYWORDS,
     "hyphal.select with its ready-receive fast path in C (see select.py)."},
    {"set_select_fallback", set_select_fallback, METH_O,
     "Install the Python implementation select() falls back to."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyphal._core._speedups",
    .m_doc = "C fast paths for hyphal's channels.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
#define INTERN(var, text)                                  \
    if ((var = PyUnicode_InternFromString(text)) == NULL) { \
        return NULL;                                       \
    }
    INTERN(str_send_wait, "_send_wait");
    INTERN(str_send_nowait_slow, "_send_nowait_slow");
    INTERN(str_recv_wait, "_recv_wait");
    INTERN(str_recv_nowait_slow, "_recv_nowait_slow");
    INTERN(str_anext_slow, "_anext_slow");
    INTERN(str_admit_senders, "_admit_senders");
    INTERN(str_timeout, "timeout");
#undef INTERN
    if (PyType_Ready(&RingType) < 0 || PyType_Ready(&ReadyType) < 0 ||
        PyType_Ready(&ChannelCoreType) < 0 || PyType_Ready(&RecvOpBaseType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) {
        return NULL;
    }
    Ready *done = PyObject_New(Ready, &ReadyType);
    if (done == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    done->value = NULL;
    DONE = (PyObject *)done; /* kept for the life of the process */
    if (PyModule_AddObjectRef(m, "Ring", (PyObject *)&RingType) < 0 ||
        PyModule_AddObjectRef(m, "Ready", (PyObject *)&ReadyType) < 0 ||
        PyModule_AddObjectRef(m, "ChannelCore", (PyObject *)&ChannelCoreType) < 0 ||
        PyModule_AddObjectRef(m, "RecvOpBase", (PyObject *)&RecvOpBaseType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
