/* SPDX-License-Identifier: Apache-2.0 */
/* rootfs internals shared by its files; not part of the API. */
#ifndef PETRA_ROOTFS_INTERNAL_H
#define PETRA_ROOTFS_INTERNAL_H

#include "layer/layer.h"
#include "rootfs.h"

#endif
