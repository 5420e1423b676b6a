# Attack probe: 8 threads hand the daemon an O_PATH descriptor of a FIFO nobody writes to, then hold.
# argv: FILE_IN_MOUNT FIFO SECONDS
import os, sys, threading, time
target, fifo, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
fd = os.open(fifo, os.O_PATH)
def ask():
    try:
        os.getxattr(target, "user.protfs.share.%d" % fd)
    except OSError:
        pass
for _ in range(8):
    threading.Thread(target=ask, daemon=True).start()
time.sleep(seconds)
