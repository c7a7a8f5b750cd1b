/* SPDX-License-Identifier: MIT */
/* meshrt-node — log sink: human lines (the default) or JSON for machines.
 *
 * meshrt records read "what happened key=value key=value". The human format
 * prints them as they are, after a UTC timestamp, the level and the
 * component. The JSON format makes one object per line:
 *   {"time":"...Z","level":"info","component":"direct","msg":"socket bound",
 *    "fields":{"local":"127.0.0.1:41641","dual_stack":0}}
 * where "msg" is the text before the first key=value token and "fields" holds
 * the key=value tokens (integers, in canonical decimal form, as numbers).
 * Text that does not fit that shape (words after the fields, a key twice) is
 * kept whole in "text", so nothing is ever lost. Values are never cut: a
 * record is at most 1023 bytes. Text is sanitized (valid UTF-8, control
 * characters escaped as "\x1b") whatever the record holds, so "msg" is
 * always there.
 *
 * Threading: the library calls the sink from any thread under its own read
 * lock; every record is written with a single stdio call, and stdio locks the
 * stream, so lines never interleave. The sink's state is set before it is
 * installed and never changed while installed.
 */
#include "logsink.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <meshrt/meshrt.h>

#include <event2/event.h>

#include "ratelimit.h"
#include "text.h"
#include "util.h"

typedef struct sink_state {
  mn_log_format format;
  FILE *out;
} sink_state;

/* Two slots so that switching formats never rewrites the state a concurrent
 * record may be reading: the library waits for calls in progress before
 * mrt_log_set_sink returns, and we alternate between the slots. */
static sink_state slots[2];
static int next_slot;

int mn_log_format_parse(const char *name) {
  if (name != NULL && strcasecmp(name, "human") == 0)
    return MN_LOG_HUMAN;
  if (name != NULL && strcasecmp(name, "json") == 0)
    return MN_LOG_JSON;
  return -EINVAL;
}

const char *mn_log_format_name(mn_log_format f) {
  return f == MN_LOG_JSON ? "json" : "human";
}

static void format_time(uint64_t wall_ns, char *buf, size_t len) {
  time_t secs = (time_t)(wall_ns / 1000000000u);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char stamp[32];
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%03uZ", stamp, (unsigned)(wall_ns % 1000000000u / 1000000u));
}

/* A "key=value" token: key of [A-Za-z0-9_.-], non-empty, then '='. */
static bool is_kv(const char *tok, size_t len, size_t *eq) {
  size_t i = 0;
  while (i < len &&
         (isalnum((unsigned char)tok[i]) || tok[i] == '_' || tok[i] == '.' || tok[i] == '-'))
    i++;
  if (i == 0 || i >= len || tok[i] != '=')
    return false;
  *eq = i;
  return true;
}

/* A value is a JSON integer only when it is one in canonical decimal form
 * ("0", "42", "-7"; not "007" or "+1"), so the text can be rebuilt exactly
 * from the fields; everything else stays a string, however long. */
static json_t *kv_value(const char *v, size_t len) {
  bool neg = len > 0 && v[0] == '-';
  size_t digits = len - neg, i = neg;
  bool canonical = digits > 0 && digits < 19 && (v[i] != '0' || (digits == 1 && !neg));
  for (; canonical && i < len; i++)
    canonical = v[i] >= '0' && v[i] <= '9';
  if (canonical) {
    char buf[24];
    memcpy(buf, v, len);
    buf[len] = '\0';
    return json_integer(strtoll(buf, NULL, 10));
  }
  return json_stringn(v, len);
}

/* Splits "msg k=v k=v" into msg and fields; returns false when the text has
 * other words after the first key=value, or a key twice (then the caller
 * keeps it whole in "text", so no value is lost). */
static bool split_text(const char *text, json_t *fields, size_t *msg_len) {
  const char *p = text;
  bool in_fields = false;
  *msg_len = strlen(text);
  while (*p) {
    while (*p == ' ')
      p++;
    const char *tok = p;
    while (*p && *p != ' ')
      p++;
    size_t len = (size_t)(p - tok), eq;
    if (len == 0)
      break;
    if (is_kv(tok, len, &eq)) {
      if (!in_fields)
        *msg_len = (size_t)(tok - text);
      in_fields = true;
      char *key = strndup(tok, eq);
      json_t *val = key != NULL ? kv_value(tok + eq + 1, len - eq - 1) : NULL;
      bool dup = key != NULL && json_object_get(fields, key) != NULL;
      int rc = val != NULL && !dup ? json_object_set_new(fields, key, val) : -1;
      if (rc < 0 && !dup)
        val = NULL; /* taken by json_object_set_new even when it failed */
      if (dup)
        json_decref(val);
      free(key);
      if (rc < 0)
        return false;
    } else if (in_fields) {
      return false;
    }
  }
  while (*msg_len > 0 && text[*msg_len - 1] == ' ')
    (*msg_len)--;
  return true;
}

static json_t *json_record(const mrt_log_record *rec, const char *text) {
  char stamp[40], component[64];
  format_time(rec->wall_time_ns, stamp, sizeof stamp);
  const char *comp = rec->component ? rec->component : "-";
  mn_text_clean(comp, strlen(comp), component, sizeof component);
  json_t *o = json_pack("{s:s, s:s, s:s}", "time", stamp, "level", mrt_log_level_name(rec->level),
                        "component", component);
  json_t *fields = json_object();
  if (o == NULL || fields == NULL) {
    json_decref(o);
    json_decref(fields);
    return NULL;
  }
  size_t msg_len;
  bool split = split_text(text, fields, &msg_len);
  int rc = json_object_set_new(o, "msg", json_stringn(text, split ? msg_len : strlen(text)));
  if (!split)
    rc |= json_object_set_new(o, "text", json_string(text));
  else if (json_object_size(fields) > 0)
    rc |= json_object_set(o, "fields", fields);
  json_decref(fields);
  if (rc != 0) {
    json_decref(o);
    return NULL;
  }
  return o;
}

char *mn_log_render(mn_log_format f, const mrt_log_record *rec) {
  const char *in = rec->text != NULL ? rec->text : "";
  size_t len = strlen(in), cap = 4 * len + 4;
  /* The library sanitized the text already; a sink is a trust boundary of
   * its own all the same (and this makes the JSON below always encodable). */
  char *text = malloc(cap);
  if (text == NULL)
    return NULL;
  mrt_log_sanitize(text, cap, in, len);
  char *line = NULL;
  if (f == MN_LOG_JSON) {
    json_t *o = json_record(rec, text);
    line = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(o);
  } else {
    char stamp[40], component[64];
    format_time(rec->wall_time_ns, stamp, sizeof stamp);
    const char *comp = rec->component ? rec->component : "-";
    mn_text_clean(comp, strlen(comp), component, sizeof component);
    if (asprintf(&line, "%s %-5s %s: %s", stamp, mrt_log_level_name(rec->level), component, text) <
        0)
      line = NULL;
  }
  free(text);
  return line;
}

static void sink(const mrt_log_record *rec, void *user) {
  const sink_state *s = user;
  char *line = mn_log_render(s->format, rec);
  if (line != NULL) {
    fprintf(s->out, "%s\n", line);
    free(line);
  } else {
    /* Out of memory: the record still shows, as the library printed it. */
    fprintf(s->out, "%s: (log line lost: out of memory)\n", mrt_log_level_name(rec->level));
  }
  fflush(s->out);
}

void mn_log_install(mn_log_format f, FILE *out) {
  sink_state *s = &slots[next_slot];
  next_slot ^= 1;
  s->format = f;
  s->out = out != NULL ? out : stderr;
  mrt_log_set_sink(sink, s);
}

void mn_log_uninstall(void) {
  mrt_log_set_sink(NULL, NULL);
}

/* libevent may warn from any thread that runs a loop: the limiter is shared
 * under a mutex. */
static pthread_mutex_t libevent_mu = PTHREAD_MUTEX_INITIALIZER;
static mn_ratelimit libevent_rl;

static void on_libevent_log(int severity, const char *msg) {
  uint64_t held = 0;
  pthread_mutex_lock(&libevent_mu);
  bool allow = mn_ratelimit_allow(&libevent_rl, mn_now_ns(), 10 * UINT64_C(1000000000), &held);
  pthread_mutex_unlock(&libevent_mu);
  if (!allow)
    return;
  mrt_log_level level = severity >= EVENT_LOG_ERR    ? MRT_LOG_ERROR
                        : severity == EVENT_LOG_WARN ? MRT_LOG_WARN
                        : severity == EVENT_LOG_MSG  ? MRT_LOG_INFO
                                                     : MRT_LOG_DEBUG;
  mrt_log(level, "libevent", "%s held_back=%" PRIu64, msg != NULL ? msg : "?", held);
}

void mn_log_route_libevent(void) {
  event_set_log_callback(on_libevent_log);
}
