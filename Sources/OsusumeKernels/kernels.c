// Runtime-dispatched vector kernels: see include/OsusumeKernels.h.
#include "OsusumeKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void (*exp_k)(const float *, float *, long);
    void (*log_k)(const float *, float *, long);
    void (*tanh_k)(const float *, float *, long);
    void (*sigmoid_k)(const float *, float *, long);
    void (*gelu_k)(const float *, float *, long);
    void (*silu_k)(const float *, float *, long);
    void (*softplus_k)(const float *, float *, long);
    void (*gelu_backward_k)(const float *, const float *, float *, long);
    void (*silu_backward_k)(const float *, const float *, float *, long);
    void (*softmax_rows_k)(const float *, float *, long, long);
    void (*log_softmax_rows_k)(const float *, float *, long, long);
    void (*softmax_backward_rows_k)(const float *, const float *, float *, long, long);
    void (*log_softmax_backward_rows_k)(const float *, const float *, float *, long, long);
    void (*layer_norm_forward_k)(const float *, const float *, const float *, float *, float *, float *, long, long, float);
    void (*layer_norm_backward_k)(const float *, const float *, const float *, const float *, const float *, float *, float *, float *, long, long, int);
    double (*softmax_xent_rows_k)(float *, long, long, long, const int32_t *, int32_t, float, float, int, long *);
    void (*attention_softmax_k)(float *, long, long, long, long, int, const uint8_t *, float);
    void (*attention_softmax_backward_k)(const float *, float *, long, long, long, float);
    void (*adamw_k)(float *, const float *, float *, float *, long, float, float, float, float, float, float, float);
    double (*sum_squares_k)(const float *, long);
    void (*sparse_gather_axpy_k)(const float *, const int32_t *, long, const float *, long, float *, long);
    void (*dropout_k)(const float *, const float *, float *, uint8_t *, long, uint64_t, uint32_t, uint32_t, uint32_t, float, int);
    void (*dropout_backward_k)(const float *, const uint8_t *, float *, long, float);
    void (*als_cg_k)(float *, const float *, const float *, const int32_t *, const float *, long, float, long, long, float *);
    int (*bpr_step_k)(float *, float *, float *, long, float, float, int);
    void (*sparse_gather_axpy_f16_k)(const float *, const int32_t *, long, const uint16_t *, long, float *, long);
} osk_table;

#define SUFFIX _portable
#define VW 4
#define TARGET_ATTR
#include "kernel_body.h"
#undef SUFFIX
#undef VW
#undef TARGET_ATTR

#if defined(__x86_64__)
#define SUFFIX _avx2
#define VW 8
#define TARGET_ATTR __attribute__((target("avx2,fma,f16c,bmi2")))
#include "kernel_body.h"
#undef SUFFIX
#undef VW
#undef TARGET_ATTR

#define SUFFIX _avx512
#define VW 16
#define TARGET_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi2")))
#include "kernel_body.h"
#undef SUFFIX
#undef VW
#undef TARGET_ATTR
#endif

static int cpu_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
#endif
    return 0;
}

static const osk_table *table_for(int level) {
#if defined(__x86_64__)
    if (level >= 3) return &table_avx512;
    if (level >= 2) return &table_avx2;
#endif
    (void)level;
    return &table_portable;
}

static int active_level = -1;
static const osk_table *active = &table_portable;

int osk_set_simd_level(int level) {
    int cap = cpu_level();
    if (level > cap) level = cap;
    if (level == 1) level = 0;
    active = table_for(level);
    __atomic_store_n(&active_level, level, __ATOMIC_RELEASE);
    return level;
}

__attribute__((constructor)) static void osk_init(void) {
    int level = cpu_level();
    const char *want = getenv("OSUSUME_SIMD");
    if (want) {
        if (!strcmp(want, "portable")) level = 0;
        else if (!strcmp(want, "avx2") && level >= 2) level = 2;
        else if (!strcmp(want, "avx512") && level >= 3) level = 3;
    }
    active = table_for(level);
    active_level = level;
}

int osk_simd_level(void) { return __atomic_load_n(&active_level, __ATOMIC_ACQUIRE); }

void osk_exp(const float *x, float *y, long n) { active->exp_k(x, y, n); }
void osk_log(const float *x, float *y, long n) { active->log_k(x, y, n); }
void osk_tanh(const float *x, float *y, long n) { active->tanh_k(x, y, n); }
void osk_sigmoid(const float *x, float *y, long n) { active->sigmoid_k(x, y, n); }
void osk_gelu(const float *x, float *y, long n) { active->gelu_k(x, y, n); }
void osk_silu(const float *x, float *y, long n) { active->silu_k(x, y, n); }
void osk_softplus(const float *x, float *y, long n) { active->softplus_k(x, y, n); }
void osk_gelu_backward(const float *x, const float *dy, float *dx, long n) { active->gelu_backward_k(x, dy, dx, n); }
void osk_silu_backward(const float *x, const float *dy, float *dx, long n) { active->silu_backward_k(x, dy, dx, n); }
void osk_softmax_rows(const float *x, float *y, long rows, long cols) { active->softmax_rows_k(x, y, rows, cols); }
void osk_log_softmax_rows(const float *x, float *y, long rows, long cols) { active->log_softmax_rows_k(x, y, rows, cols); }
void osk_softmax_backward_rows(const float *y, const float *dy, float *dx, long rows, long cols) { active->softmax_backward_rows_k(y, dy, dx, rows, cols); }
void osk_log_softmax_backward_rows(const float *y, const float *dy, float *dx, long rows, long cols) { active->log_softmax_backward_rows_k(y, dy, dx, rows, cols); }
void osk_layer_norm_forward(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, long rows, long cols, float eps) {
    active->layer_norm_forward_k(x, gamma, beta, y, mean, rstd, rows, cols, eps);
}
void osk_layer_norm_backward(const float *x, const float *gamma, const float *mean, const float *rstd, const float *dy, float *dx, float *dgamma, float *dbeta, long rows, long cols, int accumulate) {
    active->layer_norm_backward_k(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, cols, accumulate);
}
double osk_softmax_xent_rows(float *logits, long rows, long cols, long ld, const int32_t *targets, int32_t ignore_index, float smoothing, float grad_scale, int write_grad, long *counted) {
    return active->softmax_xent_rows_k(logits, rows, cols, ld, targets, ignore_index, smoothing, grad_scale, write_grad, counted);
}
void osk_attention_softmax(float *s, long rows, long cols, long ld, long row0, int causal, const uint8_t *key_keep, float scale) {
    active->attention_softmax_k(s, rows, cols, ld, row0, causal, key_keep, scale);
}
void osk_attention_softmax_backward(const float *p, float *dp, long rows, long cols, long ld, float scale) {
    active->attention_softmax_backward_k(p, dp, rows, cols, ld, scale);
}
void osk_adamw(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2, float eps, float weight_decay, float bc1, float bc2) {
    active->adamw_k(p, g, m, v, n, lr, beta1, beta2, eps, weight_decay, bc1, bc2);
}
double osk_sum_squares(const float *x, long n) { return active->sum_squares_k(x, n); }
void osk_sparse_gather_axpy(const float *vals, const int32_t *idx, long n, const float *table, long ld, float *y, long w) {
    active->sparse_gather_axpy_k(vals, idx, n, table, ld, y, w);
}
void osk_dropout(const float *x, const float *residual, float *y, uint8_t *mask, long n, uint64_t offset,
                 uint32_t k0, uint32_t k1, uint32_t threshold, float scale, int relu) {
    active->dropout_k(x, residual, y, mask, n, offset, k0, k1, threshold, scale, relu);
}
void osk_dropout_backward(const float *dy, const uint8_t *mask, float *dx, long n, float scale) {
    active->dropout_backward_k(dy, mask, dx, n, scale);
}
void osk_als_cg(float *x, const float *gram, const float *other, const int32_t *items, const float *values,
                long count, float alpha, long factors, long steps, float *scratch) {
    active->als_cg_k(x, gram, other, items, values, count, alpha, factors, steps, scratch);
}
int osk_bpr_step(float *w, float *hi, float *hj, long factors, float lr, float reg, int update_items) {
    return active->bpr_step_k(w, hi, hj, factors, lr, reg, update_items);
}
void osk_sparse_gather_axpy_f16(const float *vals, const int32_t *idx, long n, const uint16_t *table, long ld, float *y, long w) {
    active->sparse_gather_axpy_f16_k(vals, idx, n, table, ld, y, w);
}
