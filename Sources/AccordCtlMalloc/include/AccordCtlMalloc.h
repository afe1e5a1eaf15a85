// accordctl's jemalloc settings (AccordCtlMalloc.c); nothing to call.
