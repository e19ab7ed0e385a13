#!/usr/bin/env bash
# Walk through the Strongbox API with nothing but curl and an API key:
# upload, list, search, download, update with If-Match (and see a stale one refused), delete.
#
#   STRONGBOX_URL=http://127.0.0.1:8000 STRONGBOX_KEY=sbx_... scripts/api-walkthrough.sh FILE WORD
#
# FILE is any allowed document; WORD is a word inside it, to show full-text search.
set -euo pipefail

url="${STRONGBOX_URL:?set STRONGBOX_URL}/api/v1"
auth="Authorization: Bearer ${STRONGBOX_KEY:?set STRONGBOX_KEY}"
file="${1:?give a file to upload}"
word="${2:?give a word inside the file}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

api() { curl --silent --show-error -H "$auth" "$@"; }
field() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" | head -n 1; }

echo "== upload"
created="$(api --fail -F "title=Walkthrough $(date +%s)" -F category=other -F "tags=demo, curl" \
  -F "file=@$file" "$url/documents")"
id="$(printf '%s' "$created" | field id)"
echo "created $id"

echo "== list"
api --fail "$url/documents?page_size=5" | grep -q "\"id\": *\"$id\"" && echo "listed"

echo "== search for '$word'"
for _ in $(seq 1 30); do  # text extraction runs in the background: wait for it
  if api --fail "$url/documents?q=$word" | grep -q "\"id\": *\"$id\""; then echo "found"; break; fi
  sleep 1
done

echo "== download"
api --fail -o "$work/copy" "$url/documents/$id/content"
cmp "$file" "$work/copy" && echo "downloaded bytes are identical"

echo "== update with If-Match"
etag="$(api --fail -D - -o /dev/null "$url/documents/$id" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')"
api --fail -X PATCH -H "If-Match: $etag" -H "Content-Type: application/json" \
  -d '{"description": "updated by curl"}' "$url/documents/$id" | grep -q '"description": *"updated by curl"'
echo "updated (was $etag)"
status="$(api -o /dev/null -w '%{http_code}' -X PATCH -H "If-Match: $etag" -H "Content-Type: application/json" \
  -d '{"description": "lost update"}' "$url/documents/$id")"
[ "$status" = 412 ] && echo "a stale If-Match is refused with 412"

echo "== delete"
etag="$(api --fail -D - -o /dev/null "$url/documents/$id" | tr -d '\r' | sed -n 's/^[Ee][Tt]ag: //p')"
[ "$(api -o /dev/null -w '%{http_code}' -X DELETE -H "If-Match: $etag" "$url/documents/$id")" = 204 ]
[ "$(api -o /dev/null -w '%{http_code}' "$url/documents/$id")" = 404 ] && echo "deleted"
