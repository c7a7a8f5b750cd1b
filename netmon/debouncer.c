/* SPDX-License-Identifier: MIT */
/* meshrt — the link-change debouncer: trailing settle with a max-wait cap.
 *
 * See debouncer.h. Both timers are one-shot runtime timers of the owning
 * actor; whichever fires first emits and cancels the other. Threads: the
 * owning actor's context only.
 */
#include "debouncer.h"

void mrt__debouncer_init(mrt__debouncer *d, const mrt_debounce_config *cfg,
                         mrt__debounce_emit_fn emit, void *ud) {
  *d = (mrt__debouncer){0};
  d->settle_ns = cfg && cfg->settle_ns ? cfg->settle_ns : MRT_DEBOUNCE_SETTLE_DEFAULT;
  d->max_wait_ns = cfg && cfg->max_wait_ns ? cfg->max_wait_ns : MRT_DEBOUNCE_MAX_WAIT_DEFAULT;
  d->emit = emit;
  d->ud = ud;
}

static void cancel_timers(mrt__debouncer *d, mrt_actor *self) {
  if (d->settle_timer)
    mrt_timer_cancel(self, d->settle_timer);
  if (d->max_timer)
    mrt_timer_cancel(self, d->max_timer);
  d->settle_timer = d->max_timer = 0;
}

void mrt__debouncer_flush(mrt__debouncer *d, mrt_actor *self) {
  cancel_timers(d, self);
  if (d->raw_events == 0)
    return;
  /* Reset before emitting: emit may feed the debouncer again. */
  mrt__link_changes ev = d->pending;
  uint32_t raw = d->raw_events;
  d->pending = (mrt__link_changes){0};
  d->raw_events = 0;
  d->emit(self, raw, &ev, d->ud);
}

void mrt__debouncer_cancel(mrt__debouncer *d, mrt_actor *self) {
  cancel_timers(d, self);
  d->pending = (mrt__link_changes){0};
  d->raw_events = 0;
}

/* Either timer: the one that fires is spent, so forget its id first. */
static int on_settle(mrt_actor *self, void *state, void *ud) {
  (void)state;
  mrt__debouncer *d = ud;
  d->settle_timer = 0;
  mrt__debouncer_flush(d, self);
  return 0;
}

static int on_max_wait(mrt_actor *self, void *state, void *ud) {
  (void)state;
  mrt__debouncer *d = ud;
  d->max_timer = 0;
  mrt__debouncer_flush(d, self);
  return 0;
}

int mrt__debouncer_raw(mrt__debouncer *d, mrt_actor *self, const mrt__link_changes *raw) {
  bool first = d->raw_events == 0;
  mrt__link_changes_merge(&d->pending, raw);
  if (d->raw_events < UINT32_MAX)
    d->raw_events++;
  if (d->settle_timer)
    mrt_timer_cancel(self, d->settle_timer);
  d->settle_timer = 0;
  int rc = mrt_timer_start(self, d->settle_ns, 0, on_settle, d, &d->settle_timer);
  if (rc == 0 && first)
    rc = mrt_timer_start(self, d->max_wait_ns, 0, on_max_wait, d, &d->max_timer);
  return rc;
}
