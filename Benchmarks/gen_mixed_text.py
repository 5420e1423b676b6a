"""Writes N MB of mixed text (prose, CSV, logs) with a few real hits for the detector benchmark."""
import random, sys

path, mb = sys.argv[1], int(sys.argv[2])
rnd = random.Random(42)
words = ("the of and to in is that for on with as by at from report quarter revenue forecast meeting team "
         "customer invoice payment account contract review policy update project schedule budget").split()
hits = ["4111 1111 1111 1111", "5555555555554444", "DE89 3704 0044 0532 0130 00", "123-45-6789",
        "alice@example.com", "-----BEGIN RSA PRIVATE KEY-----", "AKIAIOSFODNN7EXAMPLE", "privileged and confidential"]
out = open(path, "w")
written, target = 0, mb * 1_000_000
while written < target:
    kind = rnd.random()
    if kind < 0.5:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(8, 20))).capitalize() + ".\n"
    elif kind < 0.8:
        line = f"{rnd.randint(1, 99999)},{rnd.choice(words)},{rnd.randint(0, 10**6)}.{rnd.randint(0, 99):02d},EUR,2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}\n"
    else:
        line = f"2026-11-29T12:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}Z INFO pid={rnd.randint(1, 65535)} req={rnd.getrandbits(32):08x} status=200 bytes={rnd.randint(0, 10**6)}\n"
    if rnd.random() < 0.0005:
        line = line.rstrip("\n") + " " + rnd.choice(hits) + "\n"
    out.write(line)
    written += len(line)
