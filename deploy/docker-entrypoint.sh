#!/bin/sh
# Entrypoint of the hotline-streams image.
#
# The caller-hash key (HOTLINE_CALLER_HASH_KEY) pseudonymises citizens' phone numbers, so it is a
# secret. It may be given directly, or as a file through HOTLINE_CALLER_HASH_KEY_FILE (a Docker /
# compose secret, mounted at /run/secrets/...). Refuse to start without one unless
# HOTLINE_ALLOW_DEV_SECRET=1 (the app then falls back to its public development key and warns).
set -eu

if [ -n "${HOTLINE_CALLER_HASH_KEY_FILE:-}" ]; then
    if [ ! -r "$HOTLINE_CALLER_HASH_KEY_FILE" ]; then
        echo "hotline: HOTLINE_CALLER_HASH_KEY_FILE=$HOTLINE_CALLER_HASH_KEY_FILE is not readable" >&2
        exit 64
    fi
    HOTLINE_CALLER_HASH_KEY="$(tr -d '\r\n' < "$HOTLINE_CALLER_HASH_KEY_FILE")"
    export HOTLINE_CALLER_HASH_KEY
fi

if [ -z "${HOTLINE_CALLER_HASH_KEY:-}" ] && [ "${HOTLINE_ALLOW_DEV_SECRET:-0}" != "1" ]; then
    echo "hotline: no caller-hash key. Set HOTLINE_CALLER_HASH_KEY or HOTLINE_CALLER_HASH_KEY_FILE" >&2
    echo "         (e.g. openssl rand -hex 32 > deploy/secrets/caller_hash_key), or HOTLINE_ALLOW_DEV_SECRET=1 for a demo." >&2
    exit 64
fi

exec "$@"
