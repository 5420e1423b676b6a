# Keeps swapping folder D (under the caller's own tree) for a symlink to TARGET, for SECONDS.
# argv: D TARGET SECONDS
import os, sys, time
d, target, until = sys.argv[1], sys.argv[2], time.time() + float(sys.argv[3])
real = d + ".real"
while time.time() < until:
    os.rename(d, real)
    os.symlink(target, d)
    time.sleep(0.002)
    os.unlink(d)
    os.rename(real, d)
    time.sleep(0.002)
