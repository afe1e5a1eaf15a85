#ifndef ACCORD_CLIBGIT2_SHIM_H
#define ACCORD_CLIBGIT2_SHIM_H
#include <git2.h>
#endif
