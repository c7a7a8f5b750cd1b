/* SPDX-License-Identifier: MIT */
/* meshrt-node — the JSON config file.
 *
 * A config is loaded completely or not at all: every field is checked before
 * anything is created, and an error names the file, the field and what was
 * expected ("node.json: peers[0].public_key: expected 64 hex digits ..."). The
 * key file is the one side effect: created (mode 0600) if missing, only after
 * everything else was accepted. See tools/node/meshrt-node.example.json and
 * the meshrt-node(1) man page for the fields.
 */
#ifndef MESHRT_TOOLS_CONFIG_H
#define MESHRT_TOOLS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <meshrt/mesh.h>

/* Longest error message the loader writes. */
#define MN_CONFIG_ERR_MAX 1400

typedef enum mn_monitor_kind {
  MN_MONITOR_OFF = 0,
  MN_MONITOR_NETLINK = 1,
  MN_MONITOR_MANUAL = 2,
} mn_monitor_kind;

/* Why "netlink" is refused in a build without the network_monitor feature
 * (the netlink link monitor): config.c and the command line say the same. */
#define MN_NO_NETLINK_FEATURE                                                                      \
  "this meshrt-node was built without the network_monitor feature (the netlink link monitor): "    \
  "use \"manual\" or \"off\", or rebuild with -Dnetwork_monitor=enabled"

/* "off"/"none"/"false", "netlink"/"true", "manual". -EINVAL otherwise. */
int mn_monitor_kind_parse(const char *name);
const char *mn_monitor_kind_name(mn_monitor_kind k);

typedef struct mn_config {
  char *path;                          /* the file, as given */
  struct sockaddr_storage listen_addr; /* AF_UNSPEC: wildcard */
  uint16_t listen_port;                /* 0: ephemeral */
  bool disable_ipv6;
  bool advertise_local;
  char *key_file; /* resolved against the config's dir; NULL: none */
  bool have_key;
  bool key_created;
  bool key_missing; /* MN_CONFIG_NO_CREATE: the key file does not exist (yet) */
  mrt_probe_keypair key;
  mrt_derp_map *derp_map; /* NULL: none */
  char *derp_canon;       /* canonical JSON of the map ("" when none) */
  mrt_peer_map *peers;    /* NULL: none */
  char *peers_canon;      /* canonical JSON of "peers" ("" when none) */
  mn_monitor_kind network_monitor;
  char **ignored;       /* NULL-terminated, NULL when none */
  char *control_socket; /* NULL: the default path */
  char *metrics;        /* "[ADDR:]PORT", NULL: not served */
  int log_level;        /* mrt_log_level, -1: unset */
  int log_format;       /* mn_log_format, -1: unset */
} mn_config;

/* Flags of mn_config_load and mn_config_parse. MN_CONFIG_NO_FILES: touch no
 * other file (the key file and derp_map_file are checked as fields and
 * resolved, but neither read nor created), for fuzzing. MN_CONFIG_NO_CREATE:
 * read and validate the files, but a missing key file is not created (it
 * sets key_missing instead), for --check, which must leave no trace. */
#define MN_CONFIG_NO_FILES 1u
#define MN_CONFIG_NO_CREATE 2u

/* Loads `path`. Returns 0 with *out (free with mn_config_free), or a negative
 * errno with the message in err: -EINVAL for an invalid config, -ENOENT /
 * -EACCES / ... when the file cannot be read, -ENOMEM. Blocking file I/O:
 * host threads only. */
int mn_config_load(const char *path, unsigned flags, mn_config **out, char *err, size_t errlen);

/* As mn_config_load, from `len` bytes of JSON text; `path` names the config
 * in messages and anchors its relative paths. Any thread when
 * MN_CONFIG_NO_FILES is given; else as mn_config_load. */
int mn_config_parse(const char *path, const char *text, size_t len, unsigned flags, mn_config **out,
                    char *err, size_t errlen);

void mn_config_free(mn_config *c);

/* "[ADDR:]PORT" with ADDR defaulting to 127.0.0.1. Returns 0 or -EINVAL. */
int mn_metrics_addr_parse(const char *text, struct sockaddr_storage *out);

/* Fills a node config (maps borrowed from c). */
void mn_config_to_node(const mn_config *c, mrt_node_config *out);

#endif
