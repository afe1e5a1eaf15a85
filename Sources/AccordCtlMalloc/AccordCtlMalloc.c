// jemalloc reads its settings from this symbol when the program defines it
// (the MALLOC_CONF environment variable still overrides them). accordctl's
// heap on transparent huge pages: a full apply touches about 500 MiB of new
// memory, and faulting it in 4 KiB pages was most of the quarter second it
// spent in the kernel (docs/benchmarks-notes.md, "2026-12-07, evening").
// accord-controller keeps jemalloc's defaults: a daemon should hand back
// freed memory in small pieces, and its no-op passes touch little.
const char *malloc_conf = "thp:always,metadata_thp:always";
