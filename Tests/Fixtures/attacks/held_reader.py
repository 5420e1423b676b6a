# Holds a file open across a raise of its label, then reads it again and grows it (fallocate) through the same
# descriptors.
# usage: held_reader.py FILE SYNC_DIR   (writes SYNC_DIR/opened, waits for SYNC_DIR/raised, writes SYNC_DIR/result)
import os
import sys
import time

path, sync = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_RDONLY)
try:
    rw = os.open(path, os.O_RDWR)
except OSError:
    rw = None   # a reader without edit: only the read is tried
first = os.pread(fd, 4096, 0)
with open(os.path.join(sync, "opened"), "w") as out:
    out.write(first.decode(errors="replace"))
deadline = time.time() + 20
while not os.path.exists(os.path.join(sync, "raised")) and time.time() < deadline:
    time.sleep(0.05)
try:
    result = "read:" + os.pread(fd, 4096, 0).decode(errors="replace")
except OSError as e:
    result = "error:" + os.strerror(e.errno)
if rw is None:
    result += "|fallocate:skipped"
else:
    try:
        os.posix_fallocate(rw, 0, 819200)
        result += "|fallocate:ok"
    except OSError as e:
        result += "|fallocate:" + os.strerror(e.errno)
with open(os.path.join(sync, "result"), "w") as out:
    out.write(result)
