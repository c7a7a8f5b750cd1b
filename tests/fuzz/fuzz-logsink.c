/* SPDX-License-Identifier: MIT */
/* Fuzz target: the node's log sink (mn_log_render), human and JSON, for a
 * record with any level, component and text bytes (the library sanitizes
 * text before a sink sees it; the sink does not rely on that).
 *
 * Input: byte 0 the level, then the component up to the first NUL, then the
 * text up to the next NUL.
 *
 * Properties:
 *   - human: one line (no newline inside), valid UTF-8 without control
 *     characters, ending in the sanitized text;
 *   - JSON: one line of ASCII that parses to an object with string "time",
 *     "level", "component" and "msg"; either "text" (the whole sanitized
 *     text) or, when the text split into a message and key=value fields,
 *     the message followed by the fields rebuilds the text word for word
 *     (nothing dropped, nothing cut); every string is clean.
 */
#include <string.h>

#include <jansson.h>
#include <meshrt/meshrt.h>

#include "fuzz.h"
#include "logsink.h"

/* The text's words (split on spaces) joined by one space. */
static char *words(const char *s) {
  char *out = malloc(strlen(s) + 1);
  size_t o = 0;
  for (const char *p = s; *p;) {
    while (*p == ' ')
      p++;
    if (*p == '\0')
      break;
    if (o > 0)
      out[o++] = ' ';
    while (*p && *p != ' ')
      out[o++] = *p++;
  }
  out[o] = '\0';
  return out;
}

static void check_json(const char *line, const char *clean) {
  for (const char *p = line; *p; p++)
    FUZZ_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f, "not printable ASCII");
  json_error_t jerr;
  json_t *o = json_loads(line, 0, &jerr);
  FUZZ_CHECK(json_is_object(o), "not a JSON object: %s", jerr.text);
  const char *keys[] = {"time", "level", "component", "msg"};
  for (size_t i = 0; i < 4; i++) {
    const char *v = json_string_value(json_object_get(o, keys[i]));
    FUZZ_CHECK(v != NULL && fuzz_clean_text(v, strlen(v)), "%s", keys[i]);
  }
  const char *msg = json_string_value(json_object_get(o, "msg"));
  json_t *text = json_object_get(o, "text"), *fields = json_object_get(o, "fields");
  char *want = words(clean);
  if (text != NULL) {
    FUZZ_CHECK(fields == NULL && strcmp(json_string_value(text), clean) == 0, "text");
  } else {
    /* Rebuild "msg k=v k=v" from the fields, in their order. */
    size_t cap = strlen(clean) * 2 + 64, o2 = 0;
    char *built = malloc(cap);
    o2 += (size_t)snprintf(built, cap, "%s", msg);
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) {
      FUZZ_CHECK(json_is_string(v) || json_is_integer(v), "field %s", k);
      if (json_is_string(v))
        o2 += (size_t)snprintf(built + o2, cap - o2, " %s=%s", k, json_string_value(v));
      else
        o2 += (size_t)snprintf(built + o2, cap - o2, " %s=%" JSON_INTEGER_FORMAT, k,
                               json_integer_value(v));
      FUZZ_CHECK(o2 < cap, "rebuilt text too long");
    }
    char *got = words(built);
    FUZZ_CHECK(strcmp(got, want) == 0, "fields do not rebuild the text:\n  %s\n  %s", got, want);
    free(got);
    free(built);
  }
  free(want);
  json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  char *copy = malloc(size + 1);
  memcpy(copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  const char *component = copy, *text = copy + strlen(copy);
  if ((size_t)(text - copy) < size - 1)
    text++; /* past the NUL: the text follows */
  mrt_log_record rec = {.level = (mrt_log_level)(data[0] % 6),
                        .wall_time_ns = (uint64_t)data[0] * 977,
                        .component = component[0] ? component : NULL,
                        .text = text};
  size_t tlen = strlen(text), cap = 4 * tlen + 4;
  char *clean = malloc(cap);
  mrt_log_sanitize(clean, cap, text, tlen);

  char *human = mn_log_render(MN_LOG_HUMAN, &rec);
  FUZZ_CHECK(human != NULL, "no human line");
  FUZZ_CHECK(fuzz_clean_text(human, strlen(human)), "human line not clean");
  FUZZ_CHECK(strlen(human) >= strlen(clean) &&
                 strcmp(human + strlen(human) - strlen(clean), clean) == 0,
             "human line does not end in the text");
  free(human);
  char *line = mn_log_render(MN_LOG_JSON, &rec);
  FUZZ_CHECK(line != NULL, "no JSON line");
  check_json(line, clean);
  free(line);
  free(clean);
  free(copy);
  return 0;
}
