#!/usr/bin/env python3
"""Concurrency load for a bounded time: 8 processes writing distinct files, 4 writing one shared file
(2 with O_APPEND, 2 at random record-aligned offsets), 2 readers. Every write is a 64-byte record that
carries its own checksum, so a torn or mixed record is detectable.

usage: concurrency.py DIR SECONDS    prints "created N" and "ok" or the problems; exit 1 on any problem"""
import hashlib, multiprocessing as mp, os, random, sys, time

d, seconds = sys.argv[1], float(sys.argv[2])
SHARED = os.path.join(d, "shared.log")
R = 64

def record(tag, n):
    body = f"{tag}:{n}:".encode().ljust(R - 17, b".")
    return body + b"|" + hashlib.sha256(body).hexdigest()[:15].encode() + b"\n"

def valid(rec):
    return len(rec) == R and rec[-1:] == b"\n" and hashlib.sha256(rec[:R - 17]).hexdigest()[:15].encode() == rec[R - 16:R - 1]

def distinct(k, out):
    rnd = random.Random(k); n = 0; end = time.time() + seconds; problems = []
    while time.time() < end:
        p = os.path.join(d, f"w{k}-{n}.bin")
        data = rnd.randbytes(rnd.randint(1, 100_000))
        with open(p, "wb") as f: f.write(data)
        with open(p, "rb") as f:
            if f.read() != data: problems.append(f"{p} reads back different")
        n += 1
    out.put((n, problems))

def appender(k, out):
    fd = os.open(SHARED, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644); n = 0; end = time.time() + seconds
    while time.time() < end:
        os.write(fd, record(f"a{k}", n)); n += 1
    os.close(fd); out.put((0, []))

def overwriter(k, out):
    rnd = random.Random(100 + k); fd = os.open(SHARED, os.O_RDWR | os.O_CREAT, 0o644); n = 0; end = time.time() + seconds
    while time.time() < end:
        size = os.fstat(fd).st_size
        if size >= R:
            os.pwrite(fd, record(f"o{k}", n), rnd.randrange(size // R) * R); n += 1
    os.close(fd); out.put((0, []))

def reader(k, out):
    # A read racing a write may see a record half-copied into the page cache (as on any Linux filesystem:
    # buffered reads do not take the inode lock), so readers only count errors; the final check is strict.
    end = time.time() + seconds; problems = []
    while time.time() < end:
        try:
            with open(SHARED, "rb") as f: f.read()
        except FileNotFoundError:
            continue
        except OSError as e:
            problems.append(f"reader: {e}")
    out.put((0, problems))

if __name__ == "__main__":
    os.makedirs(d, exist_ok=True)
    q = mp.Queue()
    procs = [mp.Process(target=distinct, args=(k, q)) for k in range(8)]
    procs += [mp.Process(target=appender, args=(k, q)) for k in range(2)]
    procs += [mp.Process(target=overwriter, args=(k, q)) for k in range(2)]
    procs += [mp.Process(target=reader, args=(k, q)) for k in range(2)]
    for p in procs: p.start()
    results = [q.get(timeout=seconds + 120) for _ in procs]
    for p in procs: p.join(timeout=30)
    problems = [x for _, ps in results for x in ps]
    data = open(SHARED, "rb").read()
    if len(data) % R: problems.append(f"shared file size {len(data)} is not a whole number of records")
    bad = [i for i in range(0, len(data) - len(data) % R, R) if not valid(data[i:i + R])]
    if bad: problems.append(f"{len(bad)} torn records in the shared file, first at {bad[0]}")
    print(f"created {sum(n for n, _ in results)}")
    print(f"shared records {len(data) // R}")
    for p in problems[:20]: print("PROBLEM", p)
    print("ok" if not problems else "FAILED")
    sys.exit(1 if problems else 0)
