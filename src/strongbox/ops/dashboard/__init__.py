"""The operations page: a staff-only view of this server's request counters and processes, the balancer's servers,
the replicas and the task queue, as tables and (with its script, static/js/ops.js) live charts.

`selectors.figures()` reads the figures of this moment; `views` only authorizes and renders them.
"""
