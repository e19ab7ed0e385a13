from django.db import models


class Job(models.Model):
    """Work still to do, written in the same transaction as the change that needs it (ops/jobs.py).

    The task queue only carries a nudge (the job's id); this row is the durable record. It is deleted when the job
    succeeds or is given up, so the table holds only what is pending or running.
    """

    kind = models.CharField(max_length=100)
    args = models.JSONField(default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the job may next be claimed: now for a new job, the lease's end while it runs, after the back-off once an
    # attempt failed. A job past it whose nudge was lost is found by the sweep.
    due_at = models.DateTimeField()
    nudged_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # Whose work this is (e.g. "owner:42"); a kind with a per-group limit runs at most that many of a group at once.
    group = models.CharField(max_length=100, blank=True, default="")
    # The end of the lease of the attempt running now; None (or past) when no attempt runs.
    leased_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"]), models.Index(fields=["kind", "group"])]

    def __str__(self):
        return f"{self.kind} #{self.pk}"
