# renameat2(RENAME_EXCHANGE) of two paths; exit 1 with the errno name when refused.
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.renameat2(-100, sys.argv[1].encode(), -100, sys.argv[2].encode(), 2) != 0:
    print(errno.errorcode[ctypes.get_errno()]); sys.exit(1)
