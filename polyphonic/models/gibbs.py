"""Fused block Gibbs sampling for RBMs: one C Op runs a whole chain.

PyTensor's graph runs a Gibbs chain op by op: a `scan` step of a few
elementwise ops and two matrix products, each dispatched by the virtual
machine. `GibbsChain` runs all k steps of every row (one chain per row, with
the row's own biases, as the RNN-RBM's frames have) in one C function: unit j
is on when u_j < sigmoid(input_j), as in the graph. `AnnealedGibbs` is the
same chain with a temperature per step and the log importance weights of
annealed importance sampling (AIS), for evaluation/scoring.py. Both make their uniforms
themselves, from two 64-bit keys drawn per call (`draw_keys`, `new_keys`),
by a counter-based generator (`counter_uniforms` is its NumPy reference):
drawing them in NumPy and reading them back took a quarter of the time of a
float32 training step and of AIS.

Why it is fast: the states are binary, so v W is the sum of the rows of W
that v selects, and h W^T of the rows of W^T that h selects: work in
proportion to the units on (a trained model's frames have about 4 notes of
88; an untrained model's half its units are on, and the sums still do half
the work of a matrix product). Blocks of 64 chains advance together one half
step at a time, the sums running over tiles of 32 (float64) or 64 (float32)
columns held in registers, so that each tile of W serves the whole block
from the L1 cache. The sigmoid uses an exp written to vectorise (within about 2 ulp
of the C library's). A sample can therefore differ from the graph path's
only if its uniform falls within a few ulps (1e-16 in float64, 1e-7 in
float32; the uniforms have the states' dtype) of its probability; the
tests see none. Rows can be shared between threads (`default_threads`).

Neither Op has a gradient: CD holds the chain's sample constant.
"""

import inspect
import os
import zlib

import numpy as np
import pytensor.tensor as pt
from pytensor.graph.basic import Apply
from pytensor.link.c.op import COp
from pytensor.tensor.random.op import RandomVariable


def new_keys(rng, size=2):
    """Random 64-bit keys of counter_uniforms streams drawn from NumPy Generator `rng`."""
    return rng.integers(0, 2**64, size=size, dtype=np.uint64)


class KeysRV(RandomVariable):
    """new_keys as a PyTensor random variable, so the generator threads through graphs."""

    name = "keys"
    signature = "->()"
    dtype = "uint64"

    def rng_fn(self, rng, size):
        return new_keys(rng, size)


_keys = KeysRV()


def draw_keys(rng):
    """Return (next_rng, key): two stream keys (uint64) drawn from generator variable `rng`."""
    return _keys(size=(2,), rng=rng, return_next_rng=True)


GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
SPLITMIX_MULTIPLIERS = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def counter_uniforms(key, shape, dtype="float64"):
    """Uniforms on [0, 1) of `shape`, number i (C order) of stream `key`:
    z = SplitMix64's output for the state key + (i + 1) * GOLDEN_GAMMA (Steele,
    Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
    2014), then z >> 11 / 2^53 (float64) or z >> 40 / 2^24 (float32).

    The Gibbs kernels make exactly these numbers themselves (this is their
    NumPy reference): each number depends on its
    index alone, so rows can be shared between threads and the draws cost no
    memory traffic. SplitMix64 passes BigCrush; distinct random 64-bit keys
    give overlapping stretches of its sequence with negligible probability
    (a call uses at most millions of its 2^64 states).

    In float32, u = k / 2^24 (k uniform on 0 .. 2^24 - 1, every value exact)
    makes [u < p] Bernoulli(q) with q = ceil(p 2^24) / 2^24 for the float32
    probability p: q - p lies in [0, 2^-24) (6e-8), the spacing of float32
    numbers just below 1; below p = 2^-24 (an input below -16.6) that is an
    absolute, not a relative, error. The kernel's comparison, u (1 + t) < n
    rather than u < n / (1 + t) (see the C source), moves q by at most a few
    float32 ulps of p. float64 (k / 2^53): q - p in [0, 2^-53).
    """
    i = np.arange(1, int(np.prod(shape)) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic is meant to wrap
        z = np.uint64(key) + i * GOLDEN_GAMMA
        z = (z ^ (z >> np.uint64(30))) * SPLITMIX_MULTIPLIERS[0]
        z = (z ^ (z >> np.uint64(27))) * SPLITMIX_MULTIPLIERS[1]
        z ^= z >> np.uint64(31)
    if np.dtype(dtype) == np.float32:
        return ((z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)).reshape(shape)
    return ((z >> np.uint64(11)).astype(np.float64) * 2.0**-53).reshape(shape)


def default_threads():
    """Threads per Gibbs Op unless given: $RNNRBM_THREADS, else 1.

    The Ops share rows (each chain's arithmetic stays on one thread, in the
    same order), so no result depends on it; 1 because the usual runs
    already keep both cores busy (two trainings, or evaluate's two processes).
    """
    return int(os.environ.get("RNNRBM_THREADS", "1"))


C_SUPPORT = r"""
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

namespace rnnrbm_gibbs {

/* exp(x) for x <= 0 without branches, so that loops over it vectorise:
   x = n log 2 + r with |r| <= log(2) / 2, exp(r) by its Taylor polynomial,
   2^n built in the exponent bits. Within about 2 ulp of exp() for x >= -708;
   below, the result (about 1e-308) is already 0 for every use here. */
static inline double exp_nonpositive(double x)
{
    x = x < -708.0 ? -708.0 : x;
    const double shifter = 6755399441055744.0;  /* 1.5 * 2^52: adding it rounds to an integer */
    const double kd = x * 1.4426950408889634 + shifter;
    const double n = kd - shifter;
    const double r = (x - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
    double p = 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t k;
    memcpy(&k, &kd, sizeof k);
    const uint64_t bits = (uint64_t)(k - 0x4338000000000000LL + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float exp_nonpositive(float x)
{
    x = x < -87.0f ? -87.0f : x;
    const float shifter = 12582912.0f;  /* 1.5 * 2^23 */
    const float kd = x * 1.44269504f + shifter;
    const float n = kd - shifter;
    const float r = (x - n * 0.693145752f) - n * 1.42860677e-06f;
    float p = 1.0f / 40320.0f;
    p = p * r + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t k;
    memcpy(&k, &kd, sizeof k);
    const uint32_t bits = (uint32_t)(k - 0x4B400000 + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* The uniforms: number i (from 0) of the stream `key` is SplitMix64's
   output for the state key + (i + 1) gamma (Steele, Lea and Flood, "Fast
   splittable pseudorandom number generators", OOPSLA 2014), its top 53 bits
   (double) or 24 bits (float) scaled to [0, 1). Each number is computed from
   its index alone, so any row's uniforms can be made on any thread, and the
   loop vectorises (64-bit multiplies are single AVX-512 instructions).
   gibbs.counter_uniforms is the same in NumPy. */
static const uint64_t GOLDEN_GAMMA = 0x9E3779B97F4A7C15ULL;

static inline uint64_t splitmix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline void to_uniform(uint64_t z, double &u) { u = (double)(int64_t)(z >> 11) * 0x1.0p-53; }
static inline void to_uniform(uint64_t z, float &u) { u = (float)(int32_t)(z >> 40) * 0x1.0p-24f; }

/* u[j] = number first + j of stream `key`, for j < n. */
template <typename T>
static void counter_uniforms(uint64_t key, uint64_t first, int n, T *u)
{
    const uint64_t start = key + (first + 1) * GOLDEN_GAMMA;
    for (int j = 0; j < n; j++)
        to_uniform(splitmix64(start + (uint64_t)j * GOLDEN_GAMMA), u[j]);
}

/* Whether u < sigmoid(x), given t = exp(-|x|): sigmoid(x) is n / (1 + t)
   with n = 1 for x >= 0, else t, so this is u (1 + t) < n, which needs no
   division (the slowest vector operation here) and never overflows. Returns
   1 or 0 as a T. */
template <typename T>
static inline T below_sigmoid(T u, T x, T t)
{
    const T numerator = x >= 0 ? (T)1 : t;  /* a select, not a branch: the loop vectorises */
    return u * (1 + t) < numerator ? (T)1 : (T)0;
}

/* Columns c0 .. c0 + VECTORS * LANES - 1 of weighted_sums (below), their
   accumulators held in registers as GCC/Clang vector types (32 bytes; two
   16-byte halves without AVX), since GCC left to itself vectorises across the
   terms, with gathers. */
template <typename T, int VECTORS>
static inline void sum_tile(int rows, T *out, npy_intp out_stride, const T *bias,
                            int bias_rows, int first_row, T scale, const T *M, int n, int c0,
                            const int *index, npy_intp index_stride, const int *count,
                            const T *weight, npy_intp weight_stride)
{
    typedef T vec __attribute__((vector_size(32), aligned(sizeof(T))));
    enum { LANES = 32 / sizeof(T) };
    for (int r = 0; r < rows; r++) {
        const int *idx = index + r * index_stride;
        const T *w = weight + r * weight_stride;
        vec acc[VECTORS];
        for (int q = 0; q < VECTORS; q++)
            acc[q] = (vec){};
        for (int k = 0; k < count[r]; k++) {
            const vec *m = (const vec *)(M + (npy_intp)idx[k] * n + c0);
            for (int q = 0; q < VECTORS; q++)
                acc[q] += w[k] * m[q];
        }
        T *o = out + r * out_stride + c0;
        const T *b = bias + (npy_intp)((first_row + r) % bias_rows) * n + c0;
        for (int q = 0; q < VECTORS; q++)
            for (int l = 0; l < LANES; l++)
                o[q * LANES + l] = b[q * LANES + l] + scale * acc[q][l];
    }
}

/* For each of `rows` rows r: out_r[c] = bias_r[c] + scale * sum_k weight_r[k] M[index_r[k], c]
   for c < n (M is ? x n, row-major), where row r's out, index and weight
   start `*_stride` elements after row r - 1's (stride 0: shared), its bias
   is row (first_row + r) % bias_rows of `bias` (bias_rows x n), and it has
   count[r] terms. TILE columns at a time (8 vectors of 32 bytes: 32
   doubles or 64 floats), so that the tile of M being summed (? x TILE)
   serves all rows from the L1 cache. The columns left over take one more
   tile, or a half tile if they fit one (two if the matrix is narrower than a
   tile), placed to end at column n: it overlaps the tile before it, whose columns it recomputes identically, since
   each column sums its terms in the order of index_r whatever the tiling. */
template <typename T>
static void weighted_sums(int rows, T *out, npy_intp out_stride, const T *bias,
                          int bias_rows, int first_row, T scale, const T *M, int n,
                          const int *index, npy_intp index_stride, const int *count,
                          const T *weight, npy_intp weight_stride)
{
    enum { TILE = 8 * 32 / sizeof(T), HALF = TILE / 2 };
    if (n < HALF) {  /* narrow matrices (tiny test models) */
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < n; c++) {
                const int *idx = index + r * index_stride;
                const T *w = weight + r * weight_stride;
                T acc = 0;
                for (int k = 0; k < count[r]; k++)
                    acc += w[k] * M[(npy_intp)idx[k] * n + c];
                out[r * out_stride + c] = bias[(npy_intp)((first_row + r) % bias_rows) * n + c]
                                          + scale * acc;
            }
        return;
    }
    int c0 = 0;
    for (; c0 + TILE <= n; c0 += TILE)
        sum_tile<T, 8>(rows, out, out_stride, bias, bias_rows, first_row, scale, M, n, c0,
                       index, index_stride, count, weight, weight_stride);
    if (c0 == n)
        return;
    if (n - c0 > HALF && n >= TILE)
        sum_tile<T, 8>(rows, out, out_stride, bias, bias_rows, first_row, scale, M, n, n - TILE,
                       index, index_stride, count, weight, weight_stride);
    else {
        if (n - c0 > HALF)  /* HALF < n < TILE: two half tiles */
            sum_tile<T, 4>(rows, out, out_stride, bias, bias_rows, first_row, scale, M, n, 0,
                           index, index_stride, count, weight, weight_stride);
        sum_tile<T, 4>(rows, out, out_stride, bias, bias_rows, first_row, scale, M, n, n - HALF,
                       index, index_stride, count, weight, weight_stride);
    }
}

/* The AIS increment sum_j softplus(y1_j) - softplus(y0_j) with y1 = beta x,
   y0 = beta_previous x, as sum_j (max(y1, 0) - max(y0, 0)) plus the log of
   prod_j (1 + e^-|y1|) / (1 + e^-|y0|): one log per 512 units instead of two
   per unit (each factor lies in [1/2, 2], so a product of 512 stays within
   double range). Also writes e^-|y1_j| to t, for the sampling. */
template <typename T>
static inline void ais_term(const T *x, int j, double beta, double beta_previous, T *t,
                            double &linear, double &ratio)
{
    const double y1 = beta * x[j], y0 = beta_previous * x[j];
    const double t1 = exp_nonpositive(y1 >= 0 ? -y1 : y1);
    const double t0 = exp_nonpositive(y0 >= 0 ? -y0 : y0);
    linear += (y1 > 0 ? y1 : 0) - (y0 > 0 ? y0 : 0);
    ratio *= (1 + t1) / (1 + t0);
    t[j] = (T)t1;
}

template <typename T>
static double ais_increment(const T *x, int n, double beta, double beta_previous, T *t)
{
    double increment = 0;
    for (int j0 = 0; j0 < n; j0 += 512) {
        const int stop = n - j0 < 512 ? n : j0 + 512;
        double linear[8] = {0}, ratio[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        int j = j0;
        for (; j + 8 <= stop; j += 8)  /* eight lanes, so that the loop vectorises */
            for (int l = 0; l < 8; l++)
                ais_term(x, j + l, beta, beta_previous, t, linear[l], ratio[l]);
        for (; j < stop; j++)
            ais_term(x, j, beta, beta_previous, t, linear[0], ratio[0]);
        double product = 1;
        for (int l = 0; l < 8; l++) {
            increment += linear[l];
            product *= ratio[l];
        }
        increment += log(product);
    }
    return increment;
}

/* Sample units from their inputs: unit j is on when u[j] < sigmoid(beta x[j]),
   as the graph's bernoulli does (the uniforms are of the dtype T). Writes
   the indices of the units on to `index` (and 0/1 to `state` if given);
   returns how many. `bits`: scratch space for n. With `log_w`, also adds to
   it ais_increment(). */
template <typename T>
static int sample_units(const T *x, int n, double beta, const T *u, T *bits, int *index,
                        T *state, double *log_w, double beta_previous)
{
    if (log_w) {
        *log_w += ais_increment(x, n, beta, beta_previous, bits);
        for (int j = 0; j < n; j++)  /* bits holds e^-|beta x_j| */
            bits[j] = below_sigmoid(u[j], (T)beta * x[j], bits[j]);
    } else
        for (int j = 0; j < n; j++) {
            const T y = (T)beta * x[j];
            bits[j] = below_sigmoid(u[j], y, exp_nonpositive(y >= 0 ? -y : y));
        }
    if (state)
        memcpy(state, bits, sizeof(T) * n);
    int on = 0;
    for (int j = 0; j < n; j++) {
        index[on] = j;  /* kept only if the unit is on: no branch */
        on += bits[j] != 0;
    }
    return on;
}

enum { BLOCK = 64 };  /* rows advanced together, one half step at a time */

/* Scratch space for a block of up to `block` rows. */
template <typename T>
struct Workspace {
    int *v_index = NULL, *h_index = NULL, *v_count = NULL, *h_count = NULL;
    T *v_weight = NULL, *ones = NULL, *x = NULL, *a = NULL, *p = NULL, *u = NULL;
    bool allocate(int nv, int nh, int block)
    {
        const int n = nv > nh ? nv : nh;
        v_index = (int *)malloc(sizeof(int) * block * nv);
        h_index = (int *)malloc(sizeof(int) * block * nh);
        v_count = (int *)malloc(sizeof(int) * block);
        h_count = (int *)malloc(sizeof(int) * block);
        v_weight = (T *)malloc(sizeof(T) * block * nv);
        ones = (T *)malloc(sizeof(T) * n);
        x = (T *)malloc(sizeof(T) * block * nh);
        a = (T *)malloc(sizeof(T) * block * nv);
        p = (T *)malloc(sizeof(T) * n);
        u = (T *)malloc(sizeof(T) * n);
        if (!(v_index && h_index && v_count && h_count && v_weight && ones && x && a && p && u))
            return false;
        for (int i = 0; i < n; i++)
            ones[i] = 1;
        return true;
    }
    void release()
    {
        free(v_index); free(h_index); free(v_count); free(h_count);
        free(v_weight); free(ones); free(x); free(a); free(p); free(u);
    }
};

/* The chains of `rows` (<= BLOCK) rows, `steps` Gibbs steps each from their
   states v (rows x nv, updated in place); their biases are the rows
   (first_row + r) % bv_rows of bv and (first_row + r) % bh_rows of bh.
   x = bh + v W,
   h = [u_h < sigmoid(beta x)], a = bv + beta h W^T, v = [u_v < sigmoid(a)],
   with beta = betas[s + 1] at step s (1 without betas). The uniforms of
   hidden unit j of row r (of all_rows, counted from first_row) at step s
   are number (s * all_rows + first_row + r) * nh + j of stream key_h, the
   visible ones likewise of key_v: the C-order positions in arrays of
   steps x all_rows x units. With `activation` (rows x nv), one more half
   step (using step `steps` of key_h) writes the visible input a there. With `log_w`, adds each row's AIS weight
   increment of each step before its sampling. */
template <typename T>
static void chain_block(int rows, int nv, int nh, int steps, const T *W, const T *WT,
                        const T *bv, int bv_rows, const T *bh, int bh_rows, int first_row, T *v,
                        uint64_t key_h, uint64_t key_v, npy_intp all_rows,
                        const double *betas, double *log_w, T *activation, Workspace<T> &w)
{
    for (int r = 0; r < rows; r++) {  /* the start may be any real vector */
        int on = 0;
        for (int i = 0; i < nv; i++) {
            w.v_index[r * nv + on] = i;
            w.v_weight[r * nv + on] = v[r * nv + i];
            on += v[r * nv + i] != 0;
        }
        w.v_count[r] = on;
    }
    const T *v_weight = w.v_weight;
    npy_intp v_weight_stride = nv;
    for (int s = 0; s <= steps; s++) {
        if (s == steps && !activation)
            break;
        const double beta = betas ? betas[s + 1] : 1.0;
        weighted_sums(rows, w.x, nh, bh, bh_rows, first_row, (T)1, W, nh, w.v_index, nv,
                      w.v_count, v_weight, v_weight_stride);
        for (int r = 0; r < rows; r++) {
            counter_uniforms(key_h, ((uint64_t)s * all_rows + first_row + r) * nh, nh, w.u);
            w.h_count[r] = sample_units(w.x + r * nh, nh, beta, w.u, w.p, w.h_index + r * nh,
                                        (T *)NULL, s < steps && log_w ? log_w + r : (double *)NULL,
                                        betas ? betas[s] : 1.0);
        }
        T *a = s == steps ? activation : w.a;
        weighted_sums(rows, a, nv, bv, bv_rows, first_row, (T)beta, WT, nv, w.h_index, nh,
                      w.h_count, w.ones, 0);
        if (s == steps)
            break;
        for (int r = 0; r < rows; r++) {
            counter_uniforms(key_v, ((uint64_t)s * all_rows + first_row + r) * nv, nv, w.u);
            w.v_count[r] = sample_units(a + r * nv, nv, 1.0, w.u, w.p, w.v_index + r * nv,
                                        v + r * nv, (double *)NULL, 1.0);
        }
        v_weight = w.ones;
        v_weight_stride = 0;
    }
}

/* One call's chains: rows x nv states v, their biases, random keys, ... as chain_block takes them. */
template <typename T>
struct Chains {
    int rows, nv, nh, steps;
    const T *W, *WT, *bv;
    int bv_rows;
    const T *bh;
    int bh_rows;
    T *v;
    uint64_t key_h, key_v;
    const double *betas;
    double *log_w;
    T *activation;
};

/* Rows first..last - 1 of the chains, a block at a time. Returns 0, or -1 if out of memory. */
template <typename T>
static int run_rows(const Chains<T> &c, int first, int last)
{
    if (first >= last)
        return 0;
    Workspace<T> w;
    if (!w.allocate(c.nv, c.nh, last - first < BLOCK ? last - first : (int)BLOCK)) {
        w.release();
        return -1;
    }
    for (int r = first; r < last; r += BLOCK)
        chain_block(last - r < BLOCK ? last - r : (int)BLOCK, c.nv, c.nh, c.steps, c.W, c.WT,
                    c.bv, c.bv_rows, c.bh, c.bh_rows, r, c.v + (npy_intp)r * c.nv,
                    c.key_h, c.key_v, c.rows, c.betas,
                    c.log_w ? c.log_w + r : (double *)NULL,
                    c.activation ? c.activation + (npy_intp)r * c.nv : (T *)NULL, w);
    w.release();
    return 0;
}

template <typename T>
struct Share {
    const Chains<T> *chains;
    int first, last, status;
};

template <typename T>
static void *run_share(void *share)
{
    Share<T> *s = (Share<T> *)share;
    s->status = run_rows(*s->chains, s->first, s->last);
    return NULL;
}

enum { MAX_THREADS = 64, ROWS_PER_THREAD = 16 };  /* fewer rows do not pay for a thread */

/* All rows: row r's biases are row r % bv_rows of bv (bv_rows x nv) and
   r % bh_rows of bh: one per row, a shared one, or, for AIS, one per RBM
   with its chains stacked as blocks of rows. The uniforms come from the
   streams key_h and key_v (see chain_block). W^T is copied once so that
   both half steps read contiguous rows. The rows are shared between up to
   `threads` threads; each row's arithmetic is the same whatever thread runs
   it, so the results do not depend on the number of threads. Returns 0, or
   -1 if out of memory. */
template <typename T>
static int chain_rows(int rows, int nv, int nh, int steps, const T *W,
                      const T *bv, int bv_rows, const T *bh, int bh_rows, T *v,
                      uint64_t key_h, uint64_t key_v,
                      const double *betas, double *log_w, T *activation, int threads)
{
    T *WT = (T *)malloc(sizeof(T) * ((size_t)nv * nh + 1));
    if (!WT)
        return -1;
    for (int i = 0; i < nv; i++)
        for (int j = 0; j < nh; j++)
            WT[(npy_intp)j * nv + i] = W[(npy_intp)i * nh + j];
    const Chains<T> chains = {rows, nv, nh, steps, W, WT, bv, bv_rows, bh, bh_rows, v,
                              key_h, key_v, betas, log_w, activation};
    threads = threads < rows / ROWS_PER_THREAD ? threads : rows / ROWS_PER_THREAD;
    threads = threads < 1 ? 1 : threads > MAX_THREADS ? (int)MAX_THREADS : threads;
    Share<T> shares[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    bool started[MAX_THREADS] = {false};
    for (int t = 0; t < threads; t++)
        shares[t] = {&chains, (int)((npy_intp)rows * t / threads),
                     (int)((npy_intp)rows * (t + 1) / threads), 0};
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, run_share<T>, &shares[t]) == 0;
    int status = 0;
    for (int t = 0; t < threads; t++) {
        if (t == 0 || !started[t])  /* this thread's share, and any a thread failed to take */
            run_share<T>(&shares[t]);
        else
            pthread_join(ids[t], NULL);
        status |= shares[t].status;
    }
    free(WT);
    return status;
}

}  /* namespace rnnrbm_gibbs */
"""

def _c_call(inputs, outputs, sub, threads, steps=None, betas=None, log_w=None, activation=None):
    """C code running chain_rows on an Op's inputs W, bv, bh, v, key and the
    number of steps (an int scalar, or else len(betas) - 1): checks the
    shapes, takes contiguous views, allocates the outputs (v_out a copy of v;
    log_w's copy and the activation if asked for), and fails cleanly."""
    W, bv, bh, v, key = inputs
    v_out, fail = outputs[0], sub["fail"]
    new_outputs = [f"Py_XDECREF({v_out}); {v_out} = (PyArrayObject *)PyArray_NewCopy({v}, NPY_CORDER);"]
    if log_w:
        log_w, log_w_out = log_w
        new_outputs.append(f"Py_XDECREF({log_w_out}); {log_w_out} = "
                           f"(PyArrayObject *)PyArray_NewCopy({log_w}, NPY_CORDER);")
    if activation:
        new_outputs.append(f"Py_XDECREF({activation}); {activation} = (PyArrayObject *)"
                           f"PyArray_SimpleNew(2, PyArray_DIMS({v}), PyArray_TYPE({v}));")
    made = " && ".join([v_out] + ([log_w_out] if log_w else []) + ([activation] if activation else []))
    n_steps = (f"PyArray_DIMS({betas})[0] - 1" if log_w
               else f"(npy_intp)((dtype_{steps} *)PyArray_DATA({steps}))[0]")
    return f"""
    {{
    typedef dtype_{v} real;
    const npy_intp rows = PyArray_DIMS({v})[0], nv = PyArray_DIMS({W})[0],
                   nh = PyArray_DIMS({W})[1], steps = {n_steps};
    if (PyArray_DIMS({v})[1] != nv || PyArray_DIMS({bv})[1] != nv || PyArray_DIMS({bh})[1] != nh
            || PyArray_DIMS({bv})[0] < 1 || rows % PyArray_DIMS({bv})[0] != 0
            || PyArray_DIMS({bh})[0] < 1 || rows % PyArray_DIMS({bh})[0] != 0
            || steps < 0 || PyArray_DIMS({key})[0] != 2
            {f"|| PyArray_DIMS({log_w})[0] != rows" if log_w else ""}) {{
        PyErr_Format(PyExc_ValueError, "Gibbs chain: inconsistent shapes (W %ld x %ld, v %ld x %ld, "
                     "biases %ld and %ld rows, %ld steps, %ld keys)", (long)nv, (long)nh,
                     (long)rows, (long)PyArray_DIMS({v})[1], (long)PyArray_DIMS({bv})[0],
                     (long)PyArray_DIMS({bh})[0], (long)steps, (long)PyArray_DIMS({key})[0]);
        {fail}
    }}
    const npy_uint64 key_h = *(npy_uint64 *)PyArray_GETPTR1({key}, 0),
                     key_v = *(npy_uint64 *)PyArray_GETPTR1({key}, 1);
    PyArrayObject *W_c = PyArray_GETCONTIGUOUS({W}), *bv_c = PyArray_GETCONTIGUOUS({bv}),
                  *bh_c = PyArray_GETCONTIGUOUS({bh}){f", *betas_c = PyArray_GETCONTIGUOUS({betas})" if log_w else ""};
    {" ".join(new_outputs)}
    int status = -1;
    if (W_c && bv_c && bh_c {"&& betas_c" if log_w else ""} && {made})
        status = rnnrbm_gibbs::chain_rows<real>(
            (int)rows, (int)nv, (int)nh, (int)steps, (real *)PyArray_DATA(W_c),
            (real *)PyArray_DATA(bv_c), (int)PyArray_DIMS(bv_c)[0],
            (real *)PyArray_DATA(bh_c), (int)PyArray_DIMS(bh_c)[0],
            (real *)PyArray_DATA({v_out}), key_h, key_v,
            {"(double *)PyArray_DATA(betas_c)" if log_w else "(double *)NULL"},
            {f"(double *)PyArray_DATA({log_w_out})" if log_w else "(double *)NULL"},
            {f"(real *)PyArray_DATA({activation})" if activation else "(real *)NULL"},
            {int(threads)});
    Py_XDECREF(W_c); Py_XDECREF(bv_c); Py_XDECREF(bh_c);
    {"Py_XDECREF(betas_c);" if log_w else ""}
    if (status) {{
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        {fail}
    }}
    }}
    """


class _GibbsOp(COp):
    """The C support code and compile settings both Gibbs Ops share."""

    def c_support_code(self, **kwargs):
        return C_SUPPORT

    def c_headers(self, **kwargs):
        return ["<math.h>", "<pthread.h>", "<stdint.h>", "<stdlib.h>", "<string.h>"]

    def c_compile_args(self, **kwargs):
        # -fno-trapping-math lets GCC turn the selects (x >= 0 ? a : b) in the
        # sigmoid and exp loops into vector blends; nothing here reads
        # floating-point flags. -pthread: rows can be shared between threads.
        return ["-fno-trapping-math", "-pthread"]

    def c_code_cache_version(self):
        # Follows the C source and what writes the Ops' C code, so that an
        # edit is never served from PyTensor's cache.
        return (1, zlib.crc32((C_SUPPORT + inspect.getsource(_c_call)).encode()))

    def perform(self, node, inputs, outputs):
        # PyTensor calls this only where it cannot compile C (e.g. the Numba
        # backend, which builds the graph path instead: see rnnrbm.build_rbm).
        raise NotImplementedError(f"{type(self).__name__} runs only in PyTensor's C backend")


def _as_chain_inputs(W, bv, bh, v, key):
    """Tensor variables: W, bv, bh, v of one float dtype with the biases as
    matrices (a vector becomes one row); key a uint64 vector (two streams)."""
    W, bv, bh, v, key = (pt.as_tensor_variable(x) for x in (W, bv, bh, v, key))
    bv, bh = (b if b.ndim == 2 else b[None, :] for b in (bv, bh))
    if W.ndim != 2 or v.ndim != 2 or bv.ndim != 2 or bh.ndim != 2:
        raise TypeError("W and v must be matrices, bv and bh vectors or matrices")
    dtype = v.dtype
    if dtype not in ("float32", "float64") or any(x.dtype != dtype for x in (W, bv, bh)):
        raise TypeError(f"W, bv, bh and v must share one float dtype, not "
                        f"{[x.dtype for x in (W, bv, bh, v)]}")
    if key.dtype != "uint64" or key.ndim != 1:
        raise TypeError(f"key must be a uint64 vector (of 2), not {key.type}")
    return [W, bv, bh, v, key]


class GibbsChain(_GibbsOp):
    """(W, bv, bh, v, key, k) -> v_sample [, activation_v].

    k block Gibbs steps from each row of v:
    h = [u_h < sigmoid(v W + bh)], v = [u_v < sigmoid(h W^T + bv)],
    one chain per row of v. Row r's biases are row r % len(bv) of bv and
    r % len(bh) of bh: one row per chain, one for all, or one per RBM with
    its chains stacked as blocks of rows (the number of rows of v must be a
    multiple). The uniforms, in the dtype of v, are
    counter_uniforms(key[0], (k + 1, rows, n_hidden)) for u_h and
    counter_uniforms(key[1], (k, rows, n_visible)) for u_v, made inside the
    kernel. With `monitor`, the Op also returns the visible input
    h W^T + bv of one more half step from v_sample (using u_h's step k), which
    the training monitor is computed from. Given those uniforms these are the
    graph path's samples (see the module docstring for the rounding).
    """

    __props__ = ("monitor", "threads")

    def __init__(self, monitor=True, threads=None):
        super().__init__()
        self.monitor = monitor
        self.threads = default_threads() if threads is None else int(threads)

    def make_node(self, W, bv, bh, v, key, k):
        inputs = _as_chain_inputs(W, bv, bh, v, key)
        k = pt.as_tensor_variable(k)
        if k.ndim != 0 or not k.dtype.startswith("int"):
            raise TypeError(f"k must be an integer scalar, not {k.type}")
        return Apply(self, [*inputs, k], [inputs[3].type() for _ in range(1 + self.monitor)])

    def c_code(self, node, name, inputs, outputs, sub):
        return _c_call(inputs[:5], outputs, sub, self.threads, steps=inputs[5],
                       activation=outputs[1] if self.monitor else None)


class AnnealedGibbs(_GibbsOp):
    """(W, bv, bh, v, log_w, betas, key) -> (v, log_w); log_w and betas
    float64, the rest float64 or float32.

    AIS along p_beta(v) ~ exp(bv.v) prod_j (1 + exp(beta (v W + bh)_j)): for
    each step s (k = len(betas) - 1 of them), adds to each row's log weight
    sum_j softplus(betas[s + 1] x_j) - softplus(betas[s] x_j), x = v W + bh, then
    takes one Gibbs step at betas[s + 1]: h = [u_h < sigmoid(beta x)],
    v = [u_v < sigmoid(bv + beta h W^T)], the uniforms
    counter_uniforms(key[0], (k, rows, n_hidden)) and
    counter_uniforms(key[1], (k, rows, n_visible)) in the dtype of v. The
    biases' rows are used as in GibbsChain. Calls can be chained, a slice of
    the temperatures and a fresh key each, continuing from the v and log_w
    returned.
    """

    __props__ = ("threads",)

    def __init__(self, threads=None):
        super().__init__()
        self.threads = default_threads() if threads is None else int(threads)

    def make_node(self, W, bv, bh, v, log_w, betas, key):
        W, bv, bh, v, key = _as_chain_inputs(W, bv, bh, v, key)
        log_w, betas = (pt.as_tensor_variable(x) for x in (log_w, betas))
        if log_w.type.dtype != "float64" or log_w.ndim != 1 or betas.dtype != "float64" \
                or betas.ndim != 1:
            raise TypeError("log_w and betas must be float64 vectors")
        return Apply(self, [W, bv, bh, v, log_w, betas, key], [v.type(), log_w.type()])

    def c_code(self, node, name, inputs, outputs, sub):
        W, bv, bh, v, log_w, betas, key = inputs
        return _c_call([W, bv, bh, v, key], outputs, sub, self.threads, betas=betas,
                       log_w=(log_w, outputs[1]))
