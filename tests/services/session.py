"""The scale-out test run's services: started once, before Django's settings are read (test_settings imports
this module when STRONGBOX_TEST_SCALE_OUT=1), and stopped when the test process exits."""

import atexit
import os

from services.postgres import PostgresCluster
from services.redis import RedisServer
from services.swift import Swift

BUCKET = "strongbox"
postgres = PostgresCluster()
redis = RedisServer()
swift = Swift()


def start() -> None:
    """Start every service and point Strongbox's scale-out variables at them."""
    atexit.register(stop)
    postgres.start()
    redis.start()
    swift.start()
    swift.create_bucket(BUCKET)
    os.environ.update({
        "DATABASE_URL": postgres.primary.url(),
        "DATABASE_REPLICA_URLS": postgres.replica.url(),
        "REDIS_URL": redis.url,
        "STRONGBOX_STORAGE": "s3",
        "STRONGBOX_S3_ENDPOINT_URL": swift.endpoint_url,
        "STRONGBOX_S3_BUCKET": BUCKET,
        "STRONGBOX_S3_REGION": swift.region,
        "STRONGBOX_S3_ACCESS_KEY_ID": swift.access_key,
        "STRONGBOX_S3_SECRET_ACCESS_KEY": swift.secret_key,
    })


def stop() -> None:
    swift.stop()
    redis.close()
    postgres.stop()
