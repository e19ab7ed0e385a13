"""Real services for the scale-out test run, started by the test session from Debian's binaries on free loopback
ports in temporary directories, and stopped when the session ends."""
