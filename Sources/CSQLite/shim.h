#ifndef PROTFS_CSQLITE_SHIM_H
#define PROTFS_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
