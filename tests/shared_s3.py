"""The S3 storage of the scale-out test run, with one client per thread for the whole session.

Each test gets its own storage (a fresh prefix in the bucket); creating a boto3 client for each would cost about
half a second, so they all share the first one made in their thread (same endpoint and keys)."""

import threading

from strongbox.ops.storage import StreamingS3Storage

_CONNECTIONS = threading.local()


class SharedClientS3Storage(StreamingS3Storage):
    def __init__(self, **settings):
        super().__init__(**settings)
        self._connections = _CONNECTIONS
