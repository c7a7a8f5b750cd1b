/* meshrt-node — log sink: human lines (the default) or JSON for machines.
 *
 * meshrt records read "what happened key=value key=value". The human format
 * prints them as they are, after a UTC timestamp, the level and the
 * component. The JSON format makes one object per line:
 *   {"time":"...Z","level":"info","component":"direct","msg":"socket bound",
 *    "fields":{"local":"127.0.0.1:41641","dual_stack":0}}
 * where "msg" is the text before the first key=value token and "fields" holds
 * the key=value tokens (integers as numbers). Text that does not fit that
 * shape is kept whole in "text", so nothing is ever lost.
 *
 * Threading: the library calls the sink from any thread under its own read
 * lock; every record is written with a single stdio call, and stdio locks the
 * stream, so lines never interleave. The sink's state is set before it is
 * installed and never changed while installed.
 */
#include "logsink.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <meshrt/meshrt.h>

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

const char *mn_log_format_name(mn_log_format f) { return f == MN_LOG_JSON ? "json" : "human"; }

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

static json_t *kv_value(const char *v, size_t len) {
  char buf[256];
  if (len >= sizeof buf)
    len = sizeof buf - 1;
  memcpy(buf, v, len);
  buf[len] = '\0';
  if (len > 0 && len < 19 && (isdigit((unsigned char)buf[0]) || buf[0] == '-')) {
    char *end;
    errno = 0;
    long long n = strtoll(buf, &end, 10);
    if (errno == 0 && *end == '\0' && end != buf)
      return json_integer(n);
  }
  return json_string(buf);
}

/* Splits "msg k=v k=v" into msg and fields; returns false when the text has
 * other words after the first key=value (then the caller keeps it whole). */
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
      char key[64];
      snprintf(key, sizeof key, "%.*s", (int)(eq < 63 ? eq : 63), tok);
      json_object_set_new(fields, key, kv_value(tok + eq + 1, len - eq - 1));
    } else if (in_fields) {
      return false;
    }
  }
  while (*msg_len > 0 && text[*msg_len - 1] == ' ')
    (*msg_len)--;
  return true;
}

static void write_json(const mrt_log_record *rec, FILE *out) {
  char stamp[40];
  format_time(rec->wall_time_ns, stamp, sizeof stamp);
  json_t *o = json_object();
  json_t *fields = json_object();
  if (o == NULL || fields == NULL) {
    json_decref(o);
    json_decref(fields);
    return;
  }
  size_t msg_len;
  bool split = split_text(rec->text, fields, &msg_len);
  json_object_set_new(o, "time", json_string(stamp));
  json_object_set_new(o, "level", json_string(mrt_log_level_name(rec->level)));
  json_object_set_new(o, "component", json_string(rec->component ? rec->component : "-"));
  json_object_set_new(o, "msg", json_stringn(rec->text, split ? msg_len : strlen(rec->text)));
  if (!split)
    json_object_set_new(o, "text", json_string(rec->text));
  if (json_object_size(fields) > 0)
    json_object_set(o, "fields", fields);
  json_decref(fields);
  char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
  json_decref(o);
  if (line != NULL) {
    fprintf(out, "%s\n", line);
    free(line);
  }
}

static void sink(const mrt_log_record *rec, void *user) {
  const sink_state *s = user;
  if (s->format == MN_LOG_JSON) {
    write_json(rec, s->out);
  } else {
    char stamp[40];
    format_time(rec->wall_time_ns, stamp, sizeof stamp);
    fprintf(s->out, "%s %-5s %s: %s\n", stamp, mrt_log_level_name(rec->level),
            rec->component ? rec->component : "-", rec->text);
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

void mn_log_uninstall(void) { mrt_log_set_sink(NULL, NULL); }
