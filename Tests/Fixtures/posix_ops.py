"""Runs the same POSIX operations in a directory and prints what a program would observe, one line each.
The mount tests run it on a protfs mount and on a plain directory and compare the two outputs."""
import hashlib, mmap, os, stat, sys

d = sys.argv[1]
out = []
def rec(*a): out.append(" ".join(str(x) for x in a))
def p(n): return os.path.join(d, n)
def digest(path):
    with open(path, "rb") as f: return hashlib.sha256(f.read()).hexdigest()[:16]

# Plain write and sizes across block edges.
for n in [0, 1, 4095, 4096, 4097, 100_000]:
    with open(p(f"w{n}"), "wb") as f: f.write(bytes((i * 7) % 251 for i in range(n)))
    rec("size", n, os.stat(p(f"w{n}")).st_size, digest(p(f"w{n}")))

# Sparse files: a write far past the end reads back zeros before it.
fd = os.open(p("sparse"), os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"end", 1_000_000)
os.pwrite(fd, b"mid", 5000)
rec("sparse", os.fstat(fd).st_size, os.pread(fd, 10, 4995), os.pread(fd, 5, 999_998), os.pread(fd, 10, 2_000_000))
os.close(fd)

# Truncate down and up.
os.truncate(p("w100000"), 5000); rec("trunc-down", os.stat(p("w100000")).st_size, digest(p("w100000")))
os.truncate(p("w100000"), 9000); rec("trunc-up", os.stat(p("w100000")).st_size, digest(p("w100000")))

# O_TRUNC and O_APPEND (two descriptors appending).
with open(p("w4097"), "wb") as f: f.write(b"short")
rec("otrunc", os.stat(p("w4097")).st_size, digest(p("w4097")))
a = os.open(p("app"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
b = os.open(p("app"), os.O_WRONLY | os.O_APPEND)
for i in range(50):
    os.write(a if i % 2 else b, f"line {i}\n".encode())
os.close(a); os.close(b)
rec("append", os.stat(p("app")).st_size, digest(p("app")))

# Rename over an existing file.
with open(p("old"), "w") as f: f.write("old")
with open(p("new"), "w") as f: f.write("new content")
os.rename(p("new"), p("old"))
rec("rename-over", open(p("old")).read(), os.path.exists(p("new")))

# Unlink an open file, then read and write through the descriptor.
with open(p("gone"), "w") as f: f.write("still here")
fd = os.open(p("gone"), os.O_RDWR)
os.unlink(p("gone"))
rec("unlinked-read", os.pread(fd, 100, 0), os.path.exists(p("gone")))
os.pwrite(fd, b"!", 10)
rec("unlinked-write", os.pread(fd, 100, 0), os.fstat(fd).st_size)
os.close(fd)

# mmap reads and writes.
with open(p("map"), "wb") as f: f.write(bytes(20000))
with open(p("map"), "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    m[4090:4106] = b"0123456789abcdef"
    m.flush()
    rec("mmap-read", m[4090:4106])
    m.close()
rec("mmap-after", open(p("map"), "rb").read()[4088:4108], digest(p("map")))

# Times, modes, links, special files, directories.
os.utime(p("w1"), (1_600_000_000, 1_650_000_000))
st = os.stat(p("w1")); rec("times", int(st.st_atime), int(st.st_mtime))
os.chmod(p("w1"), 0o640); rec("mode", oct(stat.S_IMODE(os.stat(p("w1")).st_mode)))
# The creator's umask decides new modes (the daemon's own umask must not apply on top of it).
for mask in (0o002, 0o000, 0o027):
    old = os.umask(mask)
    os.close(os.open(p(f"um{mask:o}"), os.O_CREAT | os.O_WRONLY, 0o666))
    os.mkdir(p(f"umd{mask:o}"), 0o777)
    os.mkfifo(p(f"umf{mask:o}"), 0o666)
    os.umask(old)
    rec("umask", oct(mask), *[oct(stat.S_IMODE(os.stat(p(f"{k}{mask:o}")).st_mode)) for k in ("um", "umd", "umf")])
    os.rmdir(p(f"umd{mask:o}"))
# The same through an open descriptor, as tar does after writing a file (fchmod, futimens).
with open(p("fdattr"), "wb") as f:
    f.write(b"x" * 5000)
    os.fchmod(f.fileno(), 0o604)
    os.utime(f.fileno(), (1_500_000_000, 1_550_000_000))
st = os.stat(p("fdattr")); rec("fd-attrs", oct(stat.S_IMODE(st.st_mode)), int(st.st_atime), int(st.st_mtime), st.st_size)
os.link(p("w4096"), p("hard")); rec("link", os.stat(p("hard")).st_nlink, digest(p("hard")))
os.symlink("w4096", p("sym")); rec("symlink", os.readlink(p("sym")), digest(p("sym")))
os.mkfifo(p("fifo")); rec("fifo", stat.S_ISFIFO(os.stat(p("fifo")).st_mode))
os.makedirs(p("dir/sub")); os.rename(p("dir"), p("dir2")); rec("dir-rename", sorted(os.listdir(p("dir2"))))
try:
    os.rename(p("w0"), p("w1")) if False else os.link(p("w0"), p("w1"))
except OSError as e: rec("link-exists", e.errno)
os.rmdir(p("dir2/sub")); os.rmdir(p("dir2"))
rec("listing", sorted(os.listdir(d)))
print("\n".join(out))
