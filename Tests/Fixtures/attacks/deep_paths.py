# Creates folders 200 bytes a name, deeper than PATH_MAX, and a file at every level; prints, per level, the
# file's label or the errno name that refused it. argv: FOLDER_IN_MOUNT LEVELS
import errno, os, sys
os.chdir(sys.argv[1])
for level in range(int(sys.argv[2])):
    try:
        with open("f.txt", "w") as f:
            f.write("x")
        print(level, os.getxattr("f.txt", "user.protfs.label").decode())
    except OSError as e:
        print(level, errno.errorcode[e.errno])
    name = "d" * 200
    try:
        os.mkdir(name)
    except OSError as e:
        print(level, "mkdir", errno.errorcode[e.errno]); break
    os.chdir(name)
