/* SPDX-License-Identifier: MIT */
/* Placeholder: the semaphore pair is being written (issue 3). */
#include "internal.h"
