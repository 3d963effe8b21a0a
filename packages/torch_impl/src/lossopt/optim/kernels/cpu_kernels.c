/* lossopt's CPU kernels for fused=True: one pass over every tensor of a parameter group.
 *
 * Built on first use by lossopt/optim/kernels/cpu_build.py (the C compiler torch.compile uses on the CPU;
 * -O3 -march=native -fno-math-errno -ffp-contract=off, OpenMP where the compiler has it) and called
 * through ctypes with the tensors' data pointers. Plain C99, no torch headers, so it builds in well
 * under a second. The equations, their tags and the papers are in the Python docstrings of
 * lossopt.optim.adam (AdamW / Adam, torch's fused kernel's arithmetic), lossopt.optim.sgd and
 * lossopt.optim.adabelief (adabelief_update, whose arithmetic this follows operation for operation).
 *
 * Work split: every tensor is cut into blocks of BLOCK elements (aligned to 64-byte cache lines when
 * the tensor is) and the blocks of all tensors together are shared out statically among the threads,
 * so a model with thousands of small tensors and one with a few large ones both keep every thread busy
 * and one parallel region serves the whole step.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define BLOCK 16384

/* prefix[i] = number of blocks of tensors 0..i-1; prefix[n] = all blocks. NULL when out of memory. */
static int64_t *block_prefix(int64_t n, const int64_t *sizes) {
  int64_t *prefix = (int64_t *)malloc((size_t)(n + 1) * sizeof(int64_t));
  if (prefix == NULL) return NULL;
  prefix[0] = 0;
  for (int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + (sizes[i] + BLOCK - 1) / BLOCK;
  return prefix;
}

/* Block b: its tensor *i (the largest i with prefix[i] <= b; empty tensors hold no block) and its
 * element range [*lo, *hi) in that tensor. */
static void block_range(const int64_t *prefix, int64_t n, const int64_t *sizes, int64_t b, int64_t *i,
                        int64_t *lo, int64_t *hi) {
  int64_t first = 0, last = n;
  while (last - first > 1) {
    int64_t mid = first + (last - first) / 2;
    if (prefix[mid] <= b) first = mid; else last = mid;
  }
  *i = first;
  *lo = (b - prefix[first]) * BLOCK;
  *hi = *lo + BLOCK < sizes[first] ? *lo + BLOCK : sizes[first];
}

/* AdamW (decoupled != 0) / Adam with L2 decay, torch's fused CPU kernel's arithmetic, except that the
 * gradient is multiplied by *gmul (the clip coefficient times GradScaler's 1/S) and never written back.
 * steps: per-tensor float32 counters, already incremented for this step; found_inf (nullable): nonzero
 * skips the whole call. Returns 0, or -1 when out of memory (nothing was changed then). */
#define ADAM_KERNEL(NAME, T, SQRT)                                                                       \
  int NAME(int64_t n, T **p, T **g, T **m, T **v, T **vmax, const int64_t *sizes, float **steps,        \
           const double *lr_ptr, double beta1, double beta2, double eps, double weight_decay,           \
           int decoupled, int amsgrad, int maximize, int bias_correction, const double *gmul_ptr,       \
           const float *found_inf, int nthreads) {                                                       \
    (void)nthreads;                                                                                      \
    if (found_inf != NULL && *found_inf != 0.0f) return 0;                                               \
    int64_t *prefix = block_prefix(n, sizes);                                                            \
    double *step_size = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));                      \
    double *bc2_sqrt = (double *)malloc((size_t)(n > 0 ? n : 1) * sizeof(double));                       \
    if (prefix == NULL || step_size == NULL || bc2_sqrt == NULL) {                                       \
      free(prefix); free(step_size); free(bc2_sqrt);                                                     \
      return -1;                                                                                         \
    }                                                                                                    \
    const double lr = *lr_ptr;                                                                           \
    for (int64_t i = 0; i < n; ++i) {                                                                    \
      const double t = (double)*steps[i];                                                                \
      const double bc1 = bias_correction ? 1.0 - pow(beta1, t) : 1.0; /* (6) c1 = 1 - beta1^t */          \
      const double bc2 = bias_correction ? 1.0 - pow(beta2, t) : 1.0; /* (6) c2 = 1 - beta2^t */          \
      step_size[i] = lr / bc1;                                                                           \
      bc2_sqrt[i] = sqrt(bc2);                                                                           \
    }                                                                                                    \
    const T gmul = (T)((gmul_ptr != NULL ? *gmul_ptr : 1.0) * (maximize ? -1.0 : 1.0)); /* (c3), (1) */ \
    const T l2 = (T)(decoupled ? 0.0 : weight_decay);                                                   \
    const T decay = (T)(decoupled ? 1.0 - lr * weight_decay : 1.0);                                     \
    const int apply_l2 = !decoupled && weight_decay != 0.0, apply_decay = decoupled && weight_decay != 0.0; \
    const T w = (T)(1.0 - beta1); /* m.lerp_(g, 1 - beta1) as torch: two forms by the weight's size */  \
    const int small = fabs((double)w) < 0.5;                                                             \
    const T coeff = small ? w : w - (T)1;                                                                \
    const T b2 = (T)beta2, omb2 = (T)(1.0 - beta2), e = (T)eps;                                         \
    const int64_t nblocks = prefix[n];                                                                   \
    _Pragma("omp parallel for num_threads(nthreads) schedule(static) if(nblocks >= 4)") \
    for (int64_t b = 0; b < nblocks; ++b) {                                                              \
      int64_t i, lo, hi;                                                                                 \
      block_range(prefix, n, sizes, b, &i, &lo, &hi);                                                    \
      T *restrict pp = p[i], *restrict mm = m[i], *restrict vv = v[i];                                   \
      const T *restrict gg = g[i];                                                                       \
      T *restrict vx = amsgrad ? vmax[i] : NULL;                                                         \
      const T ss = (T)step_size[i], bc = (T)bc2_sqrt[i];                                                 \
      for (int64_t k = lo; k < hi; ++k) {                                                                \
        T gk = gg[k] * gmul;                                  /* (c3) kappa g, (1) -g with maximize */   \
        T pk = pp[k];                                                                                    \
        if (apply_l2) gk = gk + pk * l2;                      /* (2) Adam: g + wd p */                   \
        if (apply_decay) pk = pk * decay;                     /* (2) AdamW: p (1 - lr wd) */             \
        const T mk0 = mm[k];                                                                             \
        const T mk = coeff * (gk - mk0) + (small ? mk0 : gk); /* (3) m <- lerp(m, g, 1 - beta1) */        \
        const T vk = vv[k] * b2 + omb2 * gk * gk;             /* (4) v <- beta2 v + (1 - beta2) g^2 */   \
        mm[k] = mk;                                                                                      \
        vv[k] = vk;                                                                                      \
        T vh = vk;                                                                                       \
        if (amsgrad) {                                        /* (5) v_max <- max(v_max, v) */           \
          const T vm = vx[k];                                                                            \
          vh = (vm > vk || vm != vm) ? vm : vk;                                                          \
          vx[k] = vh;                                                                                    \
        }                                                                                                \
        const T d = SQRT(vh) / bc + e;                        /* (7) sqrt(v) / sqrt(c2) + eps */         \
        pp[k] = pk + (-ss) * mk / d;                          /* (8) p <- p - lr / c1 m / d */           \
      }                                                                                                  \
    }                                                                                                    \
    free(prefix); free(step_size); free(bc2_sqrt);                                                       \
    return 0;                                                                                            \
  }

ADAM_KERNEL(lossopt_adam_f32, float, sqrtf)
ADAM_KERNEL(lossopt_adam_f64, double, sqrt)

/* AdaBelief, operation for operation as lossopt.optim.adabelief._adabelief_fused_update: coefs holds one
 * row of ncols scalars per tensor (scale, l2, decay, beta2, 1 - beta1, (1 - beta2) beta1^2, eps, k, c, a[, use_max]);
 * smax is used when ncols == 11 (amsgrad). plain != 0: no clipping, maximize, L2 or decay (the row's scale,
 * l2 and decay are not applied). skip (nullable): nonzero leaves every tensor as it is.
 * Returns 0, or -1 when out of memory (nothing was changed then). */
#define ADABELIEF_KERNEL(NAME, T, SQRT)                                                                  \
  int NAME(int64_t n, T **p, T **g, T **m, T **s, T **smax, const int64_t *sizes, const T *coefs,       \
           int64_t ncols, const float *skip, int plain, int nthreads) {                                  \
    (void)nthreads;                                                                                      \
    if (skip != NULL && *skip != 0.0f) return 0;                                                         \
    int64_t *prefix = block_prefix(n, sizes);                                                            \
    if (prefix == NULL) return -1;                                                                       \
    const int amsgrad = ncols == 11;                                                                     \
    const int64_t nblocks = prefix[n];                                                                   \
    _Pragma("omp parallel for num_threads(nthreads) schedule(static) if(nblocks >= 4)") \
    for (int64_t b = 0; b < nblocks; ++b) {                                                              \
      int64_t i, lo, hi;                                                                                 \
      block_range(prefix, n, sizes, b, &i, &lo, &hi);                                                    \
      const T *row = coefs + i * ncols;                                                                  \
      const T scale = row[0], l2 = row[1], decay = row[2], beta2 = row[3], omb1 = row[4];                \
      const T w = row[5], eps = row[6], kk = row[7], cc = row[8], a = row[9];                            \
      const int use_max = amsgrad && row[10] != (T)0;                                                    \
      const T b1 = (T)1 - omb1;                                                                          \
      T *restrict pp = p[i], *restrict mm = m[i], *restrict sv = s[i];                                   \
      const T *restrict gg = g[i];                                                                       \
      T *restrict sx = amsgrad ? smax[i] : NULL;                                                         \
      for (int64_t k = lo; k < hi; ++k) {                                                                \
        T gk = gg[k], pk = pp[k];                                                                        \
        if (!plain) {                                                                                    \
          gk = gk * scale + l2 * pk;                          /* (c3), (1), (2) L2 */                    \
          pk = pk * decay;                                    /* (2) decoupled decay */                  \
        }                                                                                                \
        const T mk0 = mm[k];                                                                             \
        const T mk = mk0 * b1 + gk * omb1;                    /* (3) m <- b1 m + (1 - b1) g */           \
        const T r = gk - mk0;                                 /* (4) g - m_t = b1 (g - m_{t-1}) */       \
        const T sk = sv[k] * beta2 + r * (r * w) + eps;       /* (4) s, w = (1 - b2) b1^2, eps kept */   \
        mm[k] = mk;                                                                                      \
        sv[k] = sk;                                                                                      \
        T sd = sk;                                                                                       \
        if (amsgrad) {                                        /* (5) s_hat <- max(s_hat, s) */           \
          const T sm = sx[k];                                                                            \
          const T mx = (sm > sk || sm != sm) ? sm : sk;                                                  \
          sx[k] = mx;                                                                                    \
          if (use_max) sd = mx;                                                                          \
        }                                                                                                \
        pp[k] = pk - a * mk / (kk * SQRT(sd) + cc);           /* (6)-(8) p <- p - a m / (k sqrt(s) + c) */ \
      }                                                                                                  \
    }                                                                                                    \
    free(prefix);                                                                                        \
    return 0;                                                                                            \
  }

ADABELIEF_KERNEL(lossopt_adabelief_f32, float, sqrtf)
ADABELIEF_KERNEL(lossopt_adabelief_f64, double, sqrt)

/* Sum of squares of every element of every tensor, in double, into *out: (c1) of the global gradient
 * norm. Each block sums into LANES independent accumulators (so the compiler vectorizes it without
 * reassociating), blocks are added in block order: the result does not depend on the thread count.
 * Returns 0, or -1 when out of memory (*out untouched then). */
#define LANES 16
#define SUMSQ_KERNEL(NAME, T)                                                                            \
  int NAME(int64_t n, T **x, const int64_t *sizes, double *out, int nthreads) {                         \
    (void)nthreads;                                                                                      \
    int64_t *prefix = block_prefix(n, sizes);                                                            \
    if (prefix == NULL) return -1;                                                                       \
    const int64_t nblocks = prefix[n];                                                                   \
    double *partial = (double *)malloc((size_t)(nblocks > 0 ? nblocks : 1) * sizeof(double));           \
    if (partial == NULL) {                                                                               \
      free(prefix);                                                                                      \
      return -1;                                                                                         \
    }                                                                                                    \
    _Pragma("omp parallel for num_threads(nthreads) schedule(static) if(nblocks >= 4)")                 \
    for (int64_t b = 0; b < nblocks; ++b) {                                                              \
      int64_t i, lo, hi;                                                                                 \
      block_range(prefix, n, sizes, b, &i, &lo, &hi);                                                    \
      const T *restrict xx = x[i];                                                                       \
      double acc[LANES] = {0};                                                                           \
      int64_t k = lo;                                                                                    \
      for (; k + LANES <= hi; k += LANES)                                                                \
        for (int j = 0; j < LANES; ++j) acc[j] += (double)xx[k + j] * (double)xx[k + j];                 \
      double total = 0.0;                                                                                \
      for (; k < hi; ++k) total += (double)xx[k] * (double)xx[k];                                        \
      for (int j = 0; j < LANES; ++j) total += acc[j];                                                   \
      partial[b] = total;                                                                                \
    }                                                                                                    \
    double sum = 0.0;                                                                                    \
    for (int64_t b = 0; b < nblocks; ++b) sum += partial[b];                                             \
    *out = sum;                                                                                          \
    free(prefix);                                                                                        \
    free(partial);                                                                                       \
    return 0;                                                                                            \
  }

SUMSQ_KERNEL(lossopt_sumsq_f32, float)
SUMSQ_KERNEL(lossopt_sumsq_f64, double)

/* SGD with momentum, dampening, Nesterov and L2 decay, as torch.optim.SGD, the gradient multiplied by
 * *gmul (the clip coefficient times GradScaler's 1/S) and never written back. b (NULL without
 * momentum): the momentum buffers, seeded with the gradient when is_first_step. found_inf (nullable):
 * nonzero skips the whole call. Returns 0, or -1 when out of memory (nothing was changed then). */
#define SGD_KERNEL(NAME, T)                                                                              \
  int NAME(int64_t n, T **p, T **g, T **b, const int64_t *sizes, const double *lr_ptr, double momentum, \
           double dampening, double weight_decay, int nesterov, int maximize, int is_first_step,          \
           const double *gmul_ptr, const float *found_inf, int nthreads) {                               \
    (void)nthreads;                                                                                      \
    if (found_inf != NULL && *found_inf != 0.0f) return 0;                                               \
    int64_t *prefix = block_prefix(n, sizes);                                                            \
    if (prefix == NULL) return -1;                                                                       \
    const T gmul = (T)((gmul_ptr != NULL ? *gmul_ptr : 1.0) * (maximize ? -1.0 : 1.0)); /* (c3), (1) */ \
    const T lr = (T)*lr_ptr, wd = (T)weight_decay, mom = (T)momentum, omd = (T)(1.0 - dampening);       \
    const int apply_wd = weight_decay != 0.0, has_momentum = b != NULL && momentum != 0.0;              \
    const int64_t nblocks = prefix[n];                                                                   \
    _Pragma("omp parallel for num_threads(nthreads) schedule(static) if(nblocks >= 4)")                 \
    for (int64_t blk = 0; blk < nblocks; ++blk) {                                                        \
      int64_t i, lo, hi;                                                                                 \
      block_range(prefix, n, sizes, blk, &i, &lo, &hi);                                                  \
      T *restrict pp = p[i];                                                                             \
      const T *restrict gg = g[i];                                                                       \
      T *restrict bb = has_momentum ? b[i] : NULL;                                                       \
      for (int64_t k = lo; k < hi; ++k) {                                                                \
        T gk = gg[k] * gmul;                                  /* (c3) kappa g, (1) -g with maximize */   \
        if (apply_wd) gk = gk + wd * pp[k];                   /* (2) g + wd p */                         \
        if (has_momentum) {                                                                              \
          const T bk = is_first_step ? gk : bb[k] * mom + omd * gk; /* (3) b <- mu b + (1 - tau) g */    \
          bb[k] = bk;                                                                                    \
          gk = nesterov ? gk + mom * bk : bk;                 /* (4) Nesterov: g + mu b; else b */       \
        }                                                                                                \
        pp[k] = pp[k] - lr * gk;                              /* (5) p <- p - lr g */                    \
      }                                                                                                  \
    }                                                                                                    \
    free(prefix);                                                                                        \
    return 0;                                                                                            \
  }

SGD_KERNEL(lossopt_sgd_f32, float)
SGD_KERNEL(lossopt_sgd_f64, double)
