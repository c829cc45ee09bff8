"""File descriptors: raise the soft limit at start, and know how many are left to spend.

Every WebSocket costs three descriptors and every ZeroMQ client one; the common default
soft limit of 1,024 runs out after a few hundred WebSockets, so `npc-brain serve` raises
it to the hard limit and the relay refuses connections before it runs out.
"""

from __future__ import annotations

import logging

try:
    import resource
except ImportError:  # Windows: no per-process descriptor limit to manage
    resource = None  # type: ignore[assignment]

log = logging.getLogger("npc_brain.sidecar.fd_limit")
# Descriptors kept for everything else: model files, ZeroMQ internals, ZeroMQ clients.
RESERVED = 256
# Beyond this the limit is not worth raising: other caps bind long before.
WANTED = 65536
UNLIMITED_BUDGET = 1 << 20


def raise_soft_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit towards the hard one; returns the soft limit now."""
    if resource is None:
        return UNLIMITED_BUDGET
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = WANTED if hard == resource.RLIM_INFINITY else min(hard, WANTED)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # some platforms cap it lower than `hard`
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return soft


def descriptor_budget() -> int:
    """Descriptors the WebSocket relay may use: the soft limit less a reserve."""
    if resource is None:
        return UNLIMITED_BUDGET
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_BUDGET
    return max(0, soft - RESERVED)
