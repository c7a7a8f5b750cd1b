/* SPDX-License-Identifier: MIT */
/* failalloc — make the Nth heap allocation fail, for allocation-failure tests.
 *
 * Linking failalloc.c into a test executable replaces malloc, calloc, realloc,
 * free and the aligned allocators for the whole process (glibc lets the
 * executable's definitions win over libc's, for shared libraries too), and
 * forwards every call to the allocator that would otherwise have served it
 * (libc's, or ASan's or valgrind's). A thread arms a countdown; the Nth
 * allocation that thread makes afterwards returns NULL with errno ENOMEM.
 * Only the arming thread is affected, so executor threads and anything else
 * running meanwhile allocate normally.
 *
 * It also counts the bytes live in the whole process, so a test can check that
 * a sequence of calls gave back everything it took (a leak check that runs in
 * every build, not only under ASan or valgrind).
 */
#ifndef MESHRT_TEST_FAILALLOC_H
#define MESHRT_TEST_FAILALLOC_H

#include <stdbool.h>
#include <stdint.h>

/* Arms the calling thread: its nth allocation from now (n >= 1) fails; with
 * `sticky`, every allocation after it fails too, until disarmed. n == 0 only
 * counts (failalloc_count) and fails nothing. */
void failalloc_arm(uint64_t nth, bool sticky);

/* Disarms the calling thread. Returns true if a failure was injected since
 * the last arm. */
bool failalloc_disarm(void);

/* Allocations the calling thread made since it was last armed (failed ones
 * included). */
uint64_t failalloc_count(void);

/* Bytes currently allocated through malloc and friends, process-wide (usable
 * sizes, so the number depends on the allocator but not on its caching). */
int64_t failalloc_live_bytes(void);

/* True once the replacement allocator has served a call: a test can check
 * that the interposition is in effect before relying on it. */
bool failalloc_active(void);

#endif
