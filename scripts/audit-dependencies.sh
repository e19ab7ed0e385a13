#!/usr/bin/env bash
# Audit the locked dependencies for known vulnerabilities with pip-audit.
# A finding fails. If the vulnerability data cannot be reached (no network to its service), say so plainly:
# an audit that could not look anything up is reported as NOT DONE, never as passed.
set -uo pipefail
cd "$(dirname "$0")/.."
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
UV_PROJECT_ENVIRONMENT=.venv .tools/bin/uv export --frozen --format requirements-txt --no-hashes --no-emit-project \
  > "$requirements"
total="$(grep -c '==' "$requirements")"
output="$(.venv/bin/pip-audit -r "$requirements" --no-deps --disable-pip --progress-spinner off 2>&1)"
status=$?
unaudited="$(printf '%s\n' "$output" | grep -c 'could not be audited')"
if printf '%s\n' "$output" | grep -qE 'ConnectionError|NameResolutionError' || [ "$unaudited" -gt 0 ]; then
  # pip-audit still prints "No known vulnerabilities found" then, which would read as a pass: it is not one.
  echo "dependency audit NOT DONE: vulnerability data unreachable for $unaudited of $total locked packages"
  exit 0
fi
printf '%s\n' "$output"
exit "$status"
