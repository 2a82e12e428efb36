// The body of every kernel, included once per instruction-set variant by kernels.c with SUFFIX
// (name suffix), VW (floats per vector) and TARGET_ATTR (target attribute) defined. Written with
// portable vector extensions so that one text serves AVX-512, AVX2 and the baseline.

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define F(name) CAT(name, SUFFIX)
#define VF F(vf_)
#define VI F(vi_)
#define VFU F(vfu_)
#define ATTR static inline __attribute__((always_inline)) TARGET_ATTR
#define KATTR static TARGET_ATTR

typedef float VF __attribute__((vector_size(VW * 4)));
typedef int32_t VI __attribute__((vector_size(VW * 4)));
typedef float VFU __attribute__((vector_size(VW * 4), aligned(4)));

ATTR VF F(load)(const float *p) { return *(const VFU *)p; }
ATTR void F(store)(float *p, VF v) { *(VFU *)p = v; }
ATTR VF F(splat)(float x) { VF v = {0}; return v + x; }
ATTR VF F(load_part)(const float *p, long n, float fill) {
    VF v = F(splat)(fill);
    for (long i = 0; i < n; i++) v[i] = p[i];
    return v;
}
ATTR void F(store_part)(float *p, VF v, long n) { for (long i = 0; i < n; i++) p[i] = v[i]; }
ATTR VF F(select)(VI mask, VF a, VF b) { return (VF)(((VI)a & mask) | ((VI)b & ~mask)); }
ATTR float F(hsum)(VF v) { float s = 0; for (int i = 0; i < VW; i++) s += v[i]; return s; }
ATTR float F(hmax)(VF v) { float s = v[0]; for (int i = 1; i < VW; i++) s = v[i] > s ? v[i] : s; return s; }
ATTR VF F(vmax)(VF a, VF b) { return __builtin_elementwise_max(a, b); }
ATTR VF F(vmin)(VF a, VF b) { return __builtin_elementwise_min(a, b); }

// exp (Cephes polynomial, relative error ~2 ulp), inputs clamped to [-87.3, 88].
ATTR VF F(vexp)(VF x) {
    x = F(vmin)(x, F(splat)(88.0f));
    x = F(vmax)(x, F(splat)(-87.33654f));
    VF fx = __builtin_elementwise_floor(x * 1.44269504088896341f + 0.5f);
    x = x - fx * 0.693359375f;
    x = x - fx * -2.12194440e-4f;
    VF z = x * x;
    VF y = F(splat)(1.9875691500E-4f);
    y = y * x + 1.3981999507E-3f;
    y = y * x + 8.3334519073E-3f;
    y = y * x + 4.1665795894E-2f;
    y = y * x + 1.6666665459E-1f;
    y = y * x + 5.0000001201E-1f;
    y = y * z + x + 1.0f;
    VI n = __builtin_convertvector(fx, VI);
    n = (n + 127) << 23;
    return y * (VF)n;
}

// Natural log (Cephes); 0 → −inf, negative → NaN, +inf → +inf; subnormals are read as FLT_MIN.
ATTR VF F(vlog)(VF x0) {
    VF x = F(vmax)(x0, F(splat)(1.17549435e-38f));
    VI bits = (VI)x;
    VI e = ((bits >> 23) & 0xff) - 126;
    VF m = (VF)((bits & 0x007fffff) | 0x3f000000);
    VI small = m < 0.707106781186547524f;
    e = e + small;                      // small is −1 where true
    VF xm = F(select)(small, m + m - 1.0f, m - 1.0f);
    VF z = xm * xm;
    VF y = F(splat)(7.0376836292E-2f);
    y = y * xm - 1.1514610310E-1f;
    y = y * xm + 1.1676998740E-1f;
    y = y * xm - 1.2420140846E-1f;
    y = y * xm + 1.4249322787E-1f;
    y = y * xm - 1.6668057665E-1f;
    y = y * xm + 2.0000714765E-1f;
    y = y * xm - 2.4999993993E-1f;
    y = y * xm + 3.3333331174E-1f;
    y = y * xm * z;
    VF fe = __builtin_convertvector(e, VF);
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    VF r = xm + y + fe * 0.693359375f;
    r = F(select)(x0 == 0.0f, F(splat)(-__builtin_inff()), r);
    r = F(select)(x0 < 0.0f, F(splat)(__builtin_nanf("")), r);
    r = F(select)(x0 == __builtin_inff(), F(splat)(__builtin_inff()), r);
    r = F(select)(x0 != x0, x0, r);
    return r;
}

ATTR VF F(vtanh)(VF x) {
    VF a = __builtin_elementwise_abs(x);
    VF z = x * x;
    VF p = F(splat)(-5.70498872745E-3f);
    p = p * z + 2.06390887954E-2f;
    p = p * z - 5.37397155531E-2f;
    p = p * z + 1.33314422036E-1f;
    p = p * z - 3.33332819422E-1f;
    VF smallv = p * z * x + x;
    VF e = F(vexp)(a + a);
    VF big = 1.0f - 2.0f / (e + 1.0f);
    big = F(select)(x < 0.0f, -big, big);
    return F(select)(a < 0.625f, smallv, big);
}

ATTR VF F(vsigmoid)(VF x) { return 1.0f / (1.0f + F(vexp)(-x)); }

// erf by Abramowitz–Stegun 7.1.26 (absolute error ≤ 1.5e-7).
ATTR VF F(verf)(VF x) {
    VF a = __builtin_elementwise_abs(x);
    VF t = 1.0f / (1.0f + 0.3275911f * a);
    VF p = F(splat)(1.061405429f);
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    p = p * t;
    VF r = 1.0f - p * F(vexp)(-a * a);
    return F(select)(x < 0.0f, -r, r);
}

ATTR VF F(vgelu)(VF x) { return 0.5f * x * (1.0f + F(verf)(x * 0.70710678118654752f)); }
ATTR VF F(vgelu_grad)(VF x) {
    VF cdf = 0.5f * (1.0f + F(verf)(x * 0.70710678118654752f));
    VF pdf = F(vexp)(-0.5f * x * x) * 0.39894228040143268f;
    return cdf + x * pdf;
}

#define MAP_KERNEL(name, expr)                                                   \
    KATTR void F(name)(const float *x, float *y, long n) {                      \
        long i = 0;                                                              \
        for (; i + VW <= n; i += VW) { VF v = F(load)(x + i); F(store)(y + i, (expr)); } \
        if (i < n) { VF v = F(load_part)(x + i, n - i, 0.0f); F(store_part)(y + i, (expr), n - i); } \
    }

MAP_KERNEL(exp_k, F(vexp)(v))
MAP_KERNEL(log_k, F(vlog)(v))
MAP_KERNEL(tanh_k, F(vtanh)(v))
MAP_KERNEL(sigmoid_k, F(vsigmoid)(v))
MAP_KERNEL(gelu_k, F(vgelu)(v))
MAP_KERNEL(silu_k, v * F(vsigmoid)(v))

ATTR VF F(vsoftplus)(VF v) {
    VF u = F(vexp)(-__builtin_elementwise_abs(v));
    VF w = 1.0f + u;
    VF l = F(vlog)(w);
    VF d = w - 1.0f;
    VF lp = F(select)(d == 0.0f, u, l * u / F(select)(d == 0.0f, F(splat)(1.0f), d));
    return F(vmax)(v, F(splat)(0.0f)) + lp;
}
MAP_KERNEL(softplus_k, F(vsoftplus)(v))

#define GRAD_KERNEL(name, expr)                                                  \
    KATTR void F(name)(const float *x, const float *dy, float *dx, long n) {    \
        long i = 0;                                                              \
        for (; i + VW <= n; i += VW) { VF v = F(load)(x + i); VF d = F(load)(dy + i); F(store)(dx + i, (expr)); } \
        if (i < n) { VF v = F(load_part)(x + i, n - i, 0.0f); VF d = F(load_part)(dy + i, n - i, 0.0f); F(store_part)(dx + i, (expr), n - i); } \
    }

GRAD_KERNEL(gelu_backward_k, d * F(vgelu_grad)(v))
ATTR VF F(vsilu_grad)(VF v) { VF s = F(vsigmoid)(v); return s * (1.0f + v * (1.0f - s)); }
GRAD_KERNEL(silu_backward_k, d * F(vsilu_grad)(v))

// MARK: row reductions

ATTR float F(row_max)(const float *x, long n) {
    VF m = F(splat)(-__builtin_inff());
    long i = 0;
    for (; i + VW <= n; i += VW) m = F(vmax)(m, F(load)(x + i));
    if (i < n) m = F(vmax)(m, F(load_part)(x + i, n - i, -__builtin_inff()));
    return F(hmax)(m);
}

// y = exp(x − shift); returns Σ y. y may alias x.
ATTR float F(row_exp_sum)(const float *x, float *y, long n, float shift) {
    VF s = F(splat)(0.0f), sh = F(splat)(shift);
    long i = 0;
    for (; i + VW <= n; i += VW) { VF e = F(vexp)(F(load)(x + i) - sh); F(store)(y + i, e); s += e; }
    if (i < n) {
        VF e = F(vexp)(F(load_part)(x + i, n - i, 0.0f) - sh);
        F(store_part)(y + i, e, n - i);
        for (long j = 0; j < n - i; j++) s[j] += e[j];
    }
    return F(hsum)(s);
}

ATTR float F(row_sum)(const float *x, long n) {
    VF s = F(splat)(0.0f);
    long i = 0;
    for (; i + VW <= n; i += VW) s += F(load)(x + i);
    if (i < n) s += F(load_part)(x + i, n - i, 0.0f);
    return F(hsum)(s);
}

ATTR float F(row_dot)(const float *x, const float *y, long n) {
    VF s = F(splat)(0.0f);
    long i = 0;
    for (; i + VW <= n; i += VW) s += F(load)(x + i) * F(load)(y + i);
    if (i < n) s += F(load_part)(x + i, n - i, 0.0f) * F(load_part)(y + i, n - i, 0.0f);
    return F(hsum)(s);
}

ATTR void F(row_scale)(float *y, long n, float a) {
    long i = 0;
    for (; i + VW <= n; i += VW) F(store)(y + i, F(load)(y + i) * a);
    for (; i < n; i++) y[i] *= a;
}

KATTR void F(softmax_rows_k)(const float *x, float *y, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * cols; float *yr = y + r * cols;
        float m = F(row_max)(xr, cols);
        float s = F(row_exp_sum)(xr, yr, cols, m);
        F(row_scale)(yr, cols, 1.0f / s);
    }
}

KATTR void F(log_softmax_rows_k)(const float *x, float *y, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * cols; float *yr = y + r * cols;
        float m = F(row_max)(xr, cols);
        // Σ exp(x − m) without storing: reuse y as scratch, then overwrite.
        float s = F(row_exp_sum)(xr, yr, cols, m);
        VF shift = F(splat)(m + logf(s));
        long i = 0;
        for (; i + VW <= cols; i += VW) F(store)(yr + i, F(load)(xr + i) - shift);
        for (; i < cols; i++) yr[i] = xr[i] - shift[0];
    }
}

KATTR void F(softmax_backward_rows_k)(const float *y, const float *dy, float *dx, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dr = dy + r * cols; float *xr = dx + r * cols;
        VF dot = F(splat)(F(row_dot)(yr, dr, cols));
        long i = 0;
        for (; i + VW <= cols; i += VW) F(store)(xr + i, F(load)(yr + i) * (F(load)(dr + i) - dot));
        for (; i < cols; i++) xr[i] = yr[i] * (dr[i] - dot[0]);
    }
}

KATTR void F(log_softmax_backward_rows_k)(const float *y, const float *dy, float *dx, long rows, long cols) {
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * cols, *dr = dy + r * cols; float *xr = dx + r * cols;
        VF s = F(splat)(F(row_sum)(dr, cols));
        long i = 0;
        for (; i + VW <= cols; i += VW) F(store)(xr + i, F(load)(dr + i) - F(vexp)(F(load)(yr + i)) * s);
        if (i < cols) {
            VF v = F(load_part)(dr + i, cols - i, 0.0f) - F(vexp)(F(load_part)(yr + i, cols - i, 0.0f)) * s;
            F(store_part)(xr + i, v, cols - i);
        }
    }
}

// MARK: layer norm

KATTR void F(layer_norm_forward_k)(const float *x, const float *gamma, const float *beta, float *y,
                                    float *mean, float *rstd, long rows, long cols, float eps) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * cols; float *yr = y + r * cols;
        float mu = F(row_sum)(xr, cols) / (float)cols;
        VF vmu = F(splat)(mu), acc = F(splat)(0.0f);
        long i = 0;
        for (; i + VW <= cols; i += VW) { VF d = F(load)(xr + i) - vmu; acc += d * d; }
        float var = F(hsum)(acc);
        for (; i < cols; i++) { float d = xr[i] - mu; var += d * d; }
        float rs = 1.0f / sqrtf(var / (float)cols + eps);
        mean[r] = mu; rstd[r] = rs;
        VF vrs = F(splat)(rs);
        i = 0;
        for (; i + VW <= cols; i += VW) {
            VF h = (F(load)(xr + i) - vmu) * vrs;
            if (gamma) h = h * F(load)(gamma + i);
            if (beta) h = h + F(load)(beta + i);
            F(store)(yr + i, h);
        }
        for (; i < cols; i++) {
            float h = (xr[i] - mu) * rs;
            if (gamma) h *= gamma[i];
            if (beta) h += beta[i];
            yr[i] = h;
        }
    }
}

KATTR void F(layer_norm_backward_k)(const float *x, const float *gamma, const float *mean, const float *rstd,
                                     const float *dy, float *dx, float *dgamma, float *dbeta, long rows, long cols,
                                     int accumulate) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *dr = dy + r * cols; float *xo = dx ? dx + r * cols : 0;
        VF vmu = F(splat)(mean[r]), vrs = F(splat)(rstd[r]);
        VF sa = F(splat)(0.0f), sb = F(splat)(0.0f);
        long i = 0;
        for (; i + VW <= cols; i += VW) {
            VF xh = (F(load)(xr + i) - vmu) * vrs;
            VF d = F(load)(dr + i);
            VF g = gamma ? d * F(load)(gamma + i) : d;
            sa += g; sb += g * xh;
            if (dgamma) F(store)(dgamma + i, F(load)(dgamma + i) + d * xh);
            if (dbeta) F(store)(dbeta + i, F(load)(dbeta + i) + d);
        }
        float a = F(hsum)(sa), b = F(hsum)(sb);
        for (; i < cols; i++) {
            float xh = (xr[i] - mean[r]) * rstd[r];
            float g = gamma ? dr[i] * gamma[i] : dr[i];
            a += g; b += g * xh;
            if (dgamma) dgamma[i] += dr[i] * xh;
            if (dbeta) dbeta[i] += dr[i];
        }
        if (!dx) continue;
        a /= (float)cols; b /= (float)cols;
        VF va = F(splat)(a), vb = F(splat)(b);
        i = 0;
        for (; i + VW <= cols; i += VW) {
            VF xh = (F(load)(xr + i) - vmu) * vrs;
            VF d = F(load)(dr + i);
            VF g = gamma ? d * F(load)(gamma + i) : d;
            VF v = vrs * (g - va - xh * vb);
            F(store)(xo + i, accumulate ? F(load)(xo + i) + v : v);
        }
        for (; i < cols; i++) {
            float xh = (xr[i] - mean[r]) * rstd[r];
            float g = gamma ? dr[i] * gamma[i] : dr[i];
            float v = rstd[r] * (g - a - xh * b);
            xo[i] = accumulate ? xo[i] + v : v;
        }
    }
}

// MARK: softmax cross-entropy

KATTR double F(softmax_xent_rows_k)(float *logits, long rows, long cols, long ld, const int32_t *targets,
                                     int32_t ignore_index, float smoothing, float grad_scale, int write_grad,
                                     long *counted) {
    double total = 0;
    long n = 0;
    float off = smoothing / (float)cols;
    for (long r = 0; r < rows; r++) {
        float *x = logits + r * ld;
        int32_t t = targets[r];
        if (t == ignore_index || t < 0 || t >= cols) {
            if (write_grad) for (long j = 0; j < cols; j++) x[j] = 0;
            continue;
        }
        n++;
        float m = F(row_max)(x, cols);
        float xs = smoothing != 0 ? F(row_sum)(x, cols) : 0;
        float xt = x[t];
        float s;
        if (write_grad) s = F(row_exp_sum)(x, x, cols, m);
        else {
            VF acc = F(splat)(0.0f), sh = F(splat)(m);
            long i = 0;
            for (; i + VW <= cols; i += VW) acc += F(vexp)(F(load)(x + i) - sh);
            float tail = 0;
            for (; i < cols; i++) { VF e = F(vexp)(F(splat)(x[i] - m)); tail += e[0]; }
            s = F(hsum)(acc) + tail;
        }
        float lse = m + logf(s);
        total += (double)(lse - (1.0f - smoothing) * xt - off * xs);
        if (write_grad) {
            float a = grad_scale / s;
            VF va = F(splat)(a), vo = F(splat)(off * grad_scale);
            long i = 0;
            for (; i + VW <= cols; i += VW) F(store)(x + i, F(load)(x + i) * va - vo);
            for (; i < cols; i++) x[i] = x[i] * a - off * grad_scale;
            x[t] -= (1.0f - smoothing) * grad_scale;
        }
    }
    if (counted) *counted += n;
    return total;
}

// MARK: attention

KATTR void F(attention_softmax_k)(float *s, long rows, long cols, long ld, long row0, int causal,
                                   const uint8_t *key_keep, float scale) {
    for (long r = 0; r < rows; r++) {
        float *x = s + r * ld;
        long limit = causal ? (row0 + r + 1 < cols ? row0 + r + 1 : cols) : cols;
        if (scale != 1.0f) F(row_scale)(x, limit, scale);
        if (key_keep) for (long j = 0; j < limit; j++) if (!key_keep[j]) x[j] = -__builtin_inff();
        float m = F(row_max)(x, limit);
        if (m == -__builtin_inff()) { for (long j = 0; j < cols; j++) x[j] = 0; continue; }
        float sum = F(row_exp_sum)(x, x, limit, m);
        F(row_scale)(x, limit, 1.0f / sum);
        if (key_keep) for (long j = 0; j < limit; j++) if (!key_keep[j]) x[j] = 0;
        for (long j = limit; j < cols; j++) x[j] = 0;
    }
}

KATTR void F(attention_softmax_backward_k)(const float *p, float *dp, long rows, long cols, long ld, float scale) {
    for (long r = 0; r < rows; r++) {
        const float *pr = p + r * ld; float *d = dp + r * ld;
        VF dot = F(splat)(F(row_dot)(pr, d, cols));
        long i = 0;
        for (; i + VW <= cols; i += VW) F(store)(d + i, F(load)(pr + i) * (F(load)(d + i) - dot) * scale);
        for (; i < cols; i++) d[i] = pr[i] * (d[i] - dot[0]) * scale;
    }
}

// MARK: optimizer

KATTR void F(adamw_k)(float *p, const float *g, float *m, float *v, long n, float lr, float beta1,
                       float beta2, float eps, float weight_decay, float bc1, float bc2) {
    float decay = 1.0f - lr * weight_decay;
    float step = lr / bc1;
    float rbc2 = 1.0f / sqrtf(bc2);
    long i = 0;
    for (; i + VW <= n; i += VW) {
        VF gi = F(load)(g + i);
        VF mi = F(load)(m + i) * beta1 + gi * (1.0f - beta1);
        VF vi = F(load)(v + i) * beta2 + gi * gi * (1.0f - beta2);
        F(store)(m + i, mi); F(store)(v + i, vi);
        VF denom = __builtin_elementwise_sqrt(vi) * rbc2 + eps;
        F(store)(p + i, F(load)(p + i) * decay - step * mi / denom);
    }
    for (; i < n; i++) {
        float gi = g[i];
        float mi = m[i] * beta1 + gi * (1.0f - beta1);
        float vi = v[i] * beta2 + gi * gi * (1.0f - beta2);
        m[i] = mi; v[i] = vi;
        p[i] = p[i] * decay - step * mi / (sqrtf(vi) * rbc2 + eps);
    }
}

KATTR double F(sum_squares_k)(const float *x, long n) {
    double total = 0;
    long i = 0;
    while (i < n) {
        long end = i + 4096 < n ? i + 4096 : n;
        VF s = F(splat)(0.0f);
        for (; i + VW <= end; i += VW) { VF v = F(load)(x + i); s += v * v; }
        float t = F(hsum)(s);
        for (; i < end; i++) t += x[i] * x[i];
        total += t;
    }
    return total;
}

// y[0..w) += Σ_p vals[p] · table[idx[p]·ld + (0..w)]: the gather-accumulate of a sparse row
// against a dense matrix's rows; up to four vectors of y stay in registers across the entries.
KATTR void F(sparse_gather_axpy_k)(const float *vals, const int32_t *idx, long n, const float *table,
                                   long ld, float *y, long w) {
    long j = 0;
    for (; j + 4 * VW <= w; j += 4 * VW) {
        VF a0 = F(load)(y + j), a1 = F(load)(y + j + VW), a2 = F(load)(y + j + 2 * VW), a3 = F(load)(y + j + 3 * VW);
        for (long p = 0; p < n; p++) {
            const float *row = table + (long)idx[p] * ld + j;
            VF v = F(splat)(vals[p]);
            a0 += v * F(load)(row); a1 += v * F(load)(row + VW);
            a2 += v * F(load)(row + 2 * VW); a3 += v * F(load)(row + 3 * VW);
        }
        F(store)(y + j, a0); F(store)(y + j + VW, a1); F(store)(y + j + 2 * VW, a2); F(store)(y + j + 3 * VW, a3);
    }
    for (; j + VW <= w; j += VW) {
        VF a = F(load)(y + j);
        for (long p = 0; p < n; p++) a += F(splat)(vals[p]) * F(load)(table + (long)idx[p] * ld + j);
        F(store)(y + j, a);
    }
    if (j < w) {
        long rest = w - j;
        VF a = F(load_part)(y + j, rest, 0);
        for (long p = 0; p < n; p++) a += F(splat)(vals[p]) * F(load_part)(table + (long)idx[p] * ld + j, rest, 0);
        F(store_part)(y + j, a, rest);
    }
}

// Short dot product and y += alpha·x for factor vectors (tens to hundreds of floats).
ATTR float F(dot_short)(const float *a, const float *b, long n) {
    VF s0 = F(splat)(0.0f), s1 = F(splat)(0.0f);
    long i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) { s0 += F(load)(a + i) * F(load)(b + i); s1 += F(load)(a + i + VW) * F(load)(b + i + VW); }
    for (; i + VW <= n; i += VW) s0 += F(load)(a + i) * F(load)(b + i);
    float t = F(hsum)(s0 + s1);
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}
ATTR void F(axpy_short)(float alpha, const float *x, float *y, long n) {
    VF a = F(splat)(alpha);
    long i = 0;
    for (; i + VW <= n; i += VW) F(store)(y + i, F(load)(y + i) + a * F(load)(x + i));
    for (; i < n; i++) y[i] += alpha * x[i];
}

// Two dot products against the same x in one pass.
ATTR void F(dot2_short)(const float *a, const float *b, const float *x, long n, float *da, float *db) {
    VF sa = F(splat)(0.0f), sb = F(splat)(0.0f);
    long i = 0;
    for (; i + VW <= n; i += VW) { VF xv = F(load)(x + i); sa += F(load)(a + i) * xv; sb += F(load)(b + i) * xv; }
    float ta = F(hsum)(sa), tb = F(hsum)(sb);
    for (; i < n; i++) { ta += a[i] * x[i]; tb += b[i] * x[i]; }
    *da = ta; *db = tb;
}
// y += alpha·a + beta·b in one pass.
ATTR void F(axpy2_short)(float alpha, const float *a, float beta, const float *b, float *y, long n) {
    VF av = F(splat)(alpha), bv = F(splat)(beta);
    long i = 0;
    for (; i + VW <= n; i += VW) F(store)(y + i, F(load)(y + i) + av * F(load)(a + i) + bv * F(load)(b + i));
    for (; i < n; i++) y[i] += alpha * a[i] + beta * b[i];
}
// y += Σₑ coef(e)·other[items[e]] where coef(e) = scale(e)·(other[items[e]]·x) + shift(e): the
// sparse part of the CG products, two entries per pass over y.
#define ALS_SPARSE_PASS(SCALE, SHIFT)                                                              \
    {                                                                                              \
        long e = 0;                                                                                \
        for (; e + 2 <= count; e += 2) {                                                           \
            const float *y0 = other + (long)items[e] * f, *y1 = other + (long)items[e + 1] * f;    \
            float d0, d1;                                                                          \
            F(dot2_short)(y0, y1, vec, f, &d0, &d1);                                               \
            float v0 = values[e], v1 = values[e + 1];                                              \
            F(axpy2_short)((SCALE(v0)) * d0 + (SHIFT(v0)), y0, (SCALE(v1)) * d1 + (SHIFT(v1)), y1, out, f); \
        }                                                                                          \
        if (e < count) {                                                                           \
            const float *y0 = other + (long)items[e] * f;                                          \
            float v0 = values[e];                                                                  \
            F(axpy_short)((SCALE(v0)) * F(dot_short)(y0, vec, f) + (SHIFT(v0)), y0, out, f);       \
        }                                                                                          \
    }

// Conjugate-gradient steps on (G + Σₑ (cₑ − 1) yₑyₑᵀ) x = Σₑ cₑ yₑ, cₑ = 1 + alpha·valuesₑ,
// yₑ = other[items[e]·f …], from the current x (Hu et al.'s implicit ALS, one row).
KATTR void F(als_cg_k)(float *x, const float *gram, const float *other, const int32_t *items, const float *values,
                       long count, float alpha, long f, long steps, float *scratch) {
    float *r = scratch, *p = scratch + f, *ap = scratch + 2 * f;
    for (long d = 0; d < f; d++) r[d] = -F(dot_short)(gram + d * f, x, f);
    {
        // r += Σ (cₑ − (cₑ − 1)·yₑ·x) yₑ
        const float *vec = x;
        float *out = r;
#define S_INIT(v) (-alpha * (v))
#define C_INIT(v) (1 + alpha * (v))
        ALS_SPARSE_PASS(S_INIT, C_INIT)
#undef S_INIT
#undef C_INIT
    }
    memcpy(p, r, (size_t)f * sizeof(float));
    float rs_old = F(dot_short)(r, r, f);
    if (rs_old < 1e-20f) return;
    for (long step = 0; step < steps; step++) {
        for (long d = 0; d < f; d++) ap[d] = F(dot_short)(gram + d * f, p, f);
        {
            // ap += Σ (cₑ − 1)(yₑ·p) yₑ
            const float *vec = p;
            float *out = ap;
#define S_STEP(v) (alpha * (v))
#define C_STEP(v) 0.0f
            ALS_SPARSE_PASS(S_STEP, C_STEP)
#undef S_STEP
#undef C_STEP
        }
        float pap = F(dot_short)(p, ap, f);
        if (!(pap > 0)) return;
        float a = rs_old / pap;
        F(axpy_short)(a, p, x, f);
        F(axpy_short)(-a, ap, r, f);
        float rs_new = F(dot_short)(r, r, f);
        if (rs_new < 1e-20f) return;
        float beta = rs_new / rs_old;
        for (long d = 0; d < f; d++) p[d] = r[d] + beta * p[d];
        rs_old = rs_new;
    }
}

// One BPR-MF SGD step on (w, hi, hj); item rows carry a bias at index f. All three vectors are
// updated from their old values. Returns whether hi was already ranked above hj.
KATTR int F(bpr_step_k)(float *w, float *hi, float *hj, long f, float lr, float reg, int update_items) {
    VF acc = F(splat)(0.0f);
    long d = 0;
    for (; d + VW <= f; d += VW) acc += F(load)(w + d) * (F(load)(hi + d) - F(load)(hj + d));
    float x = hi[f] - hj[f] + F(hsum)(acc);
    for (; d < f; d++) x += w[d] * (hi[d] - hj[d]);
    // σ(−x), taken as 0 below 4e-18 (x > 40): a tiny z makes subnormal products, which slow
    // every update severalfold once most pairs are ranked right; the gradient lost is nil.
    float z = x > 40.0f ? 0.0f : 1 / (1 + expf(x));
    VF zv = F(splat)(z), lrv = F(splat)(lr), regv = F(splat)(reg);
    d = 0;
    for (; d + VW <= f; d += VW) {
        VF wd = F(load)(w + d), a = F(load)(hi + d), b = F(load)(hj + d);
        F(store)(w + d, wd + lrv * (zv * (a - b) - regv * wd));
        if (update_items) {
            F(store)(hi + d, a + lrv * (zv * wd - regv * a));
            F(store)(hj + d, b + lrv * (-zv * wd - regv * b));
        }
    }
    for (; d < f; d++) {
        float wd = w[d], a = hi[d], b = hj[d];
        w[d] = wd + lr * (z * (a - b) - reg * wd);
        if (update_items) {
            hi[d] = a + lr * (z * wd - reg * a);
            hj[d] = b + lr * (-z * wd - reg * b);
        }
    }
    if (update_items) {
        hi[f] += lr * (z - reg * hi[f]);
        hj[f] += lr * (-z - reg * hj[f]);
    }
    return x > 0;
}

// float16 bits → float (any width; subnormals, infinities and NaN kept).
ATTR float F(half_to_float)(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) { bits = sign; }
        else {  // subnormal: normalise
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

// y[0..w) += Σ_p vals[p] · table[idx[p]·ld + (0..w)] with the table's rows in float16: the
// gather-accumulate of sparse_gather_axpy over half-precision rows (EASE's B stored as f16).
KATTR void F(sparse_gather_axpy_f16_k)(const float *vals, const int32_t *idx, long n, const uint16_t *table,
                                       long ld, float *y, long w) {
    long j = 0;
#if VW > 4
    typedef _Float16 VHalf __attribute__((vector_size(VW * 2), aligned(2)));
    for (; j + VW <= w; j += VW) {
        VF a = F(load)(y + j);
        for (long p = 0; p < n; p++) {
            VHalf h;
            memcpy(&h, table + (long)idx[p] * ld + j, sizeof h);
            a += F(splat)(vals[p]) * __builtin_convertvector(h, VF);
        }
        F(store)(y + j, a);
    }
#endif
    for (; j < w; j++) {
        float a = y[j];
        for (long p = 0; p < n; p++) a += vals[p] * F(half_to_float)(table[(long)idx[p] * ld + j]);
        y[j] = a;
    }
}

// Dropout from a counter-based hash: element i of a call keeps its value when bits 8..31 of
// mix(mix(offset + i + k0) ^ k1) reach `threshold` (p · 2²⁴), so the mask depends only on the
// seed's keys and the element's index, never on how the work is split across threads.
ATTR uint32_t F(mix32)(uint32_t h) {
    h ^= h >> 16; h *= 0x7feb352dU; h ^= h >> 15; h *= 0x846ca68bU; h ^= h >> 16;
    return h;
}

// y = [residual +] x ⊙ keep · scale; keep written to mask (0 or 1). With relu (and no residual)
// negative inputs are dropped too: dropout(relu(x)) in one pass.
KATTR void F(dropout_k)(const float *x, const float *residual, float *y, uint8_t *mask, long n,
                        uint64_t offset, uint32_t k0, uint32_t k1, uint32_t threshold, float scale, int relu) {
    uint32_t base = (uint32_t)offset + k0;
    if (residual) {
        for (long i = 0; i < n; i++) {
            uint32_t h = F(mix32)(F(mix32)(base + (uint32_t)i) ^ k1);
            uint8_t keep = (h >> 8) >= threshold;
            mask[i] = keep;
            y[i] = residual[i] + (keep ? x[i] * scale : 0.0f);
        }
    } else if (relu) {
        for (long i = 0; i < n; i++) {
            uint32_t h = F(mix32)(F(mix32)(base + (uint32_t)i) ^ k1);
            uint8_t keep = ((h >> 8) >= threshold) & (x[i] > 0.0f);
            mask[i] = keep;
            y[i] = keep ? x[i] * scale : 0.0f;
        }
    } else {
        for (long i = 0; i < n; i++) {
            uint32_t h = F(mix32)(F(mix32)(base + (uint32_t)i) ^ k1);
            uint8_t keep = (h >> 8) >= threshold;
            mask[i] = keep;
            y[i] = keep ? x[i] * scale : 0.0f;
        }
    }
}

// dx = dy ⊙ mask · scale.
KATTR void F(dropout_backward_k)(const float *dy, const uint8_t *mask, float *dx, long n, float scale) {
    for (long i = 0; i < n; i++) dx[i] = mask[i] ? dy[i] * scale : 0.0f;
}

static const osk_table CAT(table, SUFFIX) = {
    F(exp_k), F(log_k), F(tanh_k), F(sigmoid_k), F(gelu_k), F(silu_k), F(softplus_k),
    F(gelu_backward_k), F(silu_backward_k),
    F(softmax_rows_k), F(log_softmax_rows_k), F(softmax_backward_rows_k), F(log_softmax_backward_rows_k),
    F(layer_norm_forward_k), F(layer_norm_backward_k), F(softmax_xent_rows_k),
    F(attention_softmax_k), F(attention_softmax_backward_k), F(adamw_k), F(sum_squares_k),
    F(sparse_gather_axpy_k), F(dropout_k), F(dropout_backward_k), F(als_cg_k), F(bpr_step_k),
    F(sparse_gather_axpy_f16_k),
};

#undef CAT2
#undef CAT
#undef F
#undef VF
#undef VI
#undef VFU
#undef ATTR
#undef KATTR
#undef MAP_KERNEL
#undef ALS_SPARSE_PASS
#undef GRAD_KERNEL
