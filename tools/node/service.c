/* SPDX-License-Identifier: MIT */
/* meshrt-node — the service thread (see service.h).
 *
 * libevent is used here without its threading support, so the event_base is
 * touched by the service thread only once it runs. The one cross-thread
 * operation, stopping, goes through a pipe: the main thread writes a byte,
 * the loop's read event breaks the loop on its own thread.
 */
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

struct mn_service {
  struct event_base *base;
  struct event *wake;
  int pipe_fd[2];
  pthread_t thread;
  bool running;
};

static void on_wake(evutil_socket_t fd, short what, void *ud) {
  (void)what;
  mn_service *s = ud;
  char buf[16];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  event_base_loopbreak(s->base);
}

int mn_service_new(mn_service **out) {
  mn_service *s = calloc(1, sizeof *s);
  if (s == NULL)
    return -ENOMEM;
  s->pipe_fd[0] = s->pipe_fd[1] = -1;
  if (pipe2(s->pipe_fd, O_CLOEXEC | O_NONBLOCK) < 0 || (s->base = event_base_new()) == NULL ||
      (s->wake = event_new(s->base, s->pipe_fd[0], EV_READ | EV_PERSIST, on_wake, s)) == NULL ||
      event_add(s->wake, NULL) < 0) {
    mn_service_free(s);
    return -EIO;
  }
  *out = s;
  return 0;
}

struct event_base *mn_service_base(mn_service *s) {
  return s->base;
}

static void *run(void *ud) {
  mn_service *s = ud;
  event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
  return NULL;
}

int mn_service_start(mn_service *s) {
  int rc = pthread_create(&s->thread, NULL, run, s);
  if (rc != 0)
    return -rc;
  s->running = true;
  return 0;
}

void mn_service_stop(mn_service *s) {
  if (s == NULL || !s->running)
    return;
  /* A full pipe already holds a wake-up, so a failed write loses nothing. */
  ssize_t n = write(s->pipe_fd[1], "x", 1);
  (void)n;
  pthread_join(s->thread, NULL);
  s->running = false;
}

void mn_service_free(mn_service *s) {
  if (s == NULL)
    return;
  mn_service_stop(s);
  if (s->wake != NULL)
    event_free(s->wake);
  if (s->base != NULL)
    event_base_free(s->base);
  for (int i = 0; i < 2; i++)
    if (s->pipe_fd[i] >= 0)
      close(s->pipe_fd[i]);
  free(s);
}
