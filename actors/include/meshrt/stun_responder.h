/* SPDX-License-Identifier: MIT */
/* meshrt — a small STUN (RFC 5389) Binding responder actor.
 *
 * Answers every well-formed Binding request on its UDP socket with a success
 * response whose XOR-MAPPED-ADDRESS is the request's source address, after
 * an optional artificial delay; malformed datagrams and anything that is not
 * a Binding request are ignored (counted). The demo node uses it to stand in
 * for DERP regions' STUN servers on loopback, the tests to exercise
 * DirectManager's and DerpLatencyMeasurer's STUN clients against a real
 * server. It can also answer as the classic (RFC 3489-era) servers still
 * deployed do, to test that meshrt's clients get along with them.
 *
 * Threading: spawn from any thread; its socket is registered on its
 * executor's event loop and read by the actor's own handler.
 */
#ifndef MESHRT_STUN_RESPONDER_H
#define MESHRT_STUN_RESPONDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <meshrt/actor.h>
#include <meshrt/export.h>
#include <meshrt/message.h>
#include <meshrt/send.h>
#include <meshrt/timer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Responses waiting out their delay; more requests meanwhile are dropped. */
#define MRT_STUN_RESPONDER_QUEUE_MAX 1024

/* How the responder words its answers (mrt_stun_build_*_response()). */
typedef enum mrt_stun_responder_style {
  MRT_STUN_RESPONDER_RFC5389 = 0, /* XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT */
  /* A server that speaks both versions: MAPPED-, SOURCE- and CHANGED-ADDRESS
   * first, then the RFC 5389 attributes. */
  MRT_STUN_RESPONDER_CLASSIC,
  /* A pure RFC 3489 server: MAPPED-, SOURCE- and CHANGED-ADDRESS only. */
  MRT_STUN_RESPONDER_RFC3489,
} mrt_stun_responder_style;

typedef struct mrt_stun_responder_config {
  /* AF_UNSPEC (all zero): the wildcard, dual-stack if possible; else an
   * AF_INET / AF_INET6 address (its port field is ignored). */
  struct sockaddr_storage listen_addr;
  uint16_t listen_port; /* 0: ephemeral */
  uint64_t delay_ns;    /* artificial delay before each answer */
  /* The classic styles give SOURCE-ADDRESS as the bound address and
   * CHANGED-ADDRESS as the same address one port up (where such a server
   * keeps its alternate socket; nothing listens there). */
  mrt_stun_responder_style style;
} mrt_stun_responder_config;

typedef struct mrt_stun_responder_info {
  struct sockaddr_storage local; /* bound address */
  uint16_t port;
  uint64_t delay_ns;
  uint64_t requests; /* well-formed Binding requests received */
  uint64_t answered; /* responses sent */
  uint64_t ignored;  /* malformed or not a Binding request */
  uint64_t dropped;  /* queue full, or the send failed */
} mrt_stun_responder_info;

/* Spawns a responder. Its on_start fails (the actor stops, asks to it fail)
 * with the bind error if the socket cannot be bound. Returns 0, -EINVAL (NULL
 * rt or cfg, bad family or style; logged) or mrt_actor_spawn's errors. Any
 * thread. */
MRT_API int mrt_stun_responder_spawn(mrt_runtime *rt, const mrt_stun_responder_config *cfg,
                                     const mrt_spawn_opts *opts, mrt_ref **out);

/* Where it listens and what it did. */
MRT_MESSAGE_DECLARE(MRT_API, stun_responder_info, mrt_none, mrt_stun_responder_info);
/* Changes the delay for requests received from now on. */
MRT_MESSAGE_DECLARE(MRT_API, stun_responder_set_delay, uint64_t, mrt_none);

#ifdef __cplusplus
}
#endif
#endif
