/*
 * hyphal.actors._speedups: the per-message paths of actors in C.
 *
 * Theory of operation
 * -------------------
 * This is the C twin of the pure-Python classes in hotpath.py (read its header first); both
 * behave the same and the actor suite runs on both.
 *
 * - Ask, CellCore and MailboxCore hold the fields the hot paths touch as C members, which
 *   Python reads and writes as attributes (the Python classes Cell and Mailbox subclass them).
 * - RefCore.tell(msg) runs offer() on the ref's mailbox and calls self._offer_slow(msg) when
 *   the mailbox is full or closed; RefCore.ask(msg) queues an Ask when there is room and no
 *   timeout, else calls self._ask(msg, timeout). The `_mb` setter checks the type once, so
 *   tell() and ask() trust it.
 * - Drain.run() is the actor's loop: take the queue (swapping in the last batch's emptied
 *   list), call each handler (the plain twin of a receive that never awaits, else receive,
 *   whose coroutine is driven with PyIter_Send: no StopIteration is made), answer asks, count,
 *   and return only with something for the actor's task to await (a wake-up future, the
 *   YIELD marker, a suspended handler) or None when the mailbox is closed and drained. A
 *   handler that raises leaves `index` on its message.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <time.h>

#define FAIRNESS_BATCH 256            /* hotpath.FAIRNESS_BATCH */
static PyObject *not_started = NULL;  /* hotpath.NOT_STARTED */
static PyObject *yield_marker = NULL; /* hotpath.YIELD */
static PyObject *no_batch = NULL;     /* an empty list, never changed: an idle actor's batch */
static PyObject *perf_counter = NULL; /* time.perf_counter */
static PyObject *str_set_result, *str_done, *str_offer_slow, *str_ask_general,
    *str_create_future, *str_admit, *str_new_latency, *str_recent, *str_append;

/* time.perf_counter() without the call where it is known to be CLOCK_MONOTONIC; -1.0 with an
 * exception set on error */
static double
now(void)
{
#ifdef __linux__
    struct timespec t;
    if (clock_gettime(CLOCK_MONOTONIC, &t) == 0) {
        return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
    }
#endif
    PyObject *r = PyObject_CallNoArgs(perf_counter);
    if (r == NULL) {
        return -1.0;
    }
    double value = PyFloat_AsDouble(r);
    Py_DECREF(r);
    return value;
}

/* ------------------------------------------------------------------------------------------ */
/* Ask: the envelope of an ask                                                                */

typedef struct {
    PyObject_HEAD
    PyObject *msg;
    PyObject *fut;
    double sent;
} Ask;

static PyTypeObject AskType;

static int
Ask_traverse(Ask *self, visitproc visit, void *arg)
{
    Py_VISIT(self->msg);
    Py_VISIT(self->fut);
    return 0;
}

static int
Ask_clear(Ask *self)
{
    Py_CLEAR(self->msg);
    Py_CLEAR(self->fut);
    return 0;
}

static void
Ask_dealloc(Ask *self)
{
    PyObject_GC_UnTrack(self);
    Ask_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
ask_make(PyObject *msg, PyObject *fut, double sent)
{
    Ask *self = PyObject_GC_New(Ask, &AskType);
    if (self == NULL) {
        return NULL;
    }
    self->msg = Py_NewRef(msg);
    self->fut = Py_NewRef(fut);
    self->sent = sent;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *
Ask_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"msg", "fut", "sent", NULL};
    PyObject *msg, *fut;
    double sent;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOd:Ask", kwlist, &msg, &fut, &sent)) {
        return NULL;
    }
    return ask_make(msg, fut, sent);
}

static PyMemberDef Ask_members[] = {
    {"msg", T_OBJECT_EX, offsetof(Ask, msg), READONLY, NULL},
    {"fut", T_OBJECT_EX, offsetof(Ask, fut), READONLY, NULL},
    {"sent", T_DOUBLE, offsetof(Ask, sent), READONLY, NULL},
    {NULL},
};

static PyTypeObject AskType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.Ask",
    .tp_basicsize = sizeof(Ask),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Ask(msg, fut, sent): the envelope of an ask (see hyphal.actors.hotpath.Ask).",
    .tp_new = Ask_new,
    .tp_dealloc = (destructor)Ask_dealloc,
    .tp_traverse = (traverseproc)Ask_traverse,
    .tp_clear = (inquiry)Ask_clear,
    .tp_members = Ask_members,
};

/* ------------------------------------------------------------------------------------------ */
/* CellCore: the counters the loop updates per message                                        */

typedef struct {
    PyObject_HEAD
    PyObject *latency;  /* NULL or None until the first answered ask: a LatencyRecorder */
    long long processed;
    long long asks;
} CellCore;

static PyTypeObject CellCoreType;

static int
CC_traverse(CellCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->latency);
    return 0;
}

static int
CC_clear(CellCore *self)
{
    Py_CLEAR(self->latency);
    return 0;
}

static void
CC_dealloc(CellCore *self)
{
    PyObject_GC_UnTrack(self);
    CC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMemberDef CC_members[] = {
    {"latency", T_OBJECT, offsetof(CellCore, latency), 0, NULL},
    {"processed", T_LONGLONG, offsetof(CellCore, processed), 0, NULL},
    {"asks", T_LONGLONG, offsetof(CellCore, asks), 0, NULL},
    {NULL},
};

static PyTypeObject CellCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.CellCore",
    .tp_basicsize = sizeof(CellCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of an actor's cell: the counters its loop updates per message.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)CC_dealloc,
    .tp_traverse = (traverseproc)CC_traverse,
    .tp_clear = (inquiry)CC_clear,
    .tp_members = CC_members,
};

/* ------------------------------------------------------------------------------------------ */
/* MailboxCore                                                                                */

typedef struct {
    PyObject_HEAD
    PyObject *queue;
    PyObject *waiter;   /* NULL or None: the actor is not parked */
    PyObject *room;     /* NULL, None or a list: the senders waiting for room (BLOCK) */
    Py_ssize_t limit;
} MailboxCore;

static PyTypeObject MailboxCoreType;

static int
MB_traverse(MailboxCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->queue);
    Py_VISIT(self->waiter);
    Py_VISIT(self->room);
    return 0;
}

static int
MB_clear(MailboxCore *self)
{
    Py_CLEAR(self->queue);
    Py_CLEAR(self->waiter);
    Py_CLEAR(self->room);
    return 0;
}

static void
MB_dealloc(MailboxCore *self)
{
    PyObject_GC_UnTrack(self);
    MB_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Resolve the parked actor's wake-up future, if there is one. */
static int
wake(MailboxCore *mb)
{
    PyObject *w = mb->waiter;
    if (w == NULL || w == Py_None) {
        return 0;
    }
    mb->waiter = NULL;
    PyObject *r = PyObject_CallMethodOneArg(w, str_set_result, Py_None);
    Py_DECREF(w);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* 1: queued; 0: full or closed; -1: error */
static int
offer(MailboxCore *mb, PyObject *msg)
{
    PyObject *q = mb->queue;
    if (q == NULL || !PyList_CheckExact(q)) {
        PyErr_SetString(PyExc_TypeError, "a mailbox's queue must be a list");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(q);
    if (n >= mb->limit) {
        return 0;
    }
    if (n < ((PyListObject *)q)->allocated) {  /* PyList_Append without the call */
        PyList_SET_ITEM(q, n, Py_NewRef(msg));
        Py_SET_SIZE(q, n + 1);
    }
    else if (PyList_Append(q, msg) < 0) {
        return -1;
    }
    return wake(mb) < 0 ? -1 : 1;
}

static PyObject *
MB_offer(MailboxCore *self, PyObject *msg)
{
    int r = offer(self, msg);
    if (r < 0) {
        return NULL;
    }
    return PyBool_FromLong(r);
}

static PyMethodDef MB_methods[] = {
    {"offer", (PyCFunction)MB_offer, METH_O,
     "Queue msg if the fast path is open (wake the actor if it is parked); False means the "
     "mailbox is full or closed."},
    {NULL},
};

static PyMemberDef MB_members[] = {
    {"queue", T_OBJECT_EX, offsetof(MailboxCore, queue), 0, NULL},
    {"waiter", T_OBJECT, offsetof(MailboxCore, waiter), 0, NULL},
    {"room", T_OBJECT, offsetof(MailboxCore, room), 0, NULL},
    {"limit", T_PYSSIZET, offsetof(MailboxCore, limit), 0, NULL},
    {NULL},
};

static PyTypeObject MailboxCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.MailboxCore",
    .tp_basicsize = sizeof(MailboxCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of an actor's mailbox: the fields a tell touches.",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)MB_dealloc,
    .tp_traverse = (traverseproc)MB_traverse,
    .tp_clear = (inquiry)MB_clear,
    .tp_methods = MB_methods,
    .tp_members = MB_members,
};

/* ------------------------------------------------------------------------------------------ */
/* RefCore                                                                                    */

typedef struct {
    PyObject_HEAD
    MailboxCore *mb;
    PyObject *loop;
} RefCore;

static int
RC_traverse(RefCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mb);
    Py_VISIT(self->loop);
    return 0;
}

static int
RC_clear(RefCore *self)
{
    Py_CLEAR(self->mb);
    Py_CLEAR(self->loop);
    return 0;
}

static void
RC_dealloc(RefCore *self)
{
    PyObject_GC_UnTrack(self);
    RC_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
RC_get_mb(RefCore *self, void *closure)
{
    if (self->mb == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_mb");
        return NULL;
    }
    return Py_NewRef((PyObject *)self->mb);
}

static int
RC_set_mb(RefCore *self, PyObject *value, void *closure)
{
    if (value == NULL || !PyObject_TypeCheck(value, &MailboxCoreType)) {
        PyErr_SetString(PyExc_TypeError, "_mb must be a mailbox");
        return -1;
    }
    Py_XSETREF(self->mb, (MailboxCore *)Py_NewRef(value));
    return 0;
}

static PyObject *
RC_tell(RefCore *self, PyObject *msg)
{
    if (self->mb != NULL) {
        int r = offer(self->mb, msg);
        if (r < 0) {
            return NULL;
        }
        if (r > 0) {
            Py_RETURN_NONE;
        }
    }
    PyObject *r = PyObject_CallMethodOneArg((PyObject *)self, str_offer_slow, msg);
    if (r == NULL) {
        return NULL;
    }
    Py_DECREF(r);
    Py_RETURN_NONE;
}

/* ask(msg, *, timeout=None): the fast path (no timeout, room in the mailbox) queues an Ask and
 * returns its future; everything else is self._ask(msg, timeout). */
static PyObject *
RC_ask(RefCore *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *timeout = Py_None;
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs != 1 || nkw > 1
        || (nkw == 1 && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0),
                                                        "timeout") != 0)) {
        PyErr_SetString(PyExc_TypeError, "ask() takes one message and an optional timeout=");
        return NULL;
    }
    if (nkw == 1) {
        timeout = args[1];
    }
    MailboxCore *mb = self->mb;
    if (timeout == Py_None && mb != NULL && self->loop != NULL && perf_counter != NULL
        && mb->queue != NULL
        && PyList_CheckExact(mb->queue) && PyList_GET_SIZE(mb->queue) < mb->limit) {
        PyObject *fut = PyObject_CallMethodNoArgs(self->loop, str_create_future);
        if (fut == NULL) {
            return NULL;
        }
        double sent = now();
        if (sent == -1.0 && PyErr_Occurred()) {
            Py_DECREF(fut);
            return NULL;
        }
        PyObject *req = ask_make(args[0], fut, sent);
        if (req == NULL || PyList_Append(mb->queue, req) < 0 || wake(mb) < 0) {
            Py_XDECREF(req);
            Py_DECREF(fut);
            return NULL;
        }
        Py_DECREF(req);
        return fut;
    }
    return PyObject_CallMethodObjArgs((PyObject *)self, str_ask_general, args[0], timeout, NULL);
}

static PyMethodDef RC_methods[] = {
    {"ask", (PyCFunction)(void (*)(void))RC_ask, METH_FASTCALL | METH_KEYWORDS,
     "ask(msg, *, timeout=None)\n--\n\n"
     "Send msg; await the result to get the actor's reply (what its receive returns).\n\n"
     "Raises (when awaited) whatever receive raised for this message; BrokenResourceError\n"
     "if the actor stops or is restarted before replying; TimeoutError after timeout\n"
     "seconds; MessageDropped if a full drop-policy mailbox discarded it. Raises at once:\n"
     "BrokenResourceError if the actor is stopped, ValueError for a bad timeout."},
    {"tell", (PyCFunction)RC_tell, METH_O,
     "tell(msg)\n--\n\n"
     "Queue msg for the actor and return at once (never waits).\n\n"
     "On an unbounded mailbox this always succeeds. A full bounded mailbox applies its\n"
     "policy: BLOCK raises hyphal.WouldBlock (use 'await ref.send(msg)' to wait for room),\n"
     "the drop policies discard a message into dead letters. A message to a stopped actor\n"
     "goes to system.dead_letters."},
    {NULL},
};

static PyMemberDef RC_members[] = {
    {"_loop", T_OBJECT_EX, offsetof(RefCore, loop), 0, NULL},
    {NULL},
};

static PyGetSetDef RC_getset[] = {
    {"_mb", (getter)RC_get_mb, (setter)RC_set_mb, "the actor's mailbox", NULL},
    {NULL},
};

static PyTypeObject RefCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.RefCore",
    .tp_basicsize = sizeof(RefCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The C base of ActorRef: tell().",
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)RC_dealloc,
    .tp_traverse = (traverseproc)RC_traverse,
    .tp_clear = (inquiry)RC_clear,
    .tp_methods = RC_methods,
    .tp_members = RC_members,
    .tp_getset = RC_getset,
};

/* ------------------------------------------------------------------------------------------ */
/* Drain                                                                                      */

typedef struct {
    PyObject_HEAD
    CellCore *cell;
    MailboxCore *mb;
    PyObject *receive;
    PyObject *inline_;  /* NULL or None: no plain twin; else a function (of inline_self, msg) */
    PyObject *inline_self;  /* NULL: inline_ takes the message alone */
    PyObject *loop;
    PyObject *batch;    /* the list taken from the mailbox; batch[index] is in hand */
    Py_ssize_t index;
    int answered;       /* an ask was answered since the last park: look again before parking */
} Drain;

static int
DR_traverse(Drain *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cell);
    Py_VISIT(self->mb);
    Py_VISIT(self->receive);
    Py_VISIT(self->inline_);
    Py_VISIT(self->inline_self);
    Py_VISIT(self->loop);
    Py_VISIT(self->batch);
    return 0;
}

static int
DR_clear(Drain *self)
{
    Py_CLEAR(self->cell);
    Py_CLEAR(self->mb);
    Py_CLEAR(self->receive);
    Py_CLEAR(self->inline_);
    Py_CLEAR(self->inline_self);
    Py_CLEAR(self->loop);
    Py_CLEAR(self->batch);
    return 0;
}

static void
DR_dealloc(Drain *self)
{
    PyObject_GC_UnTrack(self);
    DR_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
DR_init(Drain *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"cell", "mailbox", "receive", "inline", "loop", NULL};
    PyObject *cell, *mb, *receive, *inline_, *loop;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!OOO:Drain", kwlist, &CellCoreType, &cell,
                                     &MailboxCoreType, &mb, &receive, &inline_, &loop)) {
        return -1;
    }
    Py_XSETREF(self->cell, (CellCore *)Py_NewRef(cell));
    Py_XSETREF(self->mb, (MailboxCore *)Py_NewRef(mb));
    Py_XSETREF(self->receive, Py_NewRef(receive));
    if (PyMethod_Check(inline_)) {  /* call the function with self: no bound method kept */
        Py_XSETREF(self->inline_self, Py_NewRef(PyMethod_GET_SELF(inline_)));
        inline_ = PyMethod_GET_FUNCTION(inline_);
    }
    else {
        Py_CLEAR(self->inline_self);
    }
    Py_XSETREF(self->inline_, Py_NewRef(inline_));
    Py_XSETREF(self->loop, Py_NewRef(loop));
    Py_XSETREF(self->batch, Py_NewRef(no_batch));
    self->index = 0;
    return 0;
}

/* 1 if the future is done, 0 if not, -1 on error */
static int
is_done(PyObject *fut)
{
    PyObject *r = PyObject_CallMethodNoArgs(fut, str_done);
    if (r == NULL) {
        return -1;
    }
    int done = PyObject_IsTrue(r);
    Py_DECREF(r);
    return done;
}

/* Cell.answered in C: count the answered ask and record its round trip so far. */
static int
record_answer(CellCore *cell, Ask *msg)
{
    cell->asks++;
    PyObject *lat = cell->latency;
    if (lat == NULL || lat == Py_None) {
        lat = PyObject_CallMethodNoArgs((PyObject *)cell, str_new_latency);
    }
    else {
        Py_INCREF(lat);
    }
    PyObject *recent = lat == NULL ? NULL : PyObject_GetAttr(lat, str_recent);
    Py_XDECREF(lat);
    if (recent == NULL) {
        return -1;
    }
    double t = now();
    PyObject *sample = t == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(t - msg->sent);
    PyObject *r = sample == NULL ? NULL : PyObject_CallMethodOneArg(recent, str_append, sample);
    Py_XDECREF(sample);
    Py_DECREF(recent);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* Answer the ask `msg` with `result`, unless its future is done already. */
static int
answer(Drain *self, Ask *msg, PyObject *result)
{
    PyObject *reply = Py_NewRef(msg->fut);
    int done = is_done(reply);
    if (done == 0) {
        PyObject *r = PyObject_CallMethodOneArg(reply, str_set_result, result);
        if (r != NULL) {
            Py_DECREF(r);
            self->answered = 1;
        }
        done = r == NULL || record_answer(self->cell, msg) < 0 ? -1 : 0;
    }
    Py_DECREF(reply);
    return done < 0 ? -1 : 0;
}

/* What a coroutine makes of a StopIteration escaping its body. */
static void
stop_iteration_to_runtime_error(void)
{
    if (!PyErr_ExceptionMatches(PyExc_StopIteration)) {
        return;
    }
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    PyErr_SetString(PyExc_RuntimeError, "coroutine raised StopIteration");
    PyObject *type2, *value2, *tb2;
    PyErr_Fetch(&type2, &value2, &tb2);
    PyErr_NormalizeException(&type2, &value2, &tb2);
    PyException_SetCause(value2, value);               /* steals value */
    PyException_SetContext(value2, Py_NewRef(value));
    PyErr_Restore(type2, value2, tb2);
    Py_DECREF(type);
    Py_XDECREF(tb);
}

/* The batch in hand is done: count it and let it go. `handled` counts the messages since
 * run() was called. */
static int
finish_batch(Drain *self, Py_ssize_t *handled)
{
    Py_ssize_t n = PyList_GET_SIZE(self->batch);
    if (n == 0) {
        return 0;
    }
    self->cell->processed += n;
    *handled += n;
    self->index = 0;
    return PyList_SetSlice(self->batch, 0, n, NULL);  /* the empty list is the next queue */
}

/* Take everything queued as the next batch (Mailbox.take), leaving the mailbox the empty list
 * of the last batch; -1 on error. */
static int
take_batch(Drain *self)
{
    MailboxCore *mb = self->mb;
    PyObject *empty = self->batch;
    if (empty == no_batch) {  /* the first batch */
        Py_DECREF(empty);
        empty = PyList_New(0);
        if (empty == NULL) {
            self->batch = Py_NewRef(no_batch);
            return -1;
        }
    }
    PyObject *taken = mb->queue;
    mb->queue = empty;
    self->batch = taken;
    self->index = 0;
    if (mb->room != NULL && mb->room != Py_None) {  /* senders waiting for room: let them in */
        int waiting = PyObject_IsTrue(mb->room);
        PyObject *r = waiting > 0 ? PyObject_CallMethodNoArgs((PyObject *)mb, str_admit) : NULL;
        if (waiting < 0 || (waiting > 0 && r == NULL)) {
            return -1;
        }
        Py_XDECREF(r);
    }
    return 0;
}

static PyObject *
DR_run(Drain *self, PyObject *unused)
{
    if (not_started == NULL || yield_marker == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hyphal.actors._speedups is not configured");
        return NULL;
    }
    PyObject *inline_ = self->inline_ == Py_None ? NULL : self->inline_;
    Py_ssize_t handled = 0;
    for (;;) {
        Py_ssize_t i = self->index;
        if (i >= PyList_GET_SIZE(self->batch)) {
            if (finish_batch(self, &handled) < 0) {
                return NULL;
            }
            PyObject *queue = self->mb->queue;
            if (queue == NULL || !PyList_CheckExact(queue)) {
                PyErr_SetString(PyExc_TypeError, "a mailbox's queue must be a list");
                return NULL;
            }
            if (PyList_GET_SIZE(queue) == 0) {
                if (self->mb->limit < 0) {
                    Py_RETURN_NONE;  /* closed and drained: a graceful stop */
                }
                if (self->answered) {  /* an asker usually asks again at once: let it run */
                    self->answered = 0;
                    return Py_NewRef(yield_marker);
                }
                PyObject *fut = PyObject_CallMethodNoArgs(self->loop, str_create_future);
                if (fut == NULL) {
                    return NULL;
                }
                Py_XSETREF(self->mb->waiter, Py_NewRef(fut));
                return fut;  /* park until a message arrives */
            }
            if (handled >= FAIRNESS_BATCH) {
                return Py_NewRef(yield_marker);  /* let others run before the next batch */
            }
            if (take_batch(self) < 0) {
                return NULL;
            }
            continue;
        }
        /* batch is private to this loop (nobody else can change it while a handler runs),
         * and holds msg */
        PyObject *msg = PyList_GET_ITEM(self->batch, i);
        PyObject *arg, *result = NULL;
        int is_ask = Py_IS_TYPE(msg, &AskType);
        if (is_ask) {
            int done = is_done(((Ask *)msg)->fut);
            if (done != 0) {
                if (done < 0) {
                    return NULL;
                }
                self->index = i + 1;  /* timed out or cancelled while queued */
                continue;
            }
            arg = Py_NewRef(((Ask *)msg)->msg);
        }
        else {
            arg = Py_NewRef(msg);
        }
        if (inline_ != NULL) {
            if (self->inline_self != NULL) {
                PyObject *call[3] = {NULL, self->inline_self, arg};
                result = PyObject_Vectorcall(inline_, call + 1,
                                             2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            }
            else {
                result = PyObject_CallOneArg(inline_, arg);
            }
            if (result == NULL) {
                stop_iteration_to_runtime_error();
            }
        }
        else {
            PyObject *coro = PyObject_CallOneArg(self->receive, arg);
            if (coro != NULL && !PyCoro_CheckExact(coro)) {
                Py_DECREF(arg);
                PyObject *out = PyTuple_Pack(2, coro, not_started);
                Py_DECREF(coro);
                return out;
            }
            if (coro != NULL) {
                PySendResult sent = PyIter_Send(coro, Py_None, &result);
                if (sent == PYGEN_NEXT) {  /* it suspended: the task awaits the rest */
                    Py_DECREF(arg);
                    PyObject *out = PyTuple_Pack(2, coro, result);
                    Py_DECREF(coro);
                    Py_DECREF(result);
                    return out;
                }
                Py_DECREF(coro);
                if (sent == PYGEN_ERROR) {
                    result = NULL;
                }
            }
        }
        Py_DECREF(arg);
        int failed = result == NULL || (is_ask && answer(self, (Ask *)msg, result) < 0);
        Py_XDECREF(result);
        if (failed) {
            return NULL;  /* index stays on the message that failed */
        }
        self->index = i + 1;
    }
}

static PyObject *
DR_finish(Drain *self, PyObject *result)
{
    Py_ssize_t i = self->index;
    if (i < 0 || i >= PyList_GET_SIZE(self->batch)) {
        PyErr_SetString(PyExc_IndexError, "Drain.finish() without a message in hand");
        return NULL;
    }
    PyObject *msg = Py_NewRef(PyList_GET_ITEM(self->batch, i));
    int failed = Py_IS_TYPE(msg, &AskType) && answer(self, (Ask *)msg, result) < 0;
    Py_DECREF(msg);
    if (failed) {
        return NULL;
    }
    self->index = i + 1;
    Py_RETURN_NONE;
}

static PyMethodDef DR_methods[] = {
    {"run", (PyCFunction)DR_run, METH_NOARGS,
     "Handle messages until there is something to wait for; see hyphal.actors.hotpath."},
    {"finish", (PyCFunction)DR_finish, METH_O,
     "The suspended handler of batch[index] returned result: answer its ask, if it was one, "
     "and move on."},
    {NULL},
};

static PyMemberDef DR_members[] = {
    {"batch", T_OBJECT_EX, offsetof(Drain, batch), READONLY, NULL},
    {"index", T_PYSSIZET, offsetof(Drain, index), READONLY, NULL},
    {NULL},
};

static PyTypeObject DrainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.Drain",
    .tp_basicsize = sizeof(Drain),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Drain(cell, mailbox, receive, inline, loop): an actor's message loop.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)DR_init,
    .tp_dealloc = (destructor)DR_dealloc,
    .tp_traverse = (traverseproc)DR_traverse,
    .tp_clear = (inquiry)DR_clear,
    .tp_methods = DR_methods,
    .tp_members = DR_members,
};

/* ------------------------------------------------------------------------------------------ */

static PyObject *
configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "configure(not_started, yield_marker, perf_counter)");
        return NULL;
    }
    Py_XSETREF(not_started, Py_NewRef(args[0]));
    Py_XSETREF(yield_marker, Py_NewRef(args[1]));
    Py_XSETREF(perf_counter, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(not_started, yield_marker, perf_counter): the NOT_STARTED and YIELD markers "
     "of hyphal.actors.hotpath and the clock of the ask latencies."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hyphal.actors._speedups",
    .m_doc = "The per-message paths of hyphal actors in C (see hyphal.actors.hotpath).",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&AskType) < 0 || PyType_Ready(&CellCoreType) < 0
        || PyType_Ready(&MailboxCoreType) < 0
        || PyType_Ready(&RefCoreType) < 0 || PyType_Ready(&DrainType) < 0) {
        return NULL;
    }
    str_set_result = PyUnicode_InternFromString("set_result");
    str_done = PyUnicode_InternFromString("done");
    str_offer_slow = PyUnicode_InternFromString("_offer_slow");
    str_new_latency = PyUnicode_InternFromString("new_latency");
    str_recent = PyUnicode_InternFromString("recent");
    str_append = PyUnicode_InternFromString("append");
    str_ask_general = PyUnicode_InternFromString("_ask");
    str_create_future = PyUnicode_InternFromString("create_future");
    str_admit = PyUnicode_InternFromString("_admit");
    if (!str_admit || !str_new_latency || !str_recent || !str_append || !str_set_result
        || !str_done || !str_offer_slow || !str_ask_general || !str_create_future) {
        return NULL;
    }
    no_batch = PyList_New(0);
    if (no_batch == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Ask", (PyObject *)&AskType) < 0
        || PyModule_AddObjectRef(m, "CellCore", (PyObject *)&CellCoreType) < 0
        || PyModule_AddObjectRef(m, "MailboxCore", (PyObject *)&MailboxCoreType) < 0
        || PyModule_AddObjectRef(m, "RefCore", (PyObject *)&RefCoreType) < 0
        || PyModule_AddObjectRef(m, "Drain", (PyObject *)&DrainType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
