#!/usr/bin/env python3
"""One worker of a write storm for the crash test; runs until killed.

usage: storm.py ROLE DIR MANIFEST SEED
  durable: writes files, fsyncs them, then records "sha256  name" in MANIFEST (fsynced): only those must survive
  churn:   creates, overwrites and renames files without fsync
  relabel: raises labels of churn files through the user.protfs.label xattr"""
import hashlib, os, random, sys

role, d, manifest, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rnd = random.Random(seed)
os.makedirs(d, exist_ok=True)
i = 0
while True:
    i += 1
    if role == "durable":
        name = f"durable-{seed}-{i}.bin"
        data = rnd.randbytes(rnd.choice([10, 4096, 5000, rnd.randint(1, 200_000)]))
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        dfd = os.open(d, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)
        with open(manifest, "a") as m:
            m.write(f"{hashlib.sha256(data).hexdigest()}  {name}\n")   # sha256sum -c format
            m.flush()
            os.fsync(m.fileno())
    elif role == "churn":
        name = os.path.join(d, f"churn-{rnd.randrange(50)}.bin")
        try:
            with open(name, "wb") as f:
                f.write(rnd.randbytes(rnd.randint(0, 100_000)))
            os.rename(name, os.path.join(d, f"churn-{rnd.randrange(50)}.bin"))
        except OSError:
            pass
    else:
        name = os.path.join(d, f"churn-{rnd.randrange(50)}.bin")
        try:
            os.setxattr(name, "user.protfs.label", rnd.choice([b"temp", b"conf/fin", b"conf/hr"]))
        except OSError:
            pass
