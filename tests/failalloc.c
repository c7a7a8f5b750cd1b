/* SPDX-License-Identifier: MIT */
/* failalloc — the replacement allocator behind failalloc.h.
 *
 * Every allocator entry point is defined here and forwards to the next
 * definition in symbol lookup order (dlsym(RTLD_NEXT)): libc's allocator in a
 * plain build, ASan's interceptors in a sanitizer build (ASan still sees, and
 * leak-checks, every block), valgrind's replacements under valgrind (which
 * redirects libc's functions, not the executable's). glibc routes its own
 * internal allocations (strdup, stdio, pthread_create's thread descriptors)
 * and those of every shared library through these definitions too.
 *
 * dlsym itself may allocate before the real functions are known; those few
 * early requests are served from a small static arena and never freed.
 * Blocks made before this file's constructor ran (by ld.so and ASan's own
 * start-up, which may hand out memory its malloc_usable_size does not know)
 * are remembered and never counted.
 *
 * Threads: the countdown is thread-local (only the thread that armed it sees
 * failures); the live-byte counter is a process-wide atomic.
 */
#include "failalloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The replacements are defined without prototypes of our own: they are the
 * libc declarations from <stdlib.h> and <malloc.h>. */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* ---- the bootstrap arena ----------------------------------------------------- */

static _Alignas(max_align_t) unsigned char arena[64 * 1024];
static size_t arena_used;

static bool in_arena(const void *p) {
  return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}

/* Blocks carry their size in front, so realloc can copy them out. */
static void *arena_alloc(size_t size) {
  size_t head = sizeof(max_align_t);
  size_t need = head + ((size + head - 1) / head) * head;
  if (need > sizeof arena - arena_used)
    return NULL;
  unsigned char *p = arena + arena_used;
  arena_used += need;
  memcpy(p, &size, sizeof size);
  return p + head;
}

static size_t arena_size(const void *p) {
  size_t size;
  memcpy(&size, (const unsigned char *)p - sizeof(max_align_t), sizeof size);
  return size;
}

static _Thread_local bool resolving;

/* ISO C has no cast from dlsym's object pointer to a function pointer; POSIX
 * guarantees the representation, so copy the bits. */
#define LOOKUP(var, name)                                                                          \
  do {                                                                                             \
    void *sym_ = dlsym(RTLD_NEXT, name);                                                           \
    memcpy(&(var), &sym_, sizeof sym_);                                                            \
  } while (0)

static void resolve(void) {
  if (real_free != NULL || resolving)
    return;
  resolving = true;
  LOOKUP(real_malloc, "malloc");
  LOOKUP(real_calloc, "calloc");
  LOOKUP(real_realloc, "realloc");
  LOOKUP(real_posix_memalign, "posix_memalign");
  LOOKUP(real_aligned_alloc, "aligned_alloc");
  LOOKUP(real_memalign, "memalign");
  LOOKUP(real_valloc, "valloc");
  LOOKUP(real_pvalloc, "pvalloc");
  /* Last: its being set means all the others are. */
  LOOKUP(real_free, "free");
  resolving = false;
  if (real_malloc == NULL || real_calloc == NULL || real_realloc == NULL || real_free == NULL)
    abort(); /* no allocator to forward to: nothing can work */
}

/* Blocks allocated before counting began, until freed. Entries are added
 * only during start-up (single threaded, `counting` false); afterwards they
 * are only cleared, by the thread freeing the block, and read by others. */
#define EARLY_MAX 4096
static _Atomic(void *) early[EARLY_MAX];
static size_t n_early;
static atomic_bool counting;

static void early_add(void *p) {
  if (n_early == EARLY_MAX)
    abort(); /* start-up allocating this much is not what we expect */
  atomic_store_explicit(&early[n_early++], p, memory_order_relaxed);
}

static _Atomic(void *) *early_find(void *p) {
  for (size_t i = 0; i < n_early; i++)
    if (atomic_load_explicit(&early[i], memory_order_relaxed) == p)
      return &early[i];
  return NULL;
}

/* Forgets p if it is an early block; returns whether it was. */
static bool early_take(void *p) {
  _Atomic(void *) *slot = early_find(p);
  if (slot != NULL)
    atomic_store_explicit(slot, NULL, memory_order_relaxed);
  return slot != NULL;
}

static bool is_counting(void) {
  return atomic_load_explicit(&counting, memory_order_relaxed);
}

__attribute__((constructor(101))) static void failalloc_init(void) {
  resolve();
  atomic_store(&counting, true);
}

/* ---- the countdown ------------------------------------------------------------- */

static _Thread_local struct {
  bool armed, sticky, fired;
  uint64_t left;  /* allocations until the failing one */
  uint64_t count; /* allocations since armed */
} fa;

static _Atomic int64_t live_bytes;
static atomic_bool active;

void failalloc_arm(uint64_t nth, bool sticky) {
  fa.armed = true;
  fa.sticky = sticky;
  fa.fired = false;
  fa.left = nth;
  fa.count = 0;
}

bool failalloc_disarm(void) {
  bool fired = fa.fired;
  fa.armed = false;
  fa.fired = false;
  return fired;
}

uint64_t failalloc_count(void) {
  return fa.count;
}

int64_t failalloc_live_bytes(void) {
  /* Relaxed: the caller reads it when the threads it cares about are quiet. */
  return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

bool failalloc_active(void) {
  return atomic_load_explicit(&active, memory_order_relaxed);
}

/* True if this allocation must fail. */
static bool inject(void) {
  if (!atomic_load_explicit(&active, memory_order_relaxed))
    atomic_store_explicit(&active, true, memory_order_relaxed);
  if (!fa.armed)
    return false;
  fa.count++;
  if (fa.fired && fa.sticky)
    return true;
  if (fa.fired || fa.left == 0 || --fa.left > 0)
    return false; /* left == 0: armed to count only */
  fa.fired = true;
  return true;
}

static void account(void *p, int sign) {
  if (p == NULL || in_arena(p))
    return;
  if (!is_counting()) {
    if (sign > 0)
      early_add(p);
    else
      early_take(p);
    return;
  }
  if (sign < 0 && early_take(p))
    return;
  /* Relaxed: a counter; nothing is published through it. */
  atomic_fetch_add_explicit(&live_bytes, sign * (int64_t)malloc_usable_size(p),
                            memory_order_relaxed);
}

static void *fail(void) {
  errno = ENOMEM;
  return NULL;
}

/* ---- the replacements -------------------------------------------------------------- */

void *malloc(size_t size) {
  resolve();
  if (real_malloc == NULL)
    return arena_alloc(size);
  if (inject())
    return fail();
  void *p = real_malloc(size);
  account(p, 1);
  return p;
}

void *calloc(size_t n, size_t size) {
  resolve();
  if (real_calloc == NULL) {
    if (size != 0 && n > SIZE_MAX / size)
      return fail();
    return arena_alloc(n * size); /* static storage starts zeroed */
  }
  if (inject())
    return fail();
  void *p = real_calloc(n, size);
  account(p, 1);
  return p;
}

void free(void *p) {
  if (p == NULL || in_arena(p))
    return;
  resolve();
  account(p, -1);
  real_free(p);
}

void *realloc(void *p, size_t size) {
  resolve();
  if (p != NULL && in_arena(p)) {
    void *q = malloc(size);
    if (q != NULL)
      memcpy(q, p, arena_size(p) < size ? arena_size(p) : size);
    return q;
  }
  if (real_realloc == NULL)
    return p == NULL ? arena_alloc(size) : fail();
  if (p != NULL && size == 0) {
    free(p); /* glibc's realloc(p, 0) frees */
    return NULL;
  }
  if (inject())
    return fail(); /* p is untouched, as for a real failure */
  /* Accounted as a free of p and an allocation of q (which may be p). */
  bool p_early = p != NULL && (!is_counting() || early_find(p) != NULL);
  int64_t before = p != NULL && !p_early ? (int64_t)malloc_usable_size(p) : 0;
  void *q = real_realloc(p, size);
  if (q == NULL)
    return NULL; /* p stays as it was, counted or not */
  if (p_early)
    early_take(p);
  atomic_fetch_add_explicit(&live_bytes, -before, memory_order_relaxed);
  account(q, 1);
  return q;
}

int posix_memalign(void **out, size_t align, size_t size) {
  resolve();
  if (real_posix_memalign == NULL)
    return ENOMEM;
  if (inject())
    return ENOMEM;
  int rc = real_posix_memalign(out, align, size);
  if (rc == 0)
    account(*out, 1);
  return rc;
}

/* One forwarder for the (align, size) and (size) aligned allocators. */
#define ALIGNED(name, params, args)                                                                \
  void *name params {                                                                              \
    resolve();                                                                                     \
    if (real_##name == NULL || inject())                                                           \
      return fail();                                                                               \
    void *p = real_##name args;                                                                    \
    account(p, 1);                                                                                 \
    return p;                                                                                      \
  }

ALIGNED(aligned_alloc, (size_t align, size_t size), (align, size))
ALIGNED(memalign, (size_t align, size_t size), (align, size))
ALIGNED(valloc, (size_t size), (size))
ALIGNED(pvalloc, (size_t size), (size))
