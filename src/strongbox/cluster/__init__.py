"""The local cluster: what runs (spec.py), its configuration files as text (render/), and the balancer's runtime
API (runtime.py). Only the `strongbox cluster` command writes files or starts processes."""
