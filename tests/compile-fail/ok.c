/* SPDX-License-Identifier: MIT */
/* Compile-fail control: the shared correct uses alone. It must compile with
 * the flags the failing cases get (and cleanly with -Wall -Wextra -Wpedantic
 * -Werror), or every case would "pass" for the wrong reason. */
#include "uses.h"
