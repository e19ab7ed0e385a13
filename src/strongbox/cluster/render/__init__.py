"""Pure functions from a spec to configuration text; the `strongbox cluster` command writes what they return."""

from strongbox.cluster.render.haproxy import render_haproxy

__all__ = ["render_haproxy"]
