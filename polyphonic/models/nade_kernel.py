"""NADE's log-likelihood and its gradient as two C Ops, one frame at a time.

nade.nade_log_likelihoods builds the running sums of every frame x note x
hidden unit as tensors: a dozen passes over arrays of T x 88 x n_hidden
values (10 MB for a chunk of 100 frames and 150 units), bound by memory
traffic. These Ops walk each frame's notes in order with the frame's hidden
activations a (n_hidden values, in cache):

    forward   p_i = sigmoid(bv_i + h . V_i);  if v_i: a += W_i, h = sigmoid(a)
    backward  d_i = g (v_i - p_i);  dbv_i = d_i;  dV_i += d_i h_i;
              e_i = d_i V_i * h_i (1 - h_i);  dW_j += v_j sum_{i>j} e_i;  dbh = sum_i e_i

(g the gradient of the frame's log-likelihood; h_i the hidden units before
note i, kept from the forward pass). The states are binary, so a note that
is off changes nothing and h is recomputed only after the few notes that
sound. bv and bh are one row per frame, or one row for all frames.
"""

import inspect
import zlib

import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.link.c.op import COp

C_SUPPORT = r"""
namespace rnnrbm_nade {

template <typename T> static inline T logistic(T x) {
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

template <typename T> static inline T softplus(T x) {
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* One frame: log P(v) and, if hs is given, the hidden units before each note
   (nv x nh) and each note's probability; a is scratch of nh values. */
template <typename T>
static double frame(int nv, int nh, const T *v, const T *W, const T *V, const T *bv,
                    const T *bh, T *a, T *h, T *hs, T *ps) {
    double total = 0;
    for (int j = 0; j < nh; j++) { a[j] = bh[j]; h[j] = logistic(a[j]); }
    for (int i = 0; i < nv; i++) {
        const T *Vi = V + (size_t)i * nh;
        T logit = bv[i];
        for (int j = 0; j < nh; j++) logit += h[j] * Vi[j];
        total += v[i] * logit - softplus(logit);
        if (hs) {
            for (int j = 0; j < nh; j++) hs[(size_t)i * nh + j] = h[j];
            ps[i] = logistic(logit);
        }
        if (v[i] != 0) {
            const T *Wi = W + (size_t)i * nh;
            for (int j = 0; j < nh; j++) { a[j] += v[i] * Wi[j]; h[j] = logistic(a[j]); }
        }
    }
    return total;
}

template <typename T>
static int forward(int rows, int nv, int nh, const T *v, const T *W, const T *V, const T *bv,
                   int bv_rows, const T *bh, int bh_rows, T *out) {
    T *a = (T *)malloc(sizeof(T) * 2 * nh);
    if (!a) return -1;
    for (int r = 0; r < rows; r++)
        out[r] = (T)frame(nv, nh, v + (size_t)r * nv, W, V, bv + (size_t)(r % bv_rows) * nv,
                          bh + (size_t)(r % bh_rows) * nh, a, a + nh, (T *)0, (T *)0);
    free(a);
    return 0;
}

/* The gradients of sum_r g[r] log P(v_r) (outputs zeroed by the caller; dbv
   and dbh have the rows of bv and bh, summed over the frames sharing one). */
template <typename T>
static int backward(int rows, int nv, int nh, const T *v, const T *W, const T *V, const T *bv,
                    int bv_rows, const T *bh, int bh_rows, const T *g, T *dW, T *dV, T *dbv,
                    T *dbh) {
    T *a = (T *)malloc(sizeof(T) * ((size_t)nh * (nv + 3) + nv));
    if (!a) return -1;
    T *h = a + nh, *acc = h + nh, *hs = acc + nh, *ps = hs + (size_t)nv * nh;
    for (int r = 0; r < rows; r++) {
        const T *vr = v + (size_t)r * nv;
        frame(nv, nh, vr, W, V, bv + (size_t)(r % bv_rows) * nv, bh + (size_t)(r % bh_rows) * nh,
              a, h, hs, ps);
        T *dbv_r = dbv + (size_t)(r % bv_rows) * nv, *dbh_r = dbh + (size_t)(r % bh_rows) * nh;
        for (int j = 0; j < nh; j++) acc[j] = 0;
        for (int i = nv - 1; i >= 0; i--) {
            if (vr[i] != 0) {  /* W_i feeds the notes after i */
                T *dWi = dW + (size_t)i * nh;
                for (int j = 0; j < nh; j++) dWi[j] += vr[i] * acc[j];
            }
            const T d = g[r] * (vr[i] - ps[i]), *hi = hs + (size_t)i * nh;
            const T *Vi = V + (size_t)i * nh;
            T *dVi = dV + (size_t)i * nh;
            dbv_r[i] += d;
            if (d != 0)
                for (int j = 0; j < nh; j++) {
                    dVi[j] += d * hi[j];
                    acc[j] += d * Vi[j] * hi[j] * (1 - hi[j]);
                }
        }
        for (int j = 0; j < nh; j++) dbh_r[j] += acc[j];
    }
    free(a);
    return 0;
}

}  /* namespace rnnrbm_nade */
"""


def _arguments(inputs, fail):
    """The C declarations of the inputs' sizes and contiguous views, with a shape check."""
    v, W, V, bv, bh = inputs[:5]
    return f"""
    typedef dtype_{v} real;
    const npy_intp rows = PyArray_DIMS({v})[0], nv = PyArray_DIMS({W})[0],
                   nh = PyArray_DIMS({W})[1];
    const npy_intp bv_rows = PyArray_DIMS({bv})[0], bh_rows = PyArray_DIMS({bh})[0];
    if (PyArray_DIMS({v})[1] != nv || PyArray_DIMS({V})[0] != nv || PyArray_DIMS({V})[1] != nh
            || PyArray_DIMS({bv})[1] != nv || PyArray_DIMS({bh})[1] != nh || bv_rows < 1
            || bh_rows < 1 || rows % bv_rows || rows % bh_rows) {{
        PyErr_Format(PyExc_ValueError, "NADE: inconsistent shapes (v %ld x %ld, W %ld x %ld, "
                     "biases of %ld and %ld rows)", (long)rows, (long)PyArray_DIMS({v})[1],
                     (long)nv, (long)nh, (long)bv_rows, (long)bh_rows);
        {fail}
    }}
    PyArrayObject *v_c = PyArray_GETCONTIGUOUS({v}), *W_c = PyArray_GETCONTIGUOUS({W}),
                  *V_c = PyArray_GETCONTIGUOUS({V}), *bv_c = PyArray_GETCONTIGUOUS({bv}),
                  *bh_c = PyArray_GETCONTIGUOUS({bh});
    """


_RELEASE = "Py_XDECREF(v_c); Py_XDECREF(W_c); Py_XDECREF(V_c); Py_XDECREF(bv_c); Py_XDECREF(bh_c);"
_POINTERS = ("(int)rows, (int)nv, (int)nh, (real *)PyArray_DATA(v_c), (real *)PyArray_DATA(W_c), "
             "(real *)PyArray_DATA(V_c), (real *)PyArray_DATA(bv_c), (int)bv_rows, "
             "(real *)PyArray_DATA(bh_c), (int)bh_rows")


def _as_inputs(v, W, V, bv, bh):
    """Tensor variables of one float dtype, the biases as matrices (a vector becomes one row)."""
    v, W, V, bv, bh = (pt.as_tensor_variable(x) for x in (v, W, V, bv, bh))
    bv, bh = (b if b.ndim == 2 else b[None, :] for b in (bv, bh))
    if any(x.ndim != 2 for x in (v, W, V, bv, bh)):
        raise TypeError("v, W and V must be matrices, bv and bh vectors or matrices")
    if v.dtype not in ("float32", "float64") or any(x.dtype != v.dtype for x in (W, V, bv, bh)):
        raise TypeError(f"v, W, V, bv and bh must share one float dtype, not "
                        f"{[x.dtype for x in (v, W, V, bv, bh)]}")
    return [v, W, V, bv, bh]


class _NadeOp(COp):
    def c_support_code(self, **kwargs):
        return C_SUPPORT

    def c_headers(self, **kwargs):
        return ["<math.h>", "<stdlib.h>"]

    def c_compile_args(self, **kwargs):
        # Reassociating the sums lets GCC vectorise the dot products (the
        # last bits of a sum may differ from the graph's; tested to 1e-12).
        return ["-fno-trapping-math", "-fno-signed-zeros", "-fassociative-math"]

    def c_code_cache_version(self):
        # Follows everything that writes the C code, so that an edit is never
        # served from PyTensor's cache.
        return (1, zlib.crc32((C_SUPPORT + inspect.getsource(_arguments) + _RELEASE + _POINTERS
                               + inspect.getsource(type(self).c_code)
                               + " ".join(self.c_compile_args())).encode()))

    def perform(self, node, inputs, outputs):
        raise NotImplementedError(f"{type(self).__name__} runs only in PyTensor's C backend")


class NadeLogLikelihood(_NadeOp):
    """(v, W, V, bv, bh) -> log P(v_r) of each row r of v (0/1) under the NADE
    with weights W, V (n_visible x n_hidden) and row r % len(bv) of bv, of bh."""

    __props__ = ()

    def make_node(self, v, W, V, bv, bh):
        inputs = _as_inputs(v, W, V, bv, bh)
        return Apply(self, inputs, [pt.vector(dtype=inputs[0].dtype)])

    def pullback(self, inputs, outputs, cotangents):
        from pytensor.gradient import grad_undefined

        v, W, V, bv, bh = inputs
        dW, dV, dbv, dbh = NadeGradient()(v, W, V, bv, bh, cotangents[0])
        # The states are binary data: no gradient with respect to them.
        return [grad_undefined(self, 0, v, "the notes are binary data"), dW, dV, dbv, dbh]

    def c_code(self, node, name, inputs, outputs, sub):
        out = outputs[0]
        return "{" + _arguments(inputs, sub["fail"]) + f"""
    Py_XDECREF({out});
    {out} = (PyArrayObject *)PyArray_SimpleNew(1, PyArray_DIMS({inputs[0]}), PyArray_TYPE({inputs[0]}));
    int status = -1;
    if (v_c && W_c && V_c && bv_c && bh_c && {out})
        status = rnnrbm_nade::forward<real>({_POINTERS}, (real *)PyArray_DATA({out}));
    {_RELEASE}
    if (status) {{ if (!PyErr_Occurred()) PyErr_NoMemory(); {sub["fail"]} }}
    }}"""


class NadeGradient(_NadeOp):
    """(v, W, V, bv, bh, g) -> gradients of sum_r g_r log P(v_r) with respect
    to W, V, bv and bh (each of its input's shape)."""

    __props__ = ()

    def make_node(self, v, W, V, bv, bh, g):
        inputs = _as_inputs(v, W, V, bv, bh)
        g = pt.as_tensor_variable(g).astype(inputs[0].dtype)
        if g.ndim != 1:
            raise TypeError(f"g must be a vector (one gradient per row of v), not {g.type}")
        return Apply(self, [*inputs, g], [x.type() for x in inputs[1:]])

    def c_code(self, node, name, inputs, outputs, sub):
        g = inputs[5]
        zeros = " ".join(f"Py_XDECREF({o}); {o} = (PyArrayObject *)PyArray_ZEROS(2, "
                         f"PyArray_DIMS({i}), PyArray_TYPE({i}), 0);"
                         for o, i in zip(outputs, inputs[1:5]))
        made = " && ".join(outputs)
        return "{" + f"""
    if (PyArray_DIMS({g})[0] != PyArray_DIMS({inputs[0]})[0]) {{
        PyErr_SetString(PyExc_ValueError, "NADE gradient: one output gradient per row of v");
        {sub["fail"]}
    }}""" + _arguments(inputs, sub["fail"]) + f"""
    PyArrayObject *g_c = PyArray_GETCONTIGUOUS({g});
    {zeros}
    int status = -1;
    if (v_c && W_c && V_c && bv_c && bh_c && g_c && {made})
        status = rnnrbm_nade::backward<real>({_POINTERS}, (real *)PyArray_DATA(g_c),
            {", ".join(f"(real *)PyArray_DATA({o})" for o in outputs)});
    {_RELEASE} Py_XDECREF(g_c);
    if (status) {{ if (!PyErr_Occurred()) PyErr_NoMemory(); {sub["fail"]} }}
    }}"""


nade_log_likelihood = NadeLogLikelihood()
