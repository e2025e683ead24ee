/*
 * hyphal._core._speedups: the channel fast paths and the task driver in C.
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
 *
 * `TaskCore` is the base class of hyphal.TaskHandle: the task driver that steps a child's
 * coroutine and parks it on the futures it awaits, and `cancel_children` /
 * `deliver_cancellation` cancel a whole group of parked children in one loop callback. The
 * theory of operation, and the pure-Python twin the test suite also runs, are in taskcore.py.
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
/* TaskCore: the task driver of hyphal.TaskHandle (the twin of taskcore.py's _PyTaskCore)     */

enum { T_PENDING, T_FINISHED, T_FAILED, T_CANCELLED };

typedef struct {
    PyObject_HEAD
    PyObject *group, *name, *result, *exc, *waiters, *coro, *ctx, *loop, *fut_waiter;
    PyObject *cancel_msg;
    int state;
    int num_cancels;
    char must_cancel;
} TaskCore;

static PyTypeObject TaskCoreType;
static PyObject *t_cancelled_error, *t_enter_task, *t_leave_task, *t_future_type;
static PyObject *t_deliver; /* deliver_cancellation, as a callable for call_soon */
static PyObject *t_current_tasks; /* asyncio's {loop: current task} dict, or NULL */
static PyObject *t_fut_remove_cb, *t_fut_cancel; /* asyncio.Future's methods, unbound */
static PyObject *t_coro_throw;                    /* coroutine.throw, unbound */
static PyObject *t_deferred; /* during a batch: children whose group is told at its end */
static long long t_counts[4]; /* completions by outcome (FINISHED, FAILED, CANCELLED) */
static PyObject *str_throw, *str_result, *str_blocking, *str_get_loop, *str_add_done_callback,
    *str_remove_done_callback, *str_cancel, *str_done, *str_call_soon, *str_child_done,
    *str_context, *str_msg,
    *str_set_result, *str_children_done;
static PyObject *kw_context, *kw_msg; /* ("context",), ("msg",) */

static int
TC_traverse(TaskCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->group);
    Py_VISIT(self->name);
    Py_VISIT(self->result);
    Py_VISIT(self->exc);
    Py_VISIT(self->waiters);
    Py_VISIT(self->coro);
    Py_VISIT(self->ctx);
    Py_VISIT(self->loop);
    Py_VISIT(self->fut_waiter);
    Py_VISIT(self->cancel_msg);
    return 0;
}

static int
TC_clear(TaskCore *self)
{
    Py_CLEAR(self->group);
    Py_CLEAR(self->name);
    Py_CLEAR(self->result);
    Py_CLEAR(self->exc);
    Py_CLEAR(self->waiters);
    Py_CLEAR(self->coro);
    Py_CLEAR(self->ctx);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->fut_waiter);
    Py_CLEAR(self->cancel_msg);
    return 0;
}

static void
TC_dealloc(TaskCore *self)
{
    PyObject_GC_UnTrack(self);
    TC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
TC_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *group, *name;
    if (!PyArg_ParseTuple(args, "OO:TaskHandle", &group, &name)) {
        return NULL;
    }
    TaskCore *self = (TaskCore *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->group = group == Py_None ? NULL : Py_NewRef(group);
    self->name = Py_NewRef(name);
    self->state = T_PENDING;
    return (PyObject *)self;
}

/* Record the outcome, wake the awaiters, tell the group. result and exc are borrowed. */
static int
task_complete(TaskCore *self, int state, PyObject *result, PyObject *exc)
{
    self->state = state;
    Py_XSETREF(self->result, Py_XNewRef(result == Py_None ? NULL : result));
    Py_XSETREF(self->exc, Py_XNewRef(exc == Py_None ? NULL : exc));
    Py_CLEAR(self->fut_waiter);
    if (state > T_PENDING && state <= T_CANCELLED) {
        t_counts[state]++;
    }
    PyObject *waiters = self->waiters;
    if (waiters != NULL && waiters != Py_None) {
        self->waiters = NULL;
        if (PyList_Check(waiters)) {
            for (Py_ssize_t i = 0; i < PyList_GET_SIZE(waiters); i++) {
                PyObject *fut = PyList_GET_ITEM(waiters, i);
                PyObject *done = PyObject_CallMethodNoArgs(fut, str_done);
                int is_done = done == NULL ? -1 : PyObject_IsTrue(done);
                Py_XDECREF(done);
                PyObject *r = is_done != 0 ? NULL
                              : PyObject_CallMethodOneArg(fut, str_set_result, Py_None);
                if (is_done < 0 || (is_done == 0 && r == NULL)) {
                    Py_DECREF(waiters);
                    return -1;
                }
                Py_XDECREF(r);
            }
        }
        Py_DECREF(waiters);
    }
    if (self->group != NULL && t_deferred != NULL && state != T_FAILED) {
        return PyList_Append(t_deferred, (PyObject *)self);
    }
    if (self->group != NULL) {
        PyObject *err = state == T_FAILED && exc != NULL ? exc : Py_None;
        PyObject *r = PyObject_CallMethodObjArgs(self->group, str_child_done, (PyObject *)self,
                                                 err, NULL);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
    }
    return 0;
}

static PyObject *
call2(PyObject *fn, PyObject *a, PyObject *b)
{
    PyObject *args[2] = {a, b};
    return PyObject_Vectorcall(fn, args, 2, NULL);
}

/* loop.call_soon(self._wakeup, arg, context=self._ctx) */
static int
call_soon_wakeup(TaskCore *self, PyObject *arg)
{
    PyObject *args[4] = {self->loop, (PyObject *)self, arg, self->ctx};
    PyObject *r = PyObject_VectorcallMethod(str_call_soon, args,
                                            3 | PY_VECTORCALL_ARGUMENTS_OFFSET, kw_context);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static int
fail_soon(TaskCore *self, PyObject *fmt_obj)
{
    PyObject *error = PyObject_CallOneArg(PyExc_RuntimeError, fmt_obj);
    if (error == NULL) {
        return -1;
    }
    int rc = call_soon_wakeup(self, error);
    Py_DECREF(error);
    return rc;
}

/* fut.add_done_callback(self._wakeup, context=self._ctx) */
static int
add_wakeup(TaskCore *self, PyObject *fut)
{
    PyObject *args[3] = {fut, (PyObject *)self, self->ctx};
    PyObject *r = PyObject_VectorcallMethod(str_add_done_callback, args,
                                            2 | PY_VECTORCALL_ARGUMENTS_OFFSET, kw_context);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* fut.cancel() or fut.cancel(msg=msg): 1 if it was cancelled, 0 if not, -1 on error */
static int
cancel_future(PyObject *fut, PyObject *msg)
{
    PyObject *r;
    if ((msg == NULL || msg == Py_None) && Py_TYPE(fut) == (PyTypeObject *)t_future_type) {
        r = PyObject_Vectorcall(t_fut_cancel, &fut, 1, NULL);
    }
    else if (msg == NULL || msg == Py_None) {
        r = PyObject_CallMethodNoArgs(fut, str_cancel);
    }
    else {
        PyObject *args[2] = {fut, msg};
        r = PyObject_VectorcallMethod(str_cancel, args, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                      kw_msg);
    }
    if (r == NULL) {
        return -1;
    }
    int truth = PyObject_IsTrue(r);
    Py_DECREF(r);
    return truth;
}

/* What the coroutine yielded: park on a future, reschedule on a bare yield, else fail. */
static int
task_park(TaskCore *self, PyObject *yielded)
{
    if (yielded == Py_None) {
        return call_soon_wakeup(self, Py_None);
    }
    PyObject *blocking = PyObject_GetAttr(yielded, str_blocking);
    if (blocking == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            return -1;
        }
        PyErr_Clear();
        PyObject *msg = PyUnicode_FromFormat("task got bad yield: %R", yielded);
        int rc = msg == NULL ? -1 : fail_soon(self, msg);
        Py_XDECREF(msg);
        return rc;
    }
    int is_blocking = PyObject_IsTrue(blocking);
    Py_DECREF(blocking);
    if (is_blocking < 0) {
        return -1;
    }
    if (!is_blocking) {
        PyObject *msg = PyUnicode_FromFormat(
            "yield was used instead of yield from in task %R with %R", self, yielded);
        int rc = msg == NULL ? -1 : fail_soon(self, msg);
        Py_XDECREF(msg);
        return rc;
    }
    PyObject *fut_loop = PyObject_CallMethodNoArgs(yielded, str_get_loop);
    if (fut_loop == NULL) {
        return -1;
    }
    Py_DECREF(fut_loop);
    if (fut_loop != self->loop) {
        PyObject *msg = PyUnicode_FromFormat(
            "task %R got future %R attached to a different loop", self, yielded);
        int rc = msg == NULL ? -1 : fail_soon(self, msg);
        Py_XDECREF(msg);
        return rc;
    }
    if (PyObject_SetAttr(yielded, str_blocking, Py_False) < 0 || add_wakeup(self, yielded) < 0) {
        return -1;
    }
    Py_XSETREF(self->fut_waiter, Py_NewRef(yielded));
    if (self->must_cancel) {
        int cancelled = cancel_future(yielded, self->cancel_msg);
        if (cancelled < 0) {
            return -1;
        }
        if (cancelled) {
            self->must_cancel = 0;
        }
    }
    return 0;
}

/* asyncio's _enter_task/_leave_task, on its dict directly when it has one (3.11-3.13). */
static int
enter_task(PyObject *loop, PyObject *task)
{
    if (t_current_tasks == NULL) {
        PyObject *r = call2(t_enter_task, loop, task);
        Py_XDECREF(r);
        return r == NULL ? -1 : 0;
    }
    PyObject *current = PyDict_GetItemWithError(t_current_tasks, loop);
    if (current != NULL) {
        PyErr_Format(PyExc_RuntimeError,
                     "Cannot enter into task %R while another task %R is being executed.",
                     task, current);
        return -1;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    return PyDict_SetItem(t_current_tasks, loop, task);
}

static int
leave_task(PyObject *loop, PyObject *task)
{
    if (t_current_tasks == NULL) {
        PyObject *r = call2(t_leave_task, loop, task);
        Py_XDECREF(r);
        return r == NULL ? -1 : 0;
    }
    PyObject *current = PyDict_GetItemWithError(t_current_tasks, loop);
    if (current != task) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_RuntimeError,
                         "Leaving task %R does not match the current task %R.", task,
                         current != NULL ? current : Py_None);
        }
        return -1;
    }
    return PyDict_DelItem(t_current_tasks, loop);
}

/* The normalised exception being raised, with its traceback attached (owned). */
static PyObject *
fetch_error(void)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

/* One step of the child, in its context (entered by the caller). exc: borrowed or NULL.
 * Returns -1 with an exception set only for KeyboardInterrupt/SystemExit (after recording
 * it as the child's failure) or an internal error. */
static int
task_step(TaskCore *self, PyObject *exc)
{
    if (self->state != T_PENDING || self->coro == NULL) {
        return 0;
    }
    PyObject *thrown = Py_XNewRef(exc == Py_None ? NULL : exc);
    if (self->must_cancel) {
        if (thrown == NULL || !PyObject_TypeCheck(thrown, (PyTypeObject *)t_cancelled_error)) {
            Py_XDECREF(thrown);
            thrown = self->cancel_msg == NULL || self->cancel_msg == Py_None
                         ? PyObject_CallNoArgs(t_cancelled_error)
                         : PyObject_CallOneArg(t_cancelled_error, self->cancel_msg);
            if (thrown == NULL) {
                return -1;
            }
        }
        self->must_cancel = 0;
    }
    Py_CLEAR(self->fut_waiter);
    Py_INCREF(self);
    PyObject *loop = Py_NewRef(self->loop);
    if (enter_task(loop, (PyObject *)self) < 0) {
        Py_XDECREF(thrown);
        Py_DECREF(loop);
        Py_DECREF(self);
        return -1;
    }
    PyObject *coro = Py_NewRef(self->coro);
    PyObject *out = NULL;
    PySendResult status;
    if (thrown == NULL) {
        status = PyIter_Send(coro, Py_None, &out);
    }
    else {
        if (Py_TYPE(coro) == &PyCoro_Type && t_coro_throw != NULL) {
            PyObject *args[2] = {coro, thrown};
            out = PyObject_Vectorcall(t_coro_throw, args, 2, NULL);
        }
        else {
            out = PyObject_CallMethodOneArg(coro, str_throw, thrown);
        }
        Py_DECREF(thrown);
        if (out != NULL) {
            status = PYGEN_NEXT;
        }
        else if (PyErr_ExceptionMatches(PyExc_StopIteration)) {
            PyObject *stop = fetch_error();
            out = stop == NULL ? Py_NewRef(Py_None)
                               : Py_NewRef(((PyStopIterationObject *)stop)->value);
            Py_XDECREF(stop);
            status = PYGEN_RETURN;
        }
        else {
            status = PYGEN_ERROR;
        }
    }
    Py_DECREF(coro);
    PyObject *error = status == PYGEN_ERROR ? fetch_error() : NULL;
    int rc = leave_task(loop, (PyObject *)self);
    Py_DECREF(loop);
    if (rc == 0) {
        if (status == PYGEN_RETURN) {
            if (self->must_cancel) { /* cancelled while finishing: asyncio.Task's rule */
                self->must_cancel = 0;
                rc = task_complete(self, T_CANCELLED, NULL, NULL);
            }
            else {
                rc = task_complete(self, T_FINISHED, out, NULL);
            }
        }
        else if (status == PYGEN_NEXT) {
            rc = task_park(self, out);
        }
        else if (error == NULL) {
            rc = task_complete(self, T_FAILED, NULL, NULL);
        }
        else if (PyObject_TypeCheck(error, (PyTypeObject *)t_cancelled_error)) {
            rc = task_complete(self, T_CANCELLED, NULL, NULL);
        }
        else {
            rc = task_complete(self, T_FAILED, NULL, error);
            if (rc == 0 && (PyObject_TypeCheck(error, (PyTypeObject *)PyExc_KeyboardInterrupt) ||
                            PyObject_TypeCheck(error, (PyTypeObject *)PyExc_SystemExit))) {
                PyErr_SetObject((PyObject *)Py_TYPE(error), error);
                rc = -1;
            }
        }
    }
    Py_XDECREF(out);
    Py_XDECREF(error);
    Py_DECREF(self);
    return rc;
}

/* _wakeup(fut): the awaited future completed; None: a bare yield; an exception: throw it. */
static PyObject *
TC_wakeup(TaskCore *self, PyObject *fut)
{
    int rc;
    if (fut == Py_None || PyExceptionInstance_Check(fut)) {
        rc = task_step(self, fut);
    }
    else {
        PyObject *r = PyObject_CallMethodNoArgs(fut, str_result);
        if (r == NULL) {
            PyObject *error = fetch_error();
            rc = task_step(self, error);
            Py_XDECREF(error);
        }
        else {
            Py_DECREF(r);
            rc = task_step(self, NULL);
        }
    }
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Calling the core is its wake-up (what it registers as the awaited future's callback): one
 * object fewer per child than a bound method, and no reference cycle to break. */
static PyObject *
TC_call(TaskCore *self, PyObject *args, PyObject *kwargs)
{
    if (kwargs != NULL || PyTuple_GET_SIZE(args) != 1) {
        PyErr_SetString(PyExc_TypeError, "a task's wake-up takes one argument");
        return NULL;
    }
    return TC_wakeup(self, PyTuple_GET_ITEM(args, 0));
}

static int
step_in_context(TaskCore *self, PyObject *exc)
{
    PyObject *ctx = Py_NewRef(self->ctx);
    if (PyContext_Enter(ctx) < 0) {
        Py_DECREF(ctx);
        return -1;
    }
    int rc = task_step(self, exc);
    if (rc < 0) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyContext_Exit(ctx);
        PyErr_Restore(type, value, tb);
    }
    else if (PyContext_Exit(ctx) < 0) {
        rc = -1;
    }
    Py_DECREF(ctx);
    return rc;
}

static PyObject *
TC_start(TaskCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyContext_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "_start(coro, context, loop)");
        return NULL;
    }
    Py_XSETREF(self->coro, Py_NewRef(args[0]));
    Py_XSETREF(self->ctx, Py_NewRef(args[1]));
    Py_XSETREF(self->loop, Py_NewRef(args[2]));
    if (step_in_context(self, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
TC_complete(TaskCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyLong_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "_complete(state, result, exc)");
        return NULL;
    }
    if (task_complete(self, (int)PyLong_AsLong(args[0]), args[1], args[2]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
TC_done(TaskCore *self, PyObject *unused)
{
    return PyBool_FromLong(self->state != T_PENDING);
}

static PyObject *
TC_cancelled(TaskCore *self, PyObject *unused)
{
    return PyBool_FromLong(self->state == T_CANCELLED);
}

static PyObject *
TC_cancel(TaskCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *msg = nargs > 0 ? args[0] : Py_None;
    if (nargs > 1 || (kwnames != NULL && (PyTuple_GET_SIZE(kwnames) != 1 || nargs != 0))) {
        PyErr_SetString(PyExc_TypeError, "cancel(msg=None)");
        return NULL;
    }
    if (kwnames != NULL) {
        msg = args[0];
    }
    if (self->state != T_PENDING) {
        Py_RETURN_FALSE;
    }
    self->num_cancels++;
    if (self->fut_waiter != NULL) {
        PyObject *fut = Py_NewRef(self->fut_waiter);
        int cancelled = cancel_future(fut, msg);
        Py_DECREF(fut);
        if (cancelled < 0) {
            return NULL;
        }
        if (cancelled) {
            Py_RETURN_TRUE;
        }
    }
    self->must_cancel = 1;
    Py_XSETREF(self->cancel_msg, msg == Py_None ? NULL : Py_NewRef(msg));
    Py_RETURN_TRUE;
}

static PyObject *
TC_cancelling(TaskCore *self, PyObject *unused)
{
    return PyLong_FromLong(self->num_cancels);
}

static PyObject *
TC_uncancel(TaskCore *self, PyObject *unused)
{
    if (self->num_cancels > 0) {
        self->num_cancels--;
    }
    return PyLong_FromLong(self->num_cancels);
}

static PyObject *
TC_get_coro(TaskCore *self, PyObject *unused)
{
    return Py_NewRef(self->coro != NULL ? self->coro : Py_None);
}

static PyMethodDef TC_methods[] = {
    {"done", (PyCFunction)TC_done, METH_NOARGS, NULL},
    {"cancelled", (PyCFunction)TC_cancelled, METH_NOARGS, NULL},
    {"cancel", (PyCFunction)(void (*)(void))TC_cancel, METH_FASTCALL | METH_KEYWORDS,
     "Request cancellation; returns False if the child has already finished."},
    {"cancelling", (PyCFunction)TC_cancelling, METH_NOARGS, NULL},
    {"uncancel", (PyCFunction)TC_uncancel, METH_NOARGS, NULL},
    {"get_coro", (PyCFunction)TC_get_coro, METH_NOARGS, NULL},
    {"_start", (PyCFunction)(void (*)(void))TC_start, METH_FASTCALL, NULL},
    {"_wakeup", (PyCFunction)TC_wakeup, METH_O, NULL},
    {"_complete", (PyCFunction)(void (*)(void))TC_complete, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef TC_members[] = {
    {"name", T_OBJECT, offsetof(TaskCore, name), 0, NULL},
    {"_group", T_OBJECT, offsetof(TaskCore, group), READONLY, NULL},
    {"_state", T_INT, offsetof(TaskCore, state), READONLY, NULL},
    {"_result", T_OBJECT, offsetof(TaskCore, result), READONLY, NULL},
    {"_exc", T_OBJECT, offsetof(TaskCore, exc), READONLY, NULL},
    {"_waiters", T_OBJECT, offsetof(TaskCore, waiters), 0, NULL},
    {"_coro", T_OBJECT, offsetof(TaskCore, coro), READONLY, NULL},
    {"_ctx", T_OBJECT, offsetof(TaskCore, ctx), READONLY, NULL},
    {"_loop", T_OBJECT, offsetof(TaskCore, loop), READONLY, NULL},
    {"_fut_waiter", T_OBJECT, offsetof(TaskCore, fut_waiter), READONLY, NULL},
    {"_must_cancel", T_BOOL, offsetof(TaskCore, must_cancel), READONLY, NULL},
    {"_num_cancels", T_INT, offsetof(TaskCore, num_cancels), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject TaskCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal._core._speedups.TaskCore",
    .tp_basicsize = sizeof(TaskCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The task driver of hyphal.TaskHandle (see taskcore.py, its Python twin).",
    .tp_new = TC_new,
    .tp_dealloc = (destructor)TC_dealloc,
    .tp_traverse = (traverseproc)TC_traverse,
    .tp_clear = (inquiry)TC_clear,
    .tp_methods = TC_methods,
    .tp_members = TC_members,
    .tp_call = (ternaryfunc)TC_call,
};

/* cancel_children(children, loop): count a cancellation on every pending child and deliver
 * it to the parked ones in one loop callback. Returns that batch (a list), or None. */
static PyObject *
cancel_children(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "cancel_children(children, loop)");
        return NULL;
    }
    PyObject *it = PyObject_GetIter(args[0]);
    if (it == NULL) {
        return NULL;
    }
    PyObject *parked = PyList_New(0);
    if (parked == NULL) {
        Py_DECREF(it);
        return NULL;
    }
    PyObject *child;
    while ((child = PyIter_Next(it)) != NULL) {
        if (!PyObject_TypeCheck(child, &TaskCoreType)) {
            PyObject *r = PyObject_CallMethodNoArgs(child, str_cancel);
            Py_DECREF(child);
            if (r == NULL) {
                goto error;
            }
            Py_DECREF(r);
            continue;
        }
        TaskCore *t = (TaskCore *)child;
        if (t->state == T_PENDING) {
            t->num_cancels++;
            t->must_cancel = 1;
            Py_CLEAR(t->cancel_msg);
            if (t->fut_waiter != NULL && PyList_Append(parked, child) < 0) {
                Py_DECREF(child);
                goto error;
            }
        }
        Py_DECREF(child);
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    Py_DECREF(it);
    if (PyList_GET_SIZE(parked) == 0) {
        Py_DECREF(parked);
        Py_RETURN_NONE;
    }
    PyObject *r = PyObject_CallMethodObjArgs(args[1], str_call_soon, t_deliver, parked, NULL);
    if (r == NULL) {
        Py_DECREF(parked);
        return NULL;
    }
    Py_DECREF(r);
    return parked;
error:
    Py_DECREF(it);
    Py_DECREF(parked);
    return NULL;
}

/* Tell each group about its children that finished during a batch, with one call per run of
 * children of the same group. */
static int
flush_deferred(PyObject *done)
{
    Py_ssize_t n = PyList_GET_SIZE(done), start = 0;
    while (start < n) {
        PyObject *group = ((TaskCore *)PyList_GET_ITEM(done, start))->group;
        Py_ssize_t end = start + 1;
        while (end < n && ((TaskCore *)PyList_GET_ITEM(done, end))->group == group) {
            end++;
        }
        PyObject *run = PyList_GetSlice(done, start, end);
        PyObject *r = run == NULL ? NULL
                                  : PyObject_CallMethodOneArg(group, str_children_done, run);
        Py_XDECREF(run);
        if (r == NULL) {
            return -1;
        }
        Py_DECREF(r);
        start = end;
    }
    return 0;
}

static PyObject *deliver_batch(PyObject *parked);

static PyObject *
deliver_cancellation(PyObject *module, PyObject *parked)
{
    if (!PyList_Check(parked)) {
        PyErr_SetString(PyExc_TypeError, "deliver_cancellation(list)");
        return NULL;
    }
    PyObject *outer = t_deferred;
    t_deferred = PyList_New(0);
    if (t_deferred == NULL) {
        t_deferred = outer;
        return NULL;
    }
    PyObject *res = deliver_batch(parked);
    PyObject *done = t_deferred;
    t_deferred = outer;
    if (res == NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        if (flush_deferred(done) < 0) {
            PyErr_Clear();
        }
        PyErr_Restore(type, value, tb);
    }
    else if (flush_deferred(done) < 0) {
        Py_CLEAR(res);
    }
    Py_DECREF(done);
    return res;
}

static PyObject *
deliver_batch(PyObject *parked)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(parked); i++) {
        TaskCore *t = (TaskCore *)PyList_GET_ITEM(parked, i);
        if (t->state != T_PENDING || !t->must_cancel || t->fut_waiter == NULL) {
            continue;
        }
        Py_INCREF(t);
        PyObject *fut = Py_NewRef(t->fut_waiter);
        PyObject *r;
        if (Py_TYPE(fut) == (PyTypeObject *)t_future_type) {
            PyObject *args[2] = {fut, (PyObject *)t};
            r = PyObject_Vectorcall(t_fut_remove_cb, args, 2, NULL);
        }
        else {
            r = PyObject_CallMethodOneArg(fut, str_remove_done_callback, (PyObject *)t);
        }
        int removed = r == NULL ? -1 : PyObject_IsTrue(r);
        Py_XDECREF(r);
        int rc = 0;
        if (removed > 0) { /* else it completed meanwhile: its wake-up delivers the cancel */
            int cancelled = cancel_future(fut, NULL);
            int done = cancelled < 0 ? -1 : 1;
            if (cancelled >= 0 && (!cancelled || Py_TYPE(fut) != (PyTypeObject *)t_future_type)) {
                r = PyObject_CallMethodNoArgs(fut, str_done);
                done = r == NULL ? -1 : PyObject_IsTrue(r);
                Py_XDECREF(r);
            }
            if (done < 0) {
                rc = -1;
            }
            else if (!done) { /* e.g. an asyncio.Task: wait until it has finished, as asyncio */
                rc = add_wakeup(t, fut);
                if (cancelled) {
                    t->must_cancel = 0;
                }
            }
            else {
                rc = step_in_context(t, NULL);
            }
        }
        else if (removed < 0) {
            rc = -1;
        }
        Py_DECREF(fut);
        Py_DECREF(t);
        if (rc < 0) {
            Py_ssize_t n = PyList_GET_SIZE(parked);
            if (i + 1 < n) { /* the rest still need their cancellation */
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                PyObject *rest = PyList_GetSlice(parked, i + 1, n);
                PyObject *loop = ((TaskCore *)PyList_GET_ITEM(parked, i + 1))->loop;
                r = rest == NULL ? NULL
                                 : PyObject_CallMethodObjArgs(loop, str_call_soon, t_deliver,
                                                              rest, NULL);
                Py_XDECREF(rest);
                Py_XDECREF(r);
                PyErr_Clear();
                PyErr_Restore(type, value, tb);
            }
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

static PyObject *
setup_tasks(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "setup_tasks(CancelledError, enter_task, leave_task, "
                                         "Future, current_tasks or None)");
        return NULL;
    }
    Py_XSETREF(t_fut_remove_cb, PyObject_GetAttr(args[3], str_remove_done_callback));
    Py_XSETREF(t_fut_cancel, PyObject_GetAttr(args[3], str_cancel));
    Py_XSETREF(t_coro_throw, PyObject_GetAttr((PyObject *)&PyCoro_Type, str_throw));
    if (t_fut_remove_cb == NULL || t_fut_cancel == NULL || t_coro_throw == NULL) {
        return NULL;
    }
    Py_XSETREF(t_current_tasks, PyDict_CheckExact(args[4]) ? Py_NewRef(args[4]) : NULL);
    Py_XSETREF(t_cancelled_error, Py_NewRef(args[0]));
    Py_XSETREF(t_enter_task, Py_NewRef(args[1]));
    Py_XSETREF(t_leave_task, Py_NewRef(args[2]));
    Py_XSETREF(t_future_type, Py_NewRef(args[3]));
    Py_RETURN_NONE;
}

static PyObject *
task_counts(PyObject *module, PyObject *unused)
{
    return Py_BuildValue("(LLL)", t_counts[T_FINISHED], t_counts[T_FAILED],
                         t_counts[T_CANCELLED]);
}

/* ------------------------------------------------------------------------------------------ */
/* module                                                                                     */

static PyMethodDef deliver_def = {
    "deliver_cancellation", (PyCFunction)deliver_cancellation, METH_O,
    "Loop callback of cancel_children: cancel the parked children now."};

static PyMethodDef module_methods[] = {
    {"cancel_children", (PyCFunction)(void (*)(void))cancel_children, METH_FASTCALL,
     "Cancel every pending child; the parked ones in one loop callback (see taskcore.py)."},
    {"setup_tasks", (PyCFunction)(void (*)(void))setup_tasks, METH_FASTCALL,
     "Hand the task driver asyncio's pieces."},
    {"task_counts", task_counts, METH_NOARGS,
     "Children completed by the C driver: (finished, failed, cancelled)."},
    {"select", (PyCFunction)(void (*)(void))c_select, METH_FASTCALL | METH_KEYWORDS,
     "hyphal.select with its ready-receive fast path in C (see select.py)."},
    {"set_select_fallback", set_select_fallback, METH_O,
     "Install the Python implementation select() falls back to."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyphal._core._speedups",
    .m_doc = "C fast paths for hyphal's channels and task driver.",
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
    INTERN(str_throw, "throw");
    INTERN(str_result, "result");
    INTERN(str_blocking, "_asyncio_future_blocking");
    INTERN(str_get_loop, "get_loop");
    INTERN(str_add_done_callback, "add_done_callback");
    INTERN(str_remove_done_callback, "remove_done_callback");
    INTERN(str_cancel, "cancel");
    INTERN(str_done, "done");
    INTERN(str_call_soon, "call_soon");
    INTERN(str_child_done, "_child_done");
    INTERN(str_context, "context");
    INTERN(str_msg, "msg");
    INTERN(str_children_done, "_children_done");
    INTERN(str_set_result, "set_result");
#undef INTERN
    if ((kw_context = PyTuple_Pack(1, str_context)) == NULL ||
        (kw_msg = PyTuple_Pack(1, str_msg)) == NULL ||
        (t_deliver = PyCFunction_New(&deliver_def, NULL)) == NULL) {
        return NULL;
    }
    if (PyType_Ready(&RingType) < 0 || PyType_Ready(&ReadyType) < 0 ||
        PyType_Ready(&ChannelCoreType) < 0 || PyType_Ready(&RecvOpBaseType) < 0 ||
        PyType_Ready(&TaskCoreType) < 0) {
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
        PyModule_AddObjectRef(m, "RecvOpBase", (PyObject *)&RecvOpBaseType) < 0 ||
        PyModule_AddObjectRef(m, "TaskCore", (PyObject *)&TaskCoreType) < 0 ||
        PyModule_AddObjectRef(m, "deliver_cancellation", t_deliver) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
