/* SPDX-License-Identifier: MIT */
/* meshrt — DERP map parsing, copying and STUN server listing.
 *
 * The DERP map arrives from control as Tailscale DERPMap JSON and decides where
 * the node relays and which servers it probes, so a malformed map must never
 * half-apply: this file validates the whole document with jansson and builds
 * the map only if every field is acceptable, otherwise it reports the first bad
 * field by its path (`Regions["1"].Nodes[0].IPv4: ...`). The input is treated as
 * hostile: every type and range is checked, offending values are quoted shortened
 * and escaped, and nothing aborts. The accepted format is documented in
 * <meshrt/derp_map.h>.
 *
 * Threading: parsing and copying touch only their own allocations and are
 * reentrant. A finished map is immutable, so readers on any thread need no
 * locks; only its reference count changes after construction, and that is
 * atomic (see mrt_derp_map_ref/unref for the orderings).
 */
#include <meshrt/derp_map.h>
#include <meshrt/log.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

struct mrt_derp_map {
  atomic_size_t refs;
  size_t n_regions;
  mrt_derp_region *regions; /* sorted by region_id, ids unique */
};

/* Longest part of an offending value or key quoted in a message, so that a
 * whole message fits in MRT_DERP_MAP_ERR_LEN bytes. */
#define QUOTE_MAX 40

/* Where the parser is, for error messages. region_key is NULL outside a region;
 * node is -1 outside a node. */
struct perr {
  char *buf;
  size_t len;
  const char *region_key;
  long node;
};

/* Write s as a JSON string literal into out, keeping at most QUOTE_MAX bytes of
 * it. Hostile text must not inject control characters (C0, DEL and C1) into a
 * log line, so they are escaped; cutting happens on a UTF-8 character boundary so the message
 * stays valid UTF-8 (jansson guarantees the input is). */
static void quote(const char *s, char *out, size_t outlen) {
  size_t n = strlen(s), keep = n, o = 0;

  if (keep > QUOTE_MAX) {
    keep = QUOTE_MAX;
    while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
      keep--;
  }
  /* Worst case per input byte is 6 output bytes (\u00XX), plus quotes,
     * "..." and NUL; callers pass a buffer sized for that. */
  out[o++] = '"';
  for (size_t i = 0; i < keep && o + 10 < outlen; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      o += (size_t)snprintf(out + o, outlen - o, "\\%c", c);
    else if (c < 0x20 || c == 0x7F)
      o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
    else if (c == 0xC2 && i + 1 < keep && (unsigned char)s[i + 1] >= 0x80 &&
             (unsigned char)s[i + 1] <= 0x9F)
      /* C1 controls (U+0080..U+009F) are controls too: some terminals
             * act on them. */
      o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", (unsigned char)s[++i]);
    else
      out[o++] = (char)c;
  }
  snprintf(out + o, outlen - o, "%s\"", keep < n ? "..." : "");
}

#define QUOTED_LEN (QUOTE_MAX * 6 + 8)

/* A short description of a JSON value for "got ..." in messages. */
static void describe(const json_t *v, char *out, size_t outlen) {
  snprintf(out, outlen, "null");
  switch (json_typeof(v)) {
  case JSON_STRING: quote(json_string_value(v), out, outlen); break;
  case JSON_INTEGER: snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
  case JSON_REAL:
    /* A real that happens to be whole still reads as a real ("1.0"), so
         * "expected an integer, got 1.0" is not self-contradictory. */
    snprintf(out, outlen, "%.15g", json_real_value(v));
    if (strpbrk(out, ".eEni") == NULL && strlen(out) + 3 <= outlen)
      strcat(out, ".0");
    break;
  case JSON_OBJECT: snprintf(out, outlen, "an object"); break;
  case JSON_ARRAY: snprintf(out, outlen, "an array"); break;
  case JSON_TRUE: snprintf(out, outlen, "true"); break;
  case JSON_FALSE: snprintf(out, outlen, "false"); break;
  case JSON_NULL: break;
  }
}

/* The dotted path of `field` at the parser's position: "Regions", or
 * `Regions["7"].Nodes[2].IPv6`. field may be NULL to name the container. */
static void format_path(const struct perr *pe, const char *field, char *out, size_t outlen) {
  char key[QUOTED_LEN];
  int o;

  if (pe->region_key == NULL) {
    snprintf(out, outlen, "%s", field != NULL ? field : "(root)");
    return;
  }
  quote(pe->region_key, key, sizeof(key));
  o = snprintf(out, outlen, "Regions[%s]", key);
  if (pe->node >= 0 && o >= 0 && (size_t)o < outlen)
    o += snprintf(out + o, outlen - (size_t)o, ".Nodes[%ld]", pe->node);
  if (field != NULL && o >= 0 && (size_t)o < outlen)
    snprintf(out + o, outlen - (size_t)o, ".%s", field);
}

/* Record "<path>: <message>" and return -EBADMSG, the code for a bad document.
 * quote() escapes C0 controls; the rest a terminal may act on (C1 controls,
 * line separators, bidirectional overrides) is escaped by sanitizing the
 * whole message, as set_err does. */
__attribute__((format(printf, 3, 4))) static int fail(const struct perr *pe, const char *field,
                                                      const char *fmt, ...) {
  char path[QUOTED_LEN + 64], raw[2 * MRT_DERP_MAP_ERR_LEN];
  va_list ap;
  int o;

  if (pe->buf == NULL || pe->len == 0)
    return -EBADMSG;
  format_path(pe, field, path, sizeof(path));
  o = snprintf(raw, sizeof(raw), "%s: ", path);
  if (o >= 0 && (size_t)o < sizeof(raw)) {
    va_start(ap, fmt);
    vsnprintf(raw + o, sizeof(raw) - (size_t)o, fmt, ap);
    va_end(ap);
  }
  mrt_log_sanitize(pe->buf, pe->len, raw, strlen(raw));
  return -EBADMSG;
}

static int fail_type(const struct perr *pe, const char *field, const char *want,
                     const json_t *got) {
  char desc[QUOTED_LEN];

  describe(got, desc, sizeof(desc));
  return fail(pe, field, "expected %s, got %s", want, desc);
}

/* Plain message without a path (argument and I/O errors). Messages quote the
 * document (jansson's syntax message quotes the bytes near the error, control
 * characters included): the whole message is sanitized, and one cut for length
 * is cut on a character boundary with "..." (mrt_log_sanitize). */
__attribute__((format(printf, 3, 4))) static void set_err(char *buf, size_t len, const char *fmt,
                                                          ...) {
  char raw[2 * MRT_DERP_MAP_ERR_LEN];
  va_list ap;
  int n;

  if (buf == NULL || len == 0)
    return;
  va_start(ap, fmt);
  n = vsnprintf(raw, sizeof(raw), fmt, ap);
  va_end(ap);
  if (n < 0)
    n = 0;
  mrt_log_sanitize(buf, len, raw, (size_t)n < sizeof(raw) ? (size_t)n : sizeof(raw) - 1);
}

/* A present, non-null member, or NULL: Go's decoder leaves a field at its zero
 * value for null, and Tailscale emits null for empty slices, so null = absent. */
static json_t *member(const json_t *obj, const char *field) {
  json_t *v = json_object_get(obj, field);
  return json_is_null(v) ? NULL : v;
}

/* An optional string field, copied (absent -> ""). */
static int get_string(const struct perr *pe, const json_t *obj, const char *field, char **out) {
  json_t *v = member(obj, field);

  if (v != NULL && !json_is_string(v))
    return fail_type(pe, field, "a string", v);
  *out = strdup(v != NULL ? json_string_value(v) : "");
  return *out != NULL ? 0 : -ENOMEM;
}

/* An integer field within [lo, hi]. Absent: error if required, else *out = 0. */
static int get_int(const struct perr *pe, const json_t *obj, const char *field, bool required,
                   json_int_t lo, json_int_t hi, json_int_t *out) {
  json_t *v = member(obj, field);
  char desc[QUOTED_LEN];

  *out = 0;
  if (v == NULL)
    return required ? fail(pe, field, "required field is missing") : 0;
  if (!json_is_integer(v))
    return fail_type(pe, field, "an integer", v);
  if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
    describe(v, desc, sizeof(desc));
    return fail(pe, field,
                "expected an integer in %" JSON_INTEGER_FORMAT "..%" JSON_INTEGER_FORMAT ", got %s",
                lo, hi, desc);
  }
  *out = json_integer_value(v);
  return 0;
}

static int get_bool(const struct perr *pe, const json_t *obj, const char *field, bool *out) {
  json_t *v = member(obj, field);

  *out = false;
  if (v == NULL)
    return 0;
  if (!json_is_boolean(v))
    return fail_type(pe, field, "a boolean", v);
  *out = json_is_true(v);
  return 0;
}

/* "IPv4"/"IPv6": absent or "" means DNS, "none" means disabled, anything else
 * must be a literal address of the family (inet_pton: no zones, no ports). */
static int get_addr(const struct perr *pe, const json_t *obj, const char *field, int family,
                    mrt_derp_addr_mode *mode, void *addr) {
  json_t *v = member(obj, field);
  const char *s;

  *mode = MRT_DERP_ADDR_DNS;
  if (v == NULL)
    return 0;
  if (!json_is_string(v))
    return fail_type(pe, field, "a string", v);
  s = json_string_value(v);
  if (s[0] == '\0')
    return 0;
  if (strcmp(s, "none") == 0) {
    *mode = MRT_DERP_ADDR_DISABLED;
    return 0;
  }
  if (inet_pton(family, s, addr) != 1)
    return fail_type(pe, field, family == AF_INET ? "an IPv4 address" : "an IPv6 address", v);
  *mode = MRT_DERP_ADDR_FIXED;
  return 0;
}

static int parse_node(struct perr *pe, const json_t *jn, int region_id, mrt_derp_node *n) {
  json_int_t id, stun, derp;
  int rc;

  if (!json_is_object(jn))
    return fail_type(pe, NULL, "an object", jn);
  if ((rc = get_string(pe, jn, "Name", &n->name)) < 0 ||
      (rc = get_string(pe, jn, "HostName", &n->host_name)) < 0 ||
      (rc = get_int(pe, jn, "RegionID", true, INT_MIN, INT_MAX, &id)) < 0 ||
      (rc = get_addr(pe, jn, "IPv4", AF_INET, &n->ipv4_mode, &n->ipv4)) < 0 ||
      (rc = get_addr(pe, jn, "IPv6", AF_INET6, &n->ipv6_mode, &n->ipv6)) < 0 ||
      (rc = get_int(pe, jn, "STUNPort", false, -1, 65535, &stun)) < 0 ||
      (rc = get_bool(pe, jn, "STUNOnly", &n->stun_only)) < 0 ||
      (rc = get_int(pe, jn, "DERPPort", false, 0, 65535, &derp)) < 0)
    return rc;
  if (id != region_id)
    return fail(pe, "RegionID", "%d does not match the region's RegionID %d", (int)id, region_id);
  n->region_id = region_id;
  n->stun_port = stun < 0 ? 0 : stun == 0 ? MRT_DERP_DEFAULT_STUN_PORT : (uint16_t)stun;
  n->derp_port = derp == 0 ? MRT_DERP_DEFAULT_DERP_PORT : (uint16_t)derp;
  return 0;
}

static int parse_nodes(struct perr *pe, const json_t *jr, mrt_derp_region *r) {
  json_t *nodes = member(jr, "Nodes"), *jn;
  size_t i;
  int rc;

  if (nodes == NULL)
    return 0;
  if (!json_is_array(nodes))
    return fail_type(pe, "Nodes", "an array", nodes);
  if (json_array_size(nodes) == 0)
    return 0;
  r->nodes = calloc(json_array_size(nodes), sizeof(*r->nodes));
  if (r->nodes == NULL)
    return -ENOMEM;
  json_array_foreach(nodes, i, jn) {
    /* Count the node before filling it, so a failure part-way frees what
         * was already copied into it. */
    r->n_nodes++;
    pe->node = (long)i;
    if ((rc = parse_node(pe, jn, r->region_id, &r->nodes[i])) < 0)
      return rc;
  }
  pe->node = -1;
  return 0;
}

static int parse_region(struct perr *pe, const char *key, const json_t *jr, mrt_derp_region *r) {
  char canon[16];
  json_int_t id;
  int rc;

  pe->region_key = key;
  pe->node = -1;
  if (!json_is_object(jr))
    return fail_type(pe, NULL, "an object", jr);
  if ((rc = get_int(pe, jr, "RegionID", true, 1, INT_MAX, &id)) < 0)
    return rc;
  r->region_id = (int)id;
  /* Requiring the canonical spelling makes "1" and "01" not both valid keys
     * for region 1, so with duplicate keys rejected, region ids are unique. */
  snprintf(canon, sizeof(canon), "%d", r->region_id);
  if (strcmp(canon, key) != 0)
    return fail(pe, NULL, "key does not match RegionID %d", r->region_id);
  if ((rc = get_string(pe, jr, "RegionCode", &r->region_code)) < 0 ||
      (rc = get_string(pe, jr, "RegionName", &r->region_name)) < 0)
    return rc;
  return parse_nodes(pe, jr, r);
}

static int cmp_region(const void *a, const void *b) {
  int x = ((const mrt_derp_region *)a)->region_id;
  int y = ((const mrt_derp_region *)b)->region_id;
  return (x > y) - (x < y);
}

static void free_region(mrt_derp_region *r) {
  for (size_t i = 0; i < r->n_nodes; i++) {
    free(r->nodes[i].name);
    free(r->nodes[i].host_name);
  }
  free(r->nodes);
  free(r->region_code);
  free(r->region_name);
}

static void free_map(mrt_derp_map *m) {
  for (size_t i = 0; i < m->n_regions; i++)
    free_region(&m->regions[i]);
  free(m->regions);
  free(m);
}

static int parse_root(struct perr *pe, const json_t *root, mrt_derp_map *m) {
  json_t *regions, *jr;
  const char *key;

  if (!json_is_object(root))
    return fail_type(pe, NULL, "an object", root);
  regions = member(root, "Regions");
  if (regions == NULL)
    return 0;
  if (!json_is_object(regions))
    return fail_type(pe, "Regions", "an object", regions);
  if (json_object_size(regions) == 0)
    return 0;
  m->regions = calloc(json_object_size(regions), sizeof(*m->regions));
  if (m->regions == NULL)
    return -ENOMEM;
  json_object_foreach(regions, key, jr) {
    int rc;
    m->n_regions++; /* counted first so a partial region is freed */
    if ((rc = parse_region(pe, key, jr, &m->regions[m->n_regions - 1])) < 0)
      return rc;
  }
  pe->region_key = NULL;
  qsort(m->regions, m->n_regions, sizeof(*m->regions), cmp_region);
  for (size_t i = 1; i < m->n_regions; i++) {
    /* Unreachable given canonical keys and unique object keys; kept so the
         * "ids are unique" promise does not rest on jansson's flags alone. */
    if (m->regions[i].region_id == m->regions[i - 1].region_id)
      return fail(pe, "Regions", "duplicate region id %d", m->regions[i].region_id);
  }
  return 0;
}

static mrt_derp_map *alloc_map(void) {
  mrt_derp_map *m = calloc(1, sizeof(*m));

  if (m != NULL)
    atomic_init(&m->refs, 1);
  return m;
}

int mrt_derp_map_parse(const char *json, size_t len, mrt_derp_map **out, char *err, size_t errlen) {
  struct perr pe = {.buf = err, .len = errlen, .region_key = NULL, .node = -1};
  json_error_t jerr;
  json_t *root;
  mrt_derp_map *m;
  int rc;

  if (err != NULL && errlen > 0)
    err[0] = '\0';
  if (out != NULL)
    *out = NULL;
  if (json == NULL || out == NULL) {
    set_err(err, errlen, "invalid argument: %s is NULL", json == NULL ? "json" : "out");
    return -EINVAL;
  }
  /* DECODE_ANY lets a non-object root parse, so that it is reported as a
     * type error at "(root)" rather than as a syntax error. */
  root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (root == NULL) {
    set_err(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
            jerr.text);
    return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
  }
  m = alloc_map();
  rc = m != NULL ? parse_root(&pe, root, m) : -ENOMEM;
  json_decref(root);
  if (rc < 0) {
    if (rc == -ENOMEM)
      set_err(err, errlen, "out of memory");
    if (m != NULL)
      free_map(m);
    return rc;
  }
  *out = m;
  return 0;
}

/* Read a whole file of at most MRT_DERP_MAP_MAX_FILE_SIZE bytes. Reads until
 * EOF rather than trusting st_size, so pipes and /proc files work too. */
static int read_file(int fd, char **buf_out, size_t *len_out) {
  size_t cap = 64 * 1024, len = 0;
  char *buf = malloc(cap), *nb;

  if (buf == NULL)
    return -ENOMEM;
  for (;;) {
    ssize_t n;
    if (len == cap) {
      if (cap > MRT_DERP_MAP_MAX_FILE_SIZE) {
        free(buf);
        return -EFBIG;
      }
      nb = realloc(buf, cap * 2);
      if (nb == NULL) {
        free(buf);
        return -ENOMEM;
      }
      buf = nb;
      cap *= 2;
    }
    n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      return -e;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  if (len > MRT_DERP_MAP_MAX_FILE_SIZE) {
    free(buf);
    return -EFBIG;
  }
  *buf_out = buf;
  *len_out = len;
  return 0;
}

int mrt_derp_map_parse_file(const char *path, mrt_derp_map **out, char *err, size_t errlen) {
  char ebuf[128], *buf = NULL;
  size_t len = 0;
  int fd, rc;

  if (out != NULL)
    *out = NULL;
  if (path == NULL || out == NULL) {
    set_err(err, errlen, "invalid argument: %s is NULL", path == NULL ? "path" : "out");
    return -EINVAL;
  }
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    rc = -errno;
    set_err(err, errlen, "%s: %s", path, strerror_r(-rc, ebuf, sizeof(ebuf)));
    return rc;
  }
  rc = read_file(fd, &buf, &len);
  close(fd);
  if (rc < 0) {
    set_err(err, errlen, "%s: %s", path,
            rc == -EFBIG ? "file is larger than the 16 MiB limit"
                         : strerror_r(-rc, ebuf, sizeof(ebuf)));
    return rc;
  }
  rc = mrt_derp_map_parse(buf, len, out, err, errlen);
  free(buf);
  return rc;
}

static int copy_node(const mrt_derp_node *src, mrt_derp_node *dst) {
  *dst = *src;
  dst->name = strdup(src->name);
  dst->host_name = strdup(src->host_name);
  return dst->name != NULL && dst->host_name != NULL ? 0 : -ENOMEM;
}

static int copy_region(const mrt_derp_region *src, mrt_derp_region *dst) {
  *dst = *src;
  dst->n_nodes = 0; /* grows as nodes are copied, so a failure frees only those */
  dst->nodes = NULL;
  dst->region_code = strdup(src->region_code);
  dst->region_name = strdup(src->region_name);
  if (dst->region_code == NULL || dst->region_name == NULL)
    return -ENOMEM;
  if (src->n_nodes == 0)
    return 0;
  dst->nodes = calloc(src->n_nodes, sizeof(*dst->nodes));
  if (dst->nodes == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < src->n_nodes; i++) {
    dst->n_nodes++;
    if (copy_node(&src->nodes[i], &dst->nodes[i]) < 0)
      return -ENOMEM;
  }
  return 0;
}

int mrt_derp_map_copy(const mrt_derp_map *src, mrt_derp_map **out) {
  mrt_derp_map *m;

  if (out != NULL)
    *out = NULL;
  if (src == NULL || out == NULL)
    return -EINVAL;
  m = alloc_map();
  if (m == NULL)
    return -ENOMEM;
  if (src->n_regions > 0) {
    m->regions = calloc(src->n_regions, sizeof(*m->regions));
    if (m->regions == NULL) {
      free_map(m);
      return -ENOMEM;
    }
  }
  for (size_t i = 0; i < src->n_regions; i++) {
    m->n_regions++;
    if (copy_region(&src->regions[i], &m->regions[i]) < 0) {
      free_map(m);
      return -ENOMEM;
    }
  }
  *out = m;
  return 0;
}

mrt_derp_map *mrt_derp_map_ref(mrt_derp_map *map) {
  /* Relaxed suffices: the caller already holds a reference, so the map cannot
     * be freed concurrently, and taking a reference publishes no data. */
  if (map != NULL)
    atomic_fetch_add_explicit(&map->refs, 1, memory_order_relaxed);
  return map;
}

mrt_derp_map *mrt_derp_map_unref(mrt_derp_map *map) {
  if (map == NULL)
    return NULL;
  /* Release orders this thread's reads of the map before the decrement; the
     * thread that drops the last reference then issues an acquire fence, so all
     * other holders' reads happen before the free. */
  if (atomic_fetch_sub_explicit(&map->refs, 1, memory_order_release) == 1) {
    atomic_thread_fence(memory_order_acquire);
    free_map(map);
  }
  return NULL;
}

size_t mrt_derp_map_region_count(const mrt_derp_map *map) {
  return map != NULL ? map->n_regions : 0;
}

const mrt_derp_region *mrt_derp_map_region_at(const mrt_derp_map *map, size_t i) {
  return map != NULL && i < map->n_regions ? &map->regions[i] : NULL;
}

const mrt_derp_region *mrt_derp_map_find_region(const mrt_derp_map *map, int region_id) {
  mrt_derp_region key = {.region_id = region_id};

  if (map == NULL || map->n_regions == 0)
    return NULL;
  return bsearch(&key, map->regions, map->n_regions, sizeof(key), cmp_region);
}

int mrt_derp_node_stun_addr(const mrt_derp_node *node, int family, struct sockaddr_storage *out) {
  if (node == NULL || out == NULL || (family != AF_INET && family != AF_INET6))
    return -EINVAL;
  if (node->stun_port == 0)
    return -ENOENT;
  memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)out;
    if (node->ipv4_mode != MRT_DERP_ADDR_FIXED)
      return -ENOENT;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(node->stun_port);
    sin->sin_addr = node->ipv4;
  } else {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
    if (node->ipv6_mode != MRT_DERP_ADDR_FIXED)
      return -ENOENT;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(node->stun_port);
    sin6->sin6_addr = node->ipv6;
  }
  return 0;
}

int mrt_derp_map_stun_servers(const mrt_derp_map *map, int family, struct sockaddr_storage *out,
                              size_t cap) {
  static const int families[] = {AF_INET, AF_INET6};
  size_t count = 0;

  if (map == NULL || (out == NULL && cap > 0) ||
      (family != AF_UNSPEC && family != AF_INET && family != AF_INET6))
    return -EINVAL;
  for (size_t r = 0; r < map->n_regions; r++) {
    const mrt_derp_region *reg = &map->regions[r];
    for (size_t i = 0; i < reg->n_nodes; i++) {
      for (size_t f = 0; f < 2; f++) {
        struct sockaddr_storage ss;
        if (family != AF_UNSPEC && family != families[f])
          continue;
        if (mrt_derp_node_stun_addr(&reg->nodes[i], families[f], &ss) < 0)
          continue;
        if (count < cap)
          out[count] = ss;
        if (++count > INT_MAX)
          return -EOVERFLOW;
      }
    }
  }
  return (int)count;
}
