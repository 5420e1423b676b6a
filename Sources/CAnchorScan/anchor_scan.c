// A vector pre-filter for the content detectors: byte classes for 32 bytes per step become bit masks, and the
// conditions a match needs around its first byte (the bytes before and after it, 13 card characters in a row,
// an SSN's separators) are shifts and ANDs of those masks. It only narrows the positions: the Swift scanner
// decides every candidate exactly, so a position reported in excess costs time, never a wrong count.
#include "anchor_scan.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,bmi,popcnt")))

int protfs_anchor_scan_available(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("popcnt");
}

/// Class masks of 32 consecutive bytes, bit k for byte k.
typedef struct { uint64_t digit, upper, word, card, sep, at, dash, upperA, first, second; } classes;

AVX2 static inline __m256i in_range(__m256i x, char lo, char span) {
    __m256i t = _mm256_sub_epi8(x, _mm256_set1_epi8(lo));
    return _mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(span)), t);
}

AVX2 static inline uint64_t bits(__m256i m) { return (uint32_t)_mm256_movemask_epi8(m); }

AVX2 static inline __m256i letter_in(__m256i x, __m256i alpha, __m256i lo, __m256i hi) {
    __m256i idx = _mm256_and_si256(x, _mm256_set1_epi8(0x0F));
    __m256i high = _mm256_cmpeq_epi8(_mm256_and_si256(x, _mm256_set1_epi8(0x10)), _mm256_set1_epi8(0x10));
    return _mm256_and_si256(alpha, _mm256_blendv_epi8(_mm256_shuffle_epi8(lo, idx), _mm256_shuffle_epi8(hi, idx), high));
}

AVX2 static inline classes classify(const uint8_t *p, __m256i fLo, __m256i fHi, __m256i sLo, __m256i sHi) {
    __m256i x = _mm256_loadu_si256((const __m256i *)p);
    __m256i digit = in_range(x, '0', 9), upper = in_range(x, 'A', 25);
    __m256i alpha = in_range(_mm256_or_si256(x, _mm256_set1_epi8(0x20)), 'a', 25);
    __m256i sep = _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8(' ')), _mm256_cmpeq_epi8(x, _mm256_set1_epi8('-')));
    classes c;
    c.digit = bits(digit);
    c.upper = bits(upper);
    c.word = bits(_mm256_or_si256(digit, alpha));
    c.sep = bits(sep);
    c.card = c.digit | c.sep;
    c.at = bits(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('@')));
    c.dash = bits(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('-')));
    c.upperA = bits(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('A')));
    c.first = bits(letter_in(x, alpha, fLo, fHi));
    c.second = bits(letter_in(x, alpha, sLo, sHi));
    return c;
}

AVX2 static inline __m256i broadcast16(const uint8_t *t) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)t));
}

/// Whether none of the 32 bytes at p can be the first byte of a match: no digit, letter, '@' or '-'. Runs of
/// such bytes (zero padding, sparse regions, whitespace) then cost one test per 32 bytes instead of a full
/// classification.
AVX2 static inline int quiet(const uint8_t *p) {
    __m256i x = _mm256_loadu_si256((const __m256i *)p);
    __m256i any = _mm256_or_si256(in_range(x, '0', 9), in_range(_mm256_or_si256(x, _mm256_set1_epi8(0x20)), 'a', 25));
    any = _mm256_or_si256(any, _mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('@')), _mm256_cmpeq_epi8(x, _mm256_set1_epi8('-'))));
    return _mm256_testz_si256(any, any);
}

/// Bits k where bits k..k+12 of m are all set (13 card characters in a row).
static inline uint64_t run13(uint64_t m) {
    uint64_t r2 = m & (m >> 1), r4 = r2 & (r2 >> 2), r8 = r4 & (r4 >> 4);
    return r8 & (r4 >> 8) & (m >> 12);
}

AVX2 static size_t scan_avx2(const uint8_t *p, size_t n, size_t from, size_t to, const protfs_anchor_tables *t,
                             uint32_t *out, size_t cap, size_t *resume) {
    size_t count = 0, i = from;
    const uint64_t digits = t->digits ? ~0ull : 0, at = t->at ? ~0ull : 0, dash = t->dash ? ~0ull : 0;
    const uint64_t upperA = t->upperA ? ~0ull : 0, keywords = t->keywords ? ~0ull : 0, anySecond = t->anySecond ? ~0ull : 0;
    const __m256i fLo = broadcast16(t->firstLo), fHi = broadcast16(t->firstHi);
    const __m256i sLo = broadcast16(t->secondLo), sHi = broadcast16(t->secondHi);
    // The edges, where the 64 bytes from i - 1 would leave the buffer: every position is reported.
    while (i < to && i < 1 && count < cap) { out[count++] = (uint32_t)(i - from); i++; }
    if (i < to && i + 63 <= n && count + 32 <= cap) {
        // Bit k of a 64-bit mask is byte i - 1 + k: bits 1..32 are this step's positions, bit 0 the byte before.
        classes lo = classify(p + i - 1, fLo, fHi, sLo, sHi);
        int stale = 0;
        while (i < to && i + 63 <= n && count + 32 <= cap) {
            // Every condition needs a digit, letter, '@' or '-' at the position itself: a quiet step has none.
            if (to - i >= 32 && quiet(p + i)) { i += 32; stale = 1; continue; }
            if (stale) { lo = classify(p + i - 1, fLo, fHi, sLo, sHi); stale = 0; }
            classes hi = classify(p + i + 31, fLo, fHi, sLo, sHi);
            uint64_t D = lo.digit | hi.digit << 32, U = lo.upper | hi.upper << 32, W = lo.word | hi.word << 32;
            uint64_t S = lo.sep | hi.sep << 32, C = lo.card | hi.card << 32, Da = lo.dash | hi.dash << 32;
            uint64_t At = lo.at | hi.at << 32, A = lo.upperA | hi.upperA << 32;
            uint64_t F = lo.first | hi.first << 32, S2 = lo.second | hi.second << 32;
            uint64_t wordBefore = W << 1;
            // A digit run's start with a second digit, then: two capitals before it (IBAN), or a third digit and
            // either 13 card characters in a row or an SSN's separators.
            uint64_t digit = D & ~(D << 1) & (D >> 1) & ((U << 1) | ((D >> 2) & (run13(C) | ((S >> 3) & (S >> 6)))));
            uint64_t m = (digits & digit) | (at & At) | (dash & Da & (Da >> 1) & ~(Da << 1))
                | (upperA & A & ~wordBefore & (U >> 1))
                | (keywords & F & ~wordBefore & (anySecond | (S2 >> 1)));
            size_t step = to - i < 32 ? to - i : 32;
            uint64_t found = (m >> 1) & ((step == 32) ? 0xFFFFFFFFull : ((1ull << step) - 1));
            // Eight positions written unconditionally: the count rarely exceeds it, so the loop rarely branches.
            uint32_t base = (uint32_t)(i - from), cnt = (uint32_t)__builtin_popcountll(found);
            uint32_t *o = out + count;
            for (int k = 0; k < 8; k++) { o[k] = base + (uint32_t)_tzcnt_u64(found); found = _blsr_u64(found); }
            for (uint32_t k = 8; k < cnt; k++) { o[k] = base + (uint32_t)_tzcnt_u64(found); found = _blsr_u64(found); }
            count += cnt;
            lo = hi;
            i += step;
        }
    }
    while (i < to && i + 63 > n && count < cap) { out[count++] = (uint32_t)(i - from); i++; }
    *resume = i;
    return count;
}

size_t protfs_anchor_scan(const uint8_t *p, size_t n, size_t from, size_t to,
                          const protfs_anchor_tables *tables, uint32_t *out, size_t cap, size_t *resume) {
    return scan_avx2(p, n, from, to, tables, out, cap, resume);
}
#else
int protfs_anchor_scan_available(void) { return 0; }

size_t protfs_anchor_scan(const uint8_t *p, size_t n, size_t from, size_t to,
                          const protfs_anchor_tables *tables, uint32_t *out, size_t cap, size_t *resume) {
    size_t count = 0, i = from;
    (void)p; (void)n; (void)tables;
    while (i < to && count < cap) { out[count++] = (uint32_t)(i - from); i++; }
    *resume = i;
    return count;
}
#endif
