/* SPDX-License-Identifier: MIT */
/* Placeholder: the channel is being written (issue 5). */
#include "internal.h"
