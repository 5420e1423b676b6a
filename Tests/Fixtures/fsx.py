#!/usr/bin/env python3
"""Random-operation exerciser in the spirit of fsx: random writes, reads, truncates, extends, fsyncs, mmap
reads and writes, close/reopen, on several files under DIR, each checked against an in-memory model.

usage: fsx.py DIR --ops N [--seed S] [--files K] [--max-size BYTES]
Prints the seed first; on a mismatch prints the operation log tail and exits 1."""
import argparse, mmap, os, random, sys, collections

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--ops", type=int, default=10000)
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--files", type=int, default=4)
ap.add_argument("--max-size", type=int, default=300_000)
a = ap.parse_args()
seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 32)
print(f"fsx: seed {seed}, {a.ops} operations on {a.files} files in {a.dir}", flush=True)
rnd = random.Random(seed)
log = collections.deque(maxlen=40)
B = 4096

def fail(msg):
    print(f"fsx: MISMATCH after {done} operations (seed {seed}): {msg}", file=sys.stderr)
    print("fsx: last operations:", file=sys.stderr)
    for line in log:
        print("  " + line, file=sys.stderr)
    sys.exit(1)

def offset(limit):
    """Offsets near block boundaries are where block code breaks."""
    if rnd.random() < 0.5:
        return max(0, min(limit, rnd.randrange(0, limit // B + 2) * B + rnd.randint(-3, 3)))
    return rnd.randint(0, max(0, limit))

paths = [os.path.join(a.dir, f"fsx{i}.bin") for i in range(a.files)]
model = [bytearray() for _ in paths]
fds = []
for p in paths:
    fds.append(os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644))

def check_read(i, off, n):
    got = os.pread(fds[i], n, off)
    want = bytes(model[i][off:off + n])
    if got != want:
        first = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
        fail(f"read file {i} off {off} len {n}: got {len(got)} bytes, want {len(want)}, first difference at +{first}")

counts = collections.Counter()
done = 0
for done in range(1, a.ops + 1):
    i = rnd.randrange(len(paths))
    m = model[i]
    r = rnd.random()
    if r < 0.30:
        off = offset(min(len(m) + B, a.max_size))
        n = rnd.choice([1, 7, B - 1, B, B + 1, rnd.randint(1, 3 * B), rnd.randint(1, 64 * 1024)])
        n = max(1, min(n, a.max_size - off)) if off < a.max_size else 1
        data = rnd.randbytes(n)
        log.append(f"{done}: write file {i} off {off} len {n}")
        if os.pwrite(fds[i], data, off) != n: fail("short write")
        if off > len(m): m.extend(b"\0" * (off - len(m)))
        m[off:off + n] = data
        counts["write"] += 1
    elif r < 0.55:
        off = offset(len(m) + 10)
        n = rnd.randint(0, 3 * B + 10)
        log.append(f"{done}: read file {i} off {off} len {n}")
        check_read(i, off, n)
        counts["read"] += 1
    elif r < 0.63:
        size = offset(a.max_size) if rnd.random() < 0.5 else rnd.randint(0, max(1, len(m)))
        log.append(f"{done}: truncate file {i} to {size} (was {len(m)})")
        os.ftruncate(fds[i], size)
        if size < len(m): del m[size:]
        else: m.extend(b"\0" * (size - len(m)))
        counts["truncate/extend"] += 1
    elif r < 0.67:
        log.append(f"{done}: fsync file {i}")
        os.fsync(fds[i])
        counts["fsync"] += 1
    elif r < 0.75 and len(m) > 0:
        off = rnd.randrange(len(m)); n = rnd.randint(1, min(len(m) - off, 2 * B))
        log.append(f"{done}: mmap read file {i} off {off} len {n}")
        with mmap.mmap(fds[i], len(m), mmap.MAP_SHARED, mmap.PROT_READ) as mm:
            if mm[off:off + n] != bytes(m[off:off + n]): fail(f"mmap read file {i} off {off} len {n}")
        counts["mmap read"] += 1
    elif r < 0.83 and len(m) > 0:
        off = rnd.randrange(len(m)); n = rnd.randint(1, min(len(m) - off, 2 * B))
        data = rnd.randbytes(n)
        log.append(f"{done}: mmap write file {i} off {off} len {n}")
        with mmap.mmap(fds[i], len(m), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as mm:
            mm[off:off + n] = data
            mm.flush()
        m[off:off + n] = data
        counts["mmap write"] += 1
    elif r < 0.90:
        log.append(f"{done}: close and reopen file {i}")
        os.close(fds[i])
        fds[i] = os.open(paths[i], os.O_RDWR)
        counts["close/reopen"] += 1
    else:
        log.append(f"{done}: stat file {i}")
        st = os.fstat(fds[i])
        if st.st_size != len(m): fail(f"stat file {i}: size {st.st_size}, want {len(m)}")
        counts["stat"] += 1

for i in range(len(paths)):
    os.close(fds[i])
    with open(paths[i], "rb") as f:
        if f.read() != bytes(model[i]): fail(f"final read of file {i} differs")
print(f"fsx: {a.ops} operations, 0 mismatches ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))})")
