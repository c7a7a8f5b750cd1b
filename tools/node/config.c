/* SPDX-License-Identifier: MIT */
/* meshrt-node — loading the JSON config (see config.h).
 *
 * Each field has a small parser that either stores the value or writes
 * "FILE: FIELD: expected ..., got ..." and fails; the loader stops at the
 * first failure and frees what it built, so a config is applied whole or not
 * at all. Unknown fields are errors too: a misspelt "listen_prot" silently
 * ignored would be worse than a refusal. Paths inside the config (key file,
 * DERP map file) are relative to the config file's directory. The key file
 * is created last, once everything else was accepted, so a broken config
 * leaves no trace.
 *
 * Threading: plain blocking code for the main thread (start-up and SIGHUP).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "keyfile.h"
#include "logsink.h"
#include "text.h"
#include "util.h"

typedef struct ectx {
  const char *path;
  char *buf;
  size_t len;
  unsigned flags; /* MN_CONFIG_* */
} ectx;

static const char *const known_fields[] = {
    "listen_address", "listen_port", "disable_ipv6", "advertise_local", "key_file",
    "derp_map_file",  "derp_map",    "peers",        "network_monitor", "ignored_interfaces",
    "control_socket", "metrics",     "log_level",    "log_format",      NULL};

/* How much of an offending value a message quotes. */
#define GOT_MAX 60

/* Writes "PATH: FIELD: <fmt>[, got <value>]" and returns -EINVAL. What the
 * message quotes (the path, a field name, the value, jansson's text) is
 * hostile: the whole message is sanitized, so it is valid UTF-8 without
 * control characters, and cut visibly ("...") on a character boundary. */
__attribute__((format(printf, 4, 5))) static int bad(ectx *e, const char *field, json_t *got,
                                                     const char *fmt, ...) {
  char *what = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&what, fmt, ap);
  va_end(ap);
  char *g = got != NULL ? json_dumps(got, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
  char gq[GOT_MAX + 4];
  if (g != NULL)
    mn_text_clean(g, strlen(g), gq, sizeof gq);
  mn_text_printf(e->buf, e->len, "%s: %s: %s%s%s", e->path, field, n >= 0 ? what : "?",
                 g ? ", got " : "", g ? gq : "");
  free(what);
  free(g);
  return -EINVAL;
}

int mn_monitor_kind_parse(const char *name) {
  if (name == NULL)
    return -EINVAL;
  if (!strcasecmp(name, "off") || !strcasecmp(name, "none") || !strcasecmp(name, "false"))
    return MN_MONITOR_OFF;
  if (!strcasecmp(name, "netlink") || !strcasecmp(name, "true"))
    return MN_MONITOR_NETLINK;
  if (!strcasecmp(name, "manual"))
    return MN_MONITOR_MANUAL;
  return -EINVAL;
}

const char *mn_monitor_kind_name(mn_monitor_kind k) {
  return k == MN_MONITOR_NETLINK ? "netlink" : k == MN_MONITOR_MANUAL ? "manual" : "off";
}

int mn_metrics_addr_parse(const char *text, struct sockaddr_storage *out) {
  if (text == NULL || text[0] == '\0')
    return -EINVAL;
  char buf[128];
  /* A bare port (or ":PORT") means loopback. */
  if (strchr(text, ':') == NULL || text[0] == ':') {
    int n = snprintf(buf, sizeof buf, "127.0.0.1:%s", text[0] == ':' ? text + 1 : text);
    if (n < 0 || (size_t)n >= sizeof buf)
      return -EINVAL;
    text = buf;
  }
  return mn_parse_hostport(text, out);
}

/* A path from the config, relative to the config file's directory. */
static char *resolve(const char *cfg_path, const char *p) {
  if (p[0] == '/')
    return strdup(p);
  char *copy = strdup(cfg_path);
  if (copy == NULL)
    return NULL;
  char *out = NULL;
  if (asprintf(&out, "%s/%s", dirname(copy), p) < 0)
    out = NULL;
  free(copy);
  return out;
}

/* ---- scalar fields --------------------------------------------------------------- */

static int get_bool(ectx *e, json_t *v, const char *field, bool *out) {
  if (!json_is_boolean(v))
    return bad(e, field, v, "expected true or false");
  *out = json_is_true(v);
  return 0;
}

static int get_string(ectx *e, json_t *v, const char *field, const char **out) {
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      strlen(json_string_value(v)) != json_string_length(v))
    return bad(e, field, v, "expected a non-empty string");
  *out = json_string_value(v);
  return 0;
}

static int parse_listen(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "listen_address");
  if (v != NULL && (!json_is_string(v) || mn_parse_ip(json_string_value(v), &c->listen_addr) < 0))
    return bad(e, "listen_address", v,
               "expected an IP address (\"127.0.0.1\", \"::1\"), or \"\" for all addresses");
  v = json_object_get(root, "listen_port");
  if (v != NULL) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 65535)
      return bad(e, "listen_port", v, "expected an integer from 0 (any free port) to 65535");
    c->listen_port = (uint16_t)json_integer_value(v);
  }
  if ((v = json_object_get(root, "disable_ipv6")) != NULL &&
      get_bool(e, v, "disable_ipv6", &c->disable_ipv6) < 0)
    return -EINVAL;
  if ((v = json_object_get(root, "advertise_local")) != NULL &&
      get_bool(e, v, "advertise_local", &c->advertise_local) < 0)
    return -EINVAL;
  return 0;
}

static int parse_monitor(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "network_monitor");
  if (v == NULL)
    return 0;
  int k = json_is_boolean(v)  ? (json_is_true(v) ? MN_MONITOR_NETLINK : MN_MONITOR_OFF)
          : json_is_string(v) ? mn_monitor_kind_parse(json_string_value(v))
                              : -EINVAL;
  if (k < 0)
    return bad(e, "network_monitor", v, "expected true, false, \"netlink\", \"manual\" or \"off\"");
  /* Refused here, with the other config errors, rather than when the node
   * opens the monitor: by then the runtime and the observer run, and the
   * exit code would say "runtime failure" for what is a config error. */
  if (k == MN_MONITOR_NETLINK && !mrt_node_network_monitor_available())
    return bad(e, "network_monitor", v, "%s", MN_NO_NETLINK_FEATURE);
  c->network_monitor = (mn_monitor_kind)k;
  return 0;
}

static int parse_ignored(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "ignored_interfaces");
  if (v == NULL)
    return 0;
  if (!json_is_array(v))
    return bad(e, "ignored_interfaces", v, "expected an array of interface names");
  size_t n = json_array_size(v);
  if ((c->ignored = calloc(n + 1, sizeof *c->ignored)) == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_t *s = json_array_get(v, i);
    char field[64];
    snprintf(field, sizeof field, "ignored_interfaces[%zu]", i);
    if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) > 16)
      return bad(e, field, s, "expected an interface name or a prefix ending in '*' (1-16 bytes)");
    if ((c->ignored[i] = strdup(json_string_value(s))) == NULL)
      return -ENOMEM;
  }
  return 0;
}

static int parse_service(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "control_socket");
  const char *s = NULL;
  struct sockaddr_un un;
  if (v != NULL) {
    if (get_string(e, v, "control_socket", &s) < 0 || strlen(s) >= sizeof un.sun_path)
      return bad(e, "control_socket", v, "expected a socket path of at most %zu bytes",
                 sizeof un.sun_path - 1);
    if ((c->control_socket = strdup(s)) == NULL)
      return -ENOMEM;
  }
  v = json_object_get(root, "metrics");
  if (v != NULL && !json_is_null(v) && !json_is_false(v)) {
    struct sockaddr_storage ss;
    if (!json_is_string(v) || mn_metrics_addr_parse(json_string_value(v), &ss) < 0)
      return bad(e, "metrics", v, "expected \"[ADDR:]PORT\" (e.g. \"127.0.0.1:9464\"), or null");
    if ((c->metrics = strdup(json_string_value(v))) == NULL)
      return -ENOMEM;
  }
  return 0;
}

static int parse_logging(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "log_level");
  if (v != NULL) {
    c->log_level = json_is_string(v) ? mrt_log_level_parse(json_string_value(v)) : -EINVAL;
    if (c->log_level < 0)
      return bad(e, "log_level", v,
                 "expected \"error\", \"warn\", \"info\", \"debug\" or \"trace\"");
  }
  v = json_object_get(root, "log_format");
  if (v != NULL) {
    c->log_format = json_is_string(v) ? mn_log_format_parse(json_string_value(v)) : -EINVAL;
    if (c->log_format < 0)
      return bad(e, "log_format", v, "expected \"human\" or \"json\"");
  }
  return 0;
}

/* ---- the DERP map ------------------------------------------------------------------ */

static int derp_from_json(ectx *e, const char *field, const char *prefix, json_t *map,
                          mn_config *c) {
  c->derp_canon = json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS);
  if (c->derp_canon == NULL)
    return -ENOMEM;
  char err[MRT_DERP_MAP_ERR_LEN];
  int rc = mrt_derp_map_parse(c->derp_canon, strlen(c->derp_canon), &c->derp_map, err, sizeof err);
  if (rc == -ENOMEM)
    return rc;
  if (rc < 0)
    return bad(e, field, NULL, "%s%s", prefix, err);
  return 0;
}

static int derp_from_file(ectx *e, json_t *v, mn_config *c) {
  const char *rel = NULL;
  if (get_string(e, v, "derp_map_file", &rel) < 0)
    return -EINVAL;
  char *path = resolve(e->path, rel);
  if (path == NULL)
    return -ENOMEM;
  if (e->flags & MN_CONFIG_NO_FILES) {
    free(path);
    return 0; /* checked as a field; the file is not read */
  }
  struct stat st;
  json_error_t jerr;
  json_t *map = NULL;
  int rc;
  if (stat(path, &st) < 0)
    rc = bad(e, "derp_map_file", NULL, "cannot read %s: %s", path, strerror(errno));
  else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MRT_DERP_MAP_MAX_FILE_SIZE)
    rc = bad(e, "derp_map_file", NULL, "%s: expected a regular file of at most %u bytes", path,
             MRT_DERP_MAP_MAX_FILE_SIZE);
  else if ((map = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
    rc = bad(e, "derp_map_file", NULL, "%s: line %d column %d: %s", path, jerr.line, jerr.column,
             jerr.text);
  else {
    char prefix[PATH_MAX + 4];
    snprintf(prefix, sizeof prefix, "%s: ", path);
    rc = derp_from_json(e, "derp_map_file", prefix, map, c);
  }
  json_decref(map);
  free(path);
  return rc;
}

static int parse_derp(ectx *e, json_t *root, mn_config *c) {
  json_t *file = json_object_get(root, "derp_map_file");
  json_t *inl = json_object_get(root, "derp_map");
  if (file != NULL && inl != NULL)
    return bad(e, "derp_map", NULL, "expected either derp_map or derp_map_file, not both");
  int rc = 0;
  if (file != NULL)
    rc = derp_from_file(e, file, c);
  else if (inl != NULL && !json_is_object(inl))
    rc = bad(e, "derp_map", inl, "expected a DERP map object ({\"Regions\": {...}})");
  else if (inl != NULL)
    rc = derp_from_json(e, "derp_map", "", inl, c);
  if (rc == 0 && c->derp_canon == NULL)
    c->derp_canon = strdup("");
  return rc == 0 && c->derp_canon == NULL ? -ENOMEM : rc;
}

/* ---- peers ------------------------------------------------------------------------ */

static int parse_endpoints(ectx *e, json_t *v, size_t i, struct sockaddr_storage **out, size_t *n) {
  char field[64];
  snprintf(field, sizeof field, "peers[%zu].endpoints", i);
  if (!json_is_array(v) || json_array_size(v) > MRT_PEER_MAP_MAX_ENDPOINTS)
    return bad(e, field, v, "expected an array of at most %d \"ADDR:PORT\" strings",
               MRT_PEER_MAP_MAX_ENDPOINTS);
  *n = json_array_size(v);
  if ((*out = calloc(*n ? *n : 1, sizeof **out)) == NULL)
    return -ENOMEM;
  for (size_t j = 0; j < *n; j++) {
    json_t *a = json_array_get(v, j);
    snprintf(field, sizeof field, "peers[%zu].endpoints[%zu]", i, j);
    if (!json_is_string(a) || mn_parse_hostport(json_string_value(a), &(*out)[j]) < 0 ||
        mn_addr_port(&(*out)[j]) == 0)
      return bad(e, field, a, "expected \"ADDR:PORT\" or \"[IPV6]:PORT\" with a port 1-65535");
  }
  return 0;
}

static int check_peer_fields(ectx *e, json_t *p, size_t i) {
  const char *key;
  json_t *val;
  json_object_foreach(p, key, val) {
    if (strcmp(key, "id") != 0 && strcmp(key, "public_key") != 0 && strcmp(key, "endpoints") != 0 &&
        strcmp(key, "name") != 0) {
      char field[96];
      snprintf(field, sizeof field, "peers[%zu].%s", i, key);
      return bad(e, field, NULL, "unknown field (expected id, public_key, endpoints, name)");
    }
  }
  return 0;
}

static int parse_peer(ectx *e, json_t *p, size_t i, mrt_peer_map *map) {
  char field[64];
  snprintf(field, sizeof field, "peers[%zu]", i);
  if (!json_is_object(p))
    return bad(e, field, p, "expected an object {\"id\", \"public_key\", \"endpoints\"}");
  if (check_peer_fields(e, p, i) < 0)
    return -EINVAL;
  json_t *id = json_object_get(p, "id"), *key = json_object_get(p, "public_key");
  snprintf(field, sizeof field, "peers[%zu].id", i);
  if (!json_is_integer(id) || json_integer_value(id) <= 0)
    return bad(e, field, id, "expected a positive integer, unique among peers");
  uint8_t pub[MRT_PROBE_KEY_LEN];
  snprintf(field, sizeof field, "peers[%zu].public_key", i);
  if (!json_is_string(key) || mn_unhex(json_string_value(key), pub, sizeof pub) < 0)
    return bad(e, field, key, "expected 64 hex digits (the peer's public key)");
  snprintf(field, sizeof field, "peers[%zu].name", i);
  json_t *name = json_object_get(p, "name");
  if (name != NULL && !json_is_string(name))
    return bad(e, field, name, "expected a string");
  struct sockaddr_storage *eps = NULL;
  size_t n = 0;
  json_t *ev = json_object_get(p, "endpoints");
  json_t *none = ev == NULL ? json_array() : NULL; /* no endpoints: none known yet */
  int rc = parse_endpoints(e, ev != NULL ? ev : none, i, &eps, &n);
  json_decref(none);
  if (rc == 0) {
    rc = mrt_peer_map_add(map, (uint64_t)json_integer_value(id), pub, eps, n);
    snprintf(field, sizeof field, "peers[%zu].id", i);
    if (rc == -EEXIST)
      rc = bad(e, field, id, "expected a unique id (another peer has it)");
    else if (rc == -EINVAL)
      rc = bad(e, field, NULL, "the peer was refused (its key or endpoints are unusable)");
  }
  free(eps);
  return rc;
}

static int parse_peers(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "peers");
  if (v == NULL) {
    c->peers_canon = strdup("");
    return c->peers_canon ? 0 : -ENOMEM;
  }
  if (!json_is_array(v))
    return bad(e, "peers", v, "expected an array of peers");
  int rc = mrt_peer_map_new(&c->peers);
  for (size_t i = 0; rc == 0 && i < json_array_size(v); i++)
    rc = parse_peer(e, json_array_get(v, i), i, c->peers);
  if (rc == 0 && (c->peers_canon = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
    rc = -ENOMEM;
  return rc;
}

/* ---- the key file ------------------------------------------------------------------ */

static int read_key(ectx *e, const char *path, int fd, mrt_probe_keypair *key) {
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  uint8_t secret[MRT_PROBE_SECRET_LEN];
  if (n < 0)
    return bad(e, "key_file", NULL, "cannot read %s: %s", path, strerror(errno));
  buf[n] = '\0';
  int rc = 0;
  if (mn_unhex(buf, secret, sizeof secret) < 0 || mrt_probe_keypair_from_secret(secret, key) < 0)
    rc = bad(e, "key_file", NULL, "%s: expected 64 hex digits (the node's secret key)", path);
  sodium_memzero(buf, sizeof buf);
  sodium_memzero(secret, sizeof secret);
  return rc;
}

/* Creates the key file with a fresh secret, whole or not at all
 * (keyfile.c). */
static int create_key(ectx *e, const char *path, mrt_probe_keypair *key) {
  char why[PATH_MAX + 128];
  int rc = mn_keyfile_create(path, key, why, sizeof why);
  if (rc < 0 && rc != -EEXIST && rc != -ENOMEM)
    return bad(e, "key_file", NULL, "%s", why);
  return rc;
}

static int load_key(ectx *e, mn_config *c) {
  int fd = open(c->key_file, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && (e->flags & MN_CONFIG_NO_CREATE)) {
    c->key_missing = true; /* a start would create it */
    return 0;
  }
  if (fd < 0 && errno == ENOENT) {
    int rc = create_key(e, c->key_file, &c->key);
    if (rc != -EEXIST) {
      c->key_created = rc == 0;
      c->have_key = rc == 0;
      return rc;
    }
    /* Another process created it meanwhile: use theirs. */
    fd = open(c->key_file, O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0)
    return bad(e, "key_file", NULL, "cannot open %s: %s", c->key_file, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0)
    mrt_log(MRT_LOG_WARN, MN_LOG, "key file is readable by others path=%s mode=%03o", c->key_file,
            (unsigned)(st.st_mode & 0777));
  int rc = read_key(e, c->key_file, fd, &c->key);
  close(fd);
  c->have_key = rc == 0;
  return rc;
}

static int parse_key_field(ectx *e, json_t *root, mn_config *c) {
  json_t *v = json_object_get(root, "key_file");
  const char *s = NULL;
  if (v == NULL)
    return 0;
  if (get_string(e, v, "key_file", &s) < 0)
    return -EINVAL;
  c->key_file = resolve(e->path, s);
  return c->key_file ? 0 : -ENOMEM;
}

/* ---- loading ------------------------------------------------------------------------ */

static int check_fields(ectx *e, json_t *root) {
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    bool known = false;
    for (size_t i = 0; known_fields[i] != NULL && !known; i++)
      known = strcmp(key, known_fields[i]) == 0;
    if (!known)
      return bad(e, key, NULL,
                 "unknown field (expected listen_address, listen_port, disable_ipv6, "
                 "advertise_local, key_file, derp_map_file, derp_map, peers, network_monitor, "
                 "ignored_interfaces, control_socket, metrics, log_level, log_format)");
  }
  return 0;
}

static int parse_all(ectx *e, json_t *root, mn_config *c) {
  int rc = check_fields(e, root);
  if (rc == 0)
    rc = parse_listen(e, root, c);
  if (rc == 0)
    rc = parse_key_field(e, root, c);
  if (rc == 0)
    rc = parse_derp(e, root, c);
  if (rc == 0)
    rc = parse_peers(e, root, c);
  if (rc == 0)
    rc = parse_monitor(e, root, c);
  if (rc == 0)
    rc = parse_ignored(e, root, c);
  if (rc == 0)
    rc = parse_service(e, root, c);
  if (rc == 0)
    rc = parse_logging(e, root, c);
  /* Last: the only step with a side effect (it may create the key file,
   * unless MN_CONFIG_NO_CREATE). */
  if (rc == 0 && c->key_file != NULL && !(e->flags & MN_CONFIG_NO_FILES))
    rc = load_key(e, c);
  return rc;
}

/* The config in `root` (taken), loaded into *out. */
static int load_root(ectx *e, json_t *root, mn_config **out) {
  mn_config *c = calloc(1, sizeof *c);
  int rc = c == NULL ? -ENOMEM : 0;
  if (rc == 0) {
    c->advertise_local = true;
    c->log_level = c->log_format = -1;
    rc = (c->path = strdup(e->path)) == NULL ? -ENOMEM : 0;
  }
  if (rc == 0 && !json_is_object(root))
    rc = bad(e, "(top level)", NULL, "expected a JSON object of settings");
  if (rc == 0)
    rc = parse_all(e, root, c);
  json_decref(root);
  if (rc == -ENOMEM)
    mn_text_printf(e->buf, e->len, "%s: out of memory", e->path);
  if (rc < 0) {
    mn_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}

/* jerr.text may quote the file's bytes (control characters, half a
 * character where jansson cut it): sanitized with the rest. */
static int syntax_error(ectx *e, const json_error_t *jerr) {
  mn_text_printf(e->buf, e->len, "%s: line %d column %d: expected a JSON object: %s", e->path,
                 jerr->line, jerr->column, jerr->text);
  return -EINVAL;
}

int mn_config_load(const char *path, unsigned flags, mn_config **out, char *err, size_t errlen) {
  ectx e = {path, err, errlen, flags};
  *out = NULL;
  json_error_t jerr;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    if (access(path, R_OK) < 0) {
      int saved = errno;
      mn_text_printf(err, errlen, "%s: cannot read the config file: %s", path, strerror(saved));
      return -saved;
    }
    return syntax_error(&e, &jerr);
  }
  return load_root(&e, root, out);
}

int mn_config_parse(const char *path, const char *text, size_t len, unsigned flags, mn_config **out,
                    char *err, size_t errlen) {
  ectx e = {path, err, errlen, flags};
  *out = NULL;
  json_error_t jerr;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  return root != NULL ? load_root(&e, root, out) : syntax_error(&e, &jerr);
}

void mn_config_free(mn_config *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; c->ignored != NULL && c->ignored[i] != NULL; i++)
    free(c->ignored[i]);
  free(c->ignored);
  mrt_derp_map_unref(c->derp_map);
  mrt_peer_map_unref(c->peers);
  free(c->derp_canon);
  free(c->peers_canon);
  free(c->key_file);
  free(c->control_socket);
  free(c->metrics);
  free(c->path);
  sodium_memzero(&c->key, sizeof c->key);
  free(c);
}

void mn_config_to_node(const mn_config *c, mrt_node_config *out) {
  *out = mrt_node_config_default();
  out->listen_addr = c->listen_addr;
  out->listen_port = c->listen_port;
  out->disable_ipv6 = c->disable_ipv6;
  out->advertise_local = c->advertise_local;
  if (c->have_key)
    out->key = c->key;
  out->derp_map = c->derp_map;
  out->peers = c->peers;
  /* The measurer binds the same family as the underlay, on any port. */
  out->measure_addr = c->listen_addr;
  mn_addr_set_port(&out->measure_addr, 0);
  out->ignored_interfaces = (const char *const *)c->ignored;
}
