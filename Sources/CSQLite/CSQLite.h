// The system's SQLite (Debian: libsqlite3-dev), through a system-library
// target: no package dependency, no vendored amalgamation.
#ifndef CSQLITE_H
#define CSQLITE_H

#include <sqlite3.h>

/// sqlite3_bind_text with SQLITE_TRANSIENT (SQLite copies the bytes before it
/// returns), which Swift cannot import (the macro casts -1 to a function
/// pointer). A NULL `text` (an empty Swift string may have no address) binds
/// the empty string, not SQL NULL.
static inline int csqlite_bind_text_copy(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text ? text : "", length, SQLITE_TRANSIENT);
}

#endif
