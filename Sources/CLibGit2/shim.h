#ifndef ACCORD_CLIBGIT2_SHIM_H
#define ACCORD_CLIBGIT2_SHIM_H
#include <git2.h>
#endif

/* git_libgit2_opts is variadic, which Swift cannot call: one wrapper per use.
 * Trees larger than libgit2's default 4 KiB object-cache limit (a directory of
 * thousands of manifests) would otherwise be inflated and parsed again on
 * every lookup through them. */
static inline int accord_git_set_tree_cache_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, bytes);
}
