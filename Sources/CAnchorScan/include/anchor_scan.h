#ifndef PROTFS_ANCHOR_SCAN_H
#define PROTFS_ANCHOR_SCAN_H
#include <stddef.h>
#include <stdint.h>

/// Which anchor kinds to look for, and the case-insensitive letter sets of keyword first and second bytes.
/// Letter sets are indexed by (byte & 0x1F): entries 1-15 in `lo`, 16-26 in `hi` (0xFF = member).
typedef struct {
    uint8_t firstLo[16], firstHi[16], secondLo[16], secondHi[16];
    int digits, at, dash, upperA, keywords, anySecond;
} protfs_anchor_tables;

/// 1 when this CPU runs the vector path (AVX2); otherwise callers keep their scalar loop.
int protfs_anchor_scan_available(void);

/// Writes to `out` a superset of the positions (as offsets from `from`; to - from must fit in 32 bits) in [from, to) where a detector can start (every position near
/// the buffer's edges, where 32-byte loads around the position would leave `p[0..<n]`), stopping before `out`
/// could overflow. Returns the count; `*resume` is where the next call starts (== to when done).
/// Requires cap >= 128.
size_t protfs_anchor_scan(const uint8_t *p, size_t n, size_t from, size_t to,
                          const protfs_anchor_tables *tables, uint32_t *out, size_t cap, size_t *resume);
#endif
