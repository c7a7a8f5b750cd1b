/* meshrt — logging: the process-wide sink and level.
 *
 * The sink and level are the only global mutable state meshrt has (DESIGN.md):
 * a host replaces them before or while meshrt runs; any thread may log while
 * another replaces the sink. Records are formatted into a stack buffer; a long
 * record is truncated, never allocated.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

static void stderr_sink(const mrt_log_record *rec, void *user);

/* The sink (function and user data change together) under a reader-writer
 * lock: loggers share it, a replacement waits for calls in progress, so a
 * host may free the old sink's data once mrt_log_set_sink returns. */
static pthread_rwlock_t sink_lock = PTHREAD_RWLOCK_INITIALIZER;
static mrt_log_sink_fn sink_fn = stderr_sink;
static void *sink_user;
/* -1: not yet read from MESHRT_LOG. */
static _Atomic int current_level = -1;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

const char *mrt_log_level_name(mrt_log_level level) {
  if ((int)level < 0 || (int)level > MRT_LOG_TRACE)
    return "?";
  return level_names[level];
}

int mrt_log_level_parse(const char *name) {
  if (name == NULL)
    return -EINVAL;
  for (int i = 0; i <= MRT_LOG_TRACE; i++)
    if (strcasecmp(name, level_names[i]) == 0)
      return i;
  if (strcasecmp(name, "warning") == 0)
    return MRT_LOG_WARN;
  return -EINVAL;
}

mrt_log_level mrt_log_get_level(void) {
  /* Relaxed: the level is a filter; a briefly stale value is harmless. */
  int lvl = atomic_load_explicit(&current_level, memory_order_relaxed);
  if (lvl < 0) {
    const char *env = getenv("MESHRT_LOG");
    int parsed = env ? mrt_log_level_parse(env) : -EINVAL;
    lvl = parsed >= 0 ? parsed : MRT_LOG_INFO;
    int expected = -1;
    /* Relaxed CAS: only the first reader's parse is kept; all agree anyway. */
    atomic_compare_exchange_strong_explicit(&current_level, &expected, lvl,
                                            memory_order_relaxed, memory_order_relaxed);
    lvl = atomic_load_explicit(&current_level, memory_order_relaxed);
  }
  return (mrt_log_level)lvl;
}

void mrt_log_set_level(mrt_log_level level) {
  if ((int)level < 0 || (int)level > MRT_LOG_TRACE)
    return;
  atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

void mrt_log_set_sink(mrt_log_sink_fn fn, void *user) {
  pthread_rwlock_wrlock(&sink_lock);
  sink_fn = fn != NULL ? fn : stderr_sink;
  sink_user = fn != NULL ? user : NULL;
  pthread_rwlock_unlock(&sink_lock);
}

static void stderr_sink(const mrt_log_record *rec, void *user) {
  (void)user;
  time_t secs = (time_t)(rec->wall_time_ns / MRT_NS_PER_SEC);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  /* One fprintf per record: stdio locks the stream, so lines never interleave. */
  fprintf(stderr, "%s.%03uZ %-5s %s: %s\n", stamp,
          (unsigned)(rec->wall_time_ns % MRT_NS_PER_SEC / MRT_NS_PER_MS),
          mrt_log_level_name(rec->level), rec->component ? rec->component : "-",
          rec->text);
}

void mrt_logv(mrt_log_level level, const char *component, const char *fmt, va_list ap) {
  if ((int)level > (int)mrt_log_get_level() || fmt == NULL)
    return;
  char text[1024];
  vsnprintf(text, sizeof text, fmt, ap);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  mrt_log_record rec = {
      .level = level,
      .wall_time_ns = (uint64_t)ts.tv_sec * MRT_NS_PER_SEC + (uint64_t)ts.tv_nsec,
      .component = component,
      .text = text,
  };
  pthread_rwlock_rdlock(&sink_lock);
  sink_fn(&rec, sink_user);
  pthread_rwlock_unlock(&sink_lock);
}

void mrt_log(mrt_log_level level, const char *component, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mrt_logv(level, component, fmt, ap);
  va_end(ap);
}
