/* SPDX-License-Identifier: MIT */
/* Fuzz target: the node config (mn_config_parse with MN_CONFIG_NO_FILES, so
 * no key file is created and no DERP map file read, wherever the input
 * points them).
 *
 * Properties:
 *   - refused: -EINVAL (or -ENOMEM) with no config; the message starts with
 *     the config's path, is valid UTF-8 without control characters and fits
 *     the buffer; nothing leaks (ASan);
 *   - accepted: the canonical JSON kept for the DERP map and the peers is
 *     valid JSON, and parsing the same text again gives the same config
 *     (deterministic, no hidden state).
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "fuzz.h"

#define PATH "/fuzz/node.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[MN_CONFIG_ERR_MAX];
  mn_config *c = NULL;
  memset(err, 0x55, sizeof err);
  int rc = mn_config_parse(PATH, (const char *)data, size, MN_CONFIG_NO_FILES, &c, err, sizeof err);
  if (rc < 0) {
    FUZZ_CHECK(c == NULL, "a refused config was returned");
    FUZZ_CHECK(rc == -EINVAL || rc == -ENOMEM, "rc %d", rc);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "message not terminated");
    FUZZ_CHECK(strncmp(err, PATH ": ", strlen(PATH) + 2) == 0, "message without the path: %s", err);
    FUZZ_CHECK(fuzz_clean_text(err, strlen(err)), "message not clean: %s", err);
    return 0;
  }
  FUZZ_CHECK(c != NULL && c->derp_canon != NULL && c->peers_canon != NULL, "no config");
  const char *canon[] = {c->derp_canon, c->peers_canon};
  for (size_t i = 0; i < 2; i++) {
    if (canon[i][0] == '\0')
      continue;
    json_t *j = json_loads(canon[i], 0, NULL);
    FUZZ_CHECK(j != NULL, "canonical JSON does not parse: %s", canon[i]);
    json_decref(j);
  }
  mn_config *again = NULL;
  rc = mn_config_parse(PATH, (const char *)data, size, MN_CONFIG_NO_FILES, &again, err, sizeof err);
  FUZZ_CHECK(rc == 0, "accepted once, refused the next time: %s", err);
  FUZZ_CHECK(strcmp(c->derp_canon, again->derp_canon) == 0 &&
                 strcmp(c->peers_canon, again->peers_canon) == 0 &&
                 c->listen_port == again->listen_port &&
                 memcmp(&c->listen_addr, &again->listen_addr, sizeof c->listen_addr) == 0 &&
                 c->network_monitor == again->network_monitor && c->log_level == again->log_level &&
                 c->log_format == again->log_format,
             "not deterministic");
  mn_config_free(again);
  mn_config_free(c);
  return 0;
}
