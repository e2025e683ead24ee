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
    if (PyType_Ready(&MessageCoreType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&speedups_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&MessageCoreType);
    if (PyModule_AddObject(m, "MessageCore", (PyObject *)&MessageCoreType) < 0) {
        Py_DECREF(&MessageCoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
