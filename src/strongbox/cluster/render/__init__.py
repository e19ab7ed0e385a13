"""Pure functions from a spec to configuration text; the `strongbox cluster` command writes what they return."""

from strongbox.cluster.render.haproxy import render_haproxy
from strongbox.cluster.render.keepalived import VrrpSpec, render_keepalived
from strongbox.cluster.render.services import render_postgresql_conf, render_redis_conf

__all__ = ["VrrpSpec", "render_haproxy", "render_keepalived", "render_postgresql_conf", "render_redis_conf"]
