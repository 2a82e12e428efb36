// Vectorised float kernels for the tensor engine. Each kernel is compiled several times (AVX-512,
// AVX2+FMA, and the portable baseline) with per-function target attributes, and the widest one the
// CPU supports is chosen once at run time, so the binary runs on any x86-64 machine (and on arm64,
// where only the portable variant exists). No compiler flags are needed.
#ifndef OSUSUME_KERNELS_H
#define OSUSUME_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The variant in use: 0 portable, 2 AVX2+FMA, 3 AVX-512. Honours OSUSUME_SIMD=portable|avx2|avx512.
int osk_simd_level(void);
/// Overrides the variant (for measurements); returns the level actually set (capped by the CPU).
int osk_set_simd_level(int level);

// Elementwise maps, y may alias x.
void osk_exp(const float *x, float *y, long n);
void osk_log(const float *x, float *y, long n);
void osk_tanh(const float *x, float *y, long n);
void osk_sigmoid(const float *x, float *y, long n);
void osk_gelu(const float *x, float *y, long n);
void osk_silu(const float *x, float *y, long n);
/// dx = dy · gelu'(x) (exact, erf-based GELU).
void osk_gelu_backward(const float *x, const float *dy, float *dx, long n);
/// dx = dy · silu'(x).
void osk_silu_backward(const float *x, const float *dy, float *dx, long n);
/// y[i] = log(1 + exp(x[i])), stable for large |x|.
void osk_softplus(const float *x, float *y, long n);

// Row-wise softmax family over `rows` rows of `cols` contiguous values.
void osk_softmax_rows(const float *x, float *y, long rows, long cols);
void osk_log_softmax_rows(const float *x, float *y, long rows, long cols);
/// dx = y ⊙ (dy − Σ dy ⊙ y) per row.
void osk_softmax_backward_rows(const float *y, const float *dy, float *dx, long rows, long cols);
/// dx = dy − softmax ⊙ Σ dy per row, with y the log-softmax output.
void osk_log_softmax_backward_rows(const float *y, const float *dy, float *dx, long rows, long cols);

/// Layer norm over rows of `cols` values: y = (x − mean) · rstd · gamma + beta; stores mean and rstd.
void osk_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *y,
                            float *mean, float *rstd, long rows, long cols, float eps);
/// dx (overwritten, or added to when accumulate is non-zero; NULL: not computed) and dgamma/dbeta
/// (accumulated) from dy. gamma may be NULL (all ones).
void osk_layer_norm_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                             const float *dy, float *dx, float *dgamma, float *dbeta, long rows, long cols,
                             int accumulate);

/// Softmax cross-entropy over `rows` rows of logits (row stride `ld`) against `targets`, with label
/// smoothing. Returns the summed loss of the rows whose target is not `ignore_index`, and adds
/// their count to *counted. When write_grad is non-zero the logits are overwritten by
/// grad_scale · (softmax − smoothed one-hot) (zero rows for ignored targets).
double osk_softmax_xent_rows(float *logits, long rows, long cols, long ld, const int32_t *targets,
                             int32_t ignore_index, float smoothing, float grad_scale, int write_grad,
                             long *counted);

/// Attention probabilities in place: s (rows × cols, row stride ld) holds raw scores for query
/// rows row0..<row0+rows; masked entries (causal: key > query; key_keep[key] == 0) become 0, the
/// rest a softmax of scale · s. Rows with every key masked become all zero.
void osk_attention_softmax(float *s, long rows, long cols, long ld, long row0, int causal,
                           const uint8_t *key_keep, float scale);
/// In place: dp (the gradient w.r.t. probabilities) becomes scale · p ⊙ (dp − Σ dp ⊙ p), the
/// gradient w.r.t. raw scores.
void osk_attention_softmax_backward(const float *p, float *dp, long rows, long cols, long ld, float scale);

/// AdamW step over n values (weight_decay = 0 gives Adam): decoupled decay, bias corrections
/// bc1 = 1 − β1ᵗ, bc2 = 1 − β2ᵗ.
void osk_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
               float beta2, float eps, float weight_decay, float bc1, float bc2);

/// Σ x[i]² in double precision.
double osk_sum_squares(const float *x, long n);
/// y[0..w) += Σ_p vals[p] · table[idx[p]·ld + (0..w)] (a sparse row times the rows of a dense matrix).
void osk_sparse_gather_axpy(const float *vals, const int32_t *idx, long n, const float *table, long ld, float *y, long w);

/// Dropout: y = [residual +] x ⊙ keep / (1 − p), keep (0/1) stored in mask. Element i keeps its
/// value when a hash of (offset + i, k0, k1) has its top 24 bits ≥ threshold (p · 2²⁴): the mask
/// is a function of the keys and the index alone. residual may be NULL. relu (only without a
/// residual) also drops x ≤ 0: dropout(relu(x)).
void osk_dropout(const float *x, const float *residual, float *y, uint8_t *mask, long n, uint64_t offset,
                 uint32_t k0, uint32_t k1, uint32_t threshold, float scale, int relu);
/// dx = dy ⊙ mask · scale.
void osk_dropout_backward(const float *dy, const uint8_t *mask, float *dx, long n, float scale);
/// Implicit ALS, one row: `steps` conjugate-gradient steps on (G + Σₑ (cₑ − 1) yₑyₑᵀ) x = Σₑ cₑ yₑ
/// from the current x, with G the f×f gram (YᵀY + λI), yₑ row items[e] of `other` (f floats each)
/// and cₑ = 1 + alpha·values[e]; `scratch` holds 3·f floats.
void osk_als_cg(float *x, const float *gram, const float *other, const int32_t *items, const float *values,
                long count, float alpha, long factors, long steps, float *scratch);
/// One BPR-MF SGD step on user w (f floats) and item rows hi, hj (f + 1 floats, bias last); the
/// items are left alone when update_items is 0. Returns 1 when hi already ranked above hj.
int osk_bpr_step(float *w, float *hi, float *hj, long factors, float lr, float reg, int update_items);
/// osk_sparse_gather_axpy over a table of float16 rows (IEEE half bits).
void osk_sparse_gather_axpy_f16(const float *vals, const int32_t *idx, long n, const uint16_t *table, long ld, float *y, long w);
#ifdef __cplusplus
}
#endif
#endif
