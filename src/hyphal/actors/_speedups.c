/*
 * hyphal.actors._speedups: the per-message paths of actors in C.
 *
 * Theory of operation
 * -------------------
 * This is the C twin of the pure-Python classes in hotpath.py (read its header first); both
 * behave the same and the actor suite runs on both.
 *
 * - MailboxCore holds the fields a tell touches (queue, limit, waiter) as C members that
 *   Python reads and writes as attributes; offer() is the fast path.
 * - RefCore.tell(msg) runs offer() on the ref's mailbox and calls self._offer_slow(msg) when
 *   the mailbox is full or closed. The `_mb` setter checks the type once, so tell() trusts it.
 * - Drain.step(batch) handles batch[index:] in order: asks already answered are skipped, the
 *   handler is called (the plain twin of a receive that never awaits, else receive itself,
 *   whose coroutine is driven with PyIter_Send: no StopIteration is ever made), the reply
 *   answers the ask. A handler that suspends is returned as (coroutine, yielded) for the
 *   actor's task to await; one that raises leaves `index` on its message.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

static PyObject *ask_type = NULL;     /* hotpath.Ask */
static PyObject *not_started = NULL;  /* hotpath.NOT_STARTED */
static PyObject *str_set_result, *str_done, *str_offer_slow, *str_answered, *str_msg, *str_fut;

/* ------------------------------------------------------------------------------------------ */
/* MailboxCore                                                                                */

typedef struct {
    PyObject_HEAD
    PyObject *queue;
    PyObject *waiter;   /* NULL or None: the actor is not parked */
    Py_ssize_t limit;
} MailboxCore;

static PyTypeObject MailboxCoreType;

static int
MB_traverse(MailboxCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->queue);
    Py_VISIT(self->waiter);
    return 0;
}

static int
MB_clear(MailboxCore *self)
{
    Py_CLEAR(self->queue);
    Py_CLEAR(self->waiter);
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
    if (PyList_GET_SIZE(q) >= mb->limit) {
        return 0;
    }
    if (PyList_Append(q, msg) < 0 || wake(mb) < 0) {
        return -1;
    }
    return 1;
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
} RefCore;

static int
RC_traverse(RefCore *self, visitproc visit, void *arg)
{
    Py_VISIT(self->mb);
    return 0;
}

static int
RC_clear(RefCore *self)
{
    Py_CLEAR(self->mb);
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

static PyMethodDef RC_methods[] = {
    {"tell", (PyCFunction)RC_tell, METH_O,
     "tell(msg)\n--\n\n"
     "Queue msg for the actor and return at once (never waits).\n\n"
     "On an unbounded mailbox this always succeeds. A full bounded mailbox applies its\n"
     "policy: BLOCK raises hyphal.WouldBlock (use 'await ref.send(msg)' to wait for room),\n"
     "the drop policies discard a message into dead letters. A message to a stopped actor\n"
     "goes to system.dead_letters."},
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
    .tp_getset = RC_getset,
};

/* ------------------------------------------------------------------------------------------ */
/* Drain                                                                                      */

typedef struct {
    PyObject_HEAD
    PyObject *cell;
    PyObject *receive;
    PyObject *inline_;  /* NULL or None: no plain twin */
    Py_ssize_t index;
} Drain;

static int
DR_traverse(Drain *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cell);
    Py_VISIT(self->receive);
    Py_VISIT(self->inline_);
    return 0;
}

static int
DR_clear(Drain *self)
{
    Py_CLEAR(self->cell);
    Py_CLEAR(self->receive);
    Py_CLEAR(self->inline_);
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
    static char *kwlist[] = {"cell", "receive", "inline", NULL};
    PyObject *cell, *receive, *inline_;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO:Drain", kwlist, &cell, &receive,
                                     &inline_)) {
        return -1;
    }
    Py_XSETREF(self->cell, Py_NewRef(cell));
    Py_XSETREF(self->receive, Py_NewRef(receive));
    Py_XSETREF(self->inline_, Py_NewRef(inline_));
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

/* Answer the ask `msg` (whose future is `reply`) with `result`, unless it is done already. */
static int
answer(Drain *self, PyObject *msg, PyObject *reply, PyObject *result)
{
    int done = is_done(reply);
    if (done != 0) {
        return done < 0 ? -1 : 0;
    }
    PyObject *r = PyObject_CallMethodOneArg(reply, str_set_result, result);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    r = PyObject_CallMethodOneArg(self->cell, str_answered, msg);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
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

static PyObject *
DR_step(Drain *self, PyObject *batch)
{
    if (!PyList_CheckExact(batch)) {
        PyErr_SetString(PyExc_TypeError, "Drain.step() takes a list");
        return NULL;
    }
    if (not_started == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "hyphal.actors._speedups is not configured");
        return NULL;
    }
    PyObject *inline_ = self->inline_ == Py_None ? NULL : self->inline_;
    Py_ssize_t i = self->index;
    while (i < PyList_GET_SIZE(batch)) {
        PyObject *msg = Py_NewRef(PyList_GET_ITEM(batch, i));
        PyObject *reply = NULL, *arg, *result = NULL;
        if ((PyObject *)Py_TYPE(msg) == ask_type) {
            reply = PyObject_GetAttr(msg, str_fut);
            if (reply == NULL) {
                Py_DECREF(msg);
                goto error;
            }
            int done = is_done(reply);
            if (done != 0) {
                Py_DECREF(reply);
                Py_DECREF(msg);
                if (done < 0) {
                    goto error;
                }
                i++;  /* timed out or cancelled while queued */
                continue;
            }
            arg = PyObject_GetAttr(msg, str_msg);
            if (arg == NULL) {
                Py_DECREF(reply);
                Py_DECREF(msg);
                goto error;
            }
        }
        else {
            arg = Py_NewRef(msg);
        }
        if (inline_ != NULL) {
            result = PyObject_CallOneArg(inline_, arg);
            if (result == NULL) {
                stop_iteration_to_runtime_error();
            }
        }
        else {
            PyObject *coro = PyObject_CallOneArg(self->receive, arg);
            if (coro != NULL && !PyCoro_CheckExact(coro)) {
                Py_DECREF(arg);
                Py_XDECREF(reply);
                Py_DECREF(msg);
                self->index = i;
                PyObject *out = PyTuple_Pack(2, coro, not_started);
                Py_DECREF(coro);
                return out;
            }
            if (coro != NULL) {
                PySendResult sent = PyIter_Send(coro, Py_None, &result);
                if (sent == PYGEN_NEXT) {  /* it suspended: the task awaits the rest */
                    Py_DECREF(arg);
                    Py_XDECREF(reply);
                    Py_DECREF(msg);
                    self->index = i;
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
        if (result == NULL) {
            Py_XDECREF(reply);
            Py_DECREF(msg);
            goto error;
        }
        int failed = reply != NULL && answer(self, msg, reply, result) < 0;
        Py_DECREF(result);
        Py_XDECREF(reply);
        Py_DECREF(msg);
        if (failed) {
            goto error;
        }
        i++;
    }
    self->index = i;
    Py_RETURN_NONE;
error:
    self->index = i;
    return NULL;
}

static PyObject *
DR_finish(Drain *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_CheckExact(args[0])) {
        PyErr_SetString(PyExc_TypeError, "Drain.finish(batch, result) takes a list and a value");
        return NULL;
    }
    PyObject *batch = args[0];
    if (self->index < 0 || self->index >= PyList_GET_SIZE(batch)) {
        PyErr_SetString(PyExc_IndexError, "Drain.finish() without a message in hand");
        return NULL;
    }
    PyObject *msg = PyList_GET_ITEM(batch, self->index);
    if ((PyObject *)Py_TYPE(msg) == ask_type) {
        Py_INCREF(msg);
        PyObject *reply = PyObject_GetAttr(msg, str_fut);
        int failed = reply == NULL || answer(self, msg, reply, args[1]) < 0;
        Py_XDECREF(reply);
        Py_DECREF(msg);
        if (failed) {
            return NULL;
        }
    }
    self->index++;
    Py_RETURN_NONE;
}

static PyMethodDef DR_methods[] = {
    {"step", (PyCFunction)DR_step, METH_O,
     "Handle batch[index:]; None when all are done, (coroutine, yielded) when the handler "
     "of batch[index] suspended. Raises what a handler raised."},
    {"finish", (PyCFunction)(void (*)(void))DR_finish, METH_FASTCALL,
     "The suspended handler of batch[index] returned result: answer its ask, if it was one, "
     "and move on."},
    {NULL},
};

static PyMemberDef DR_members[] = {
    {"cell", T_OBJECT_EX, offsetof(Drain, cell), READONLY, NULL},
    {"receive", T_OBJECT_EX, offsetof(Drain, receive), READONLY, NULL},
    {"inline", T_OBJECT, offsetof(Drain, inline_), READONLY, NULL},
    {"index", T_PYSSIZET, offsetof(Drain, index), 0, NULL},
    {NULL},
};

static PyTypeObject DrainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hyphal.actors._speedups.Drain",
    .tp_basicsize = sizeof(Drain),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Drain(cell, receive, inline): an actor's loop over the messages it took.",
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
    if (nargs != 2 || !PyType_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "configure(ask_type, not_started)");
        return NULL;
    }
    Py_XSETREF(ask_type, Py_NewRef(args[0]));
    Py_XSETREF(not_started, Py_NewRef(args[1]));
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_FASTCALL,
     "configure(ask_type, not_started): the Ask class and the NOT_STARTED marker of "
     "hyphal.actors.hotpath."},
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
    if (PyType_Ready(&MailboxCoreType) < 0 || PyType_Ready(&RefCoreType) < 0
        || PyType_Ready(&DrainType) < 0) {
        return NULL;
    }
    str_set_result = PyUnicode_InternFromString("set_result");
    str_done = PyUnicode_InternFromString("done");
    str_offer_slow = PyUnicode_InternFromString("_offer_slow");
    str_answered = PyUnicode_InternFromString("answered");
    str_msg = PyUnicode_InternFromString("msg");
    str_fut = PyUnicode_InternFromString("fut");
    if (!str_set_result || !str_done || !str_offer_slow || !str_answered || !str_msg
        || !str_fut) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "MailboxCore", (PyObject *)&MailboxCoreType) < 0
        || PyModule_AddObjectRef(m, "RefCore", (PyObject *)&RefCoreType) < 0
        || PyModule_AddObjectRef(m, "Drain", (PyObject *)&DrainType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
