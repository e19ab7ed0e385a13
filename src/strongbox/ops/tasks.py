"""The one Huey task that runs durable jobs (ops/jobs.py); `strongbox worker` sweeps for the lost ones."""

from huey.contrib.djhuey import db_task

from strongbox.ops import jobs


# Huey's own retries stay off: attempts, back-off and giving up are the job row's, which survive the worker.
@db_task(retries=0)
def run_job(job_id: int) -> None:
    jobs.run(job_id)
