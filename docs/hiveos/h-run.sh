#!/usr/bin/env bash
# Runs hashrig on the configuration h-config.sh wrote; HiveOS starts it
# again when it exits. Its log goes to $CUSTOM_LOG_BASENAME.log.
cd "$(dirname "$0")" || exit 1
. ./h-manifest.conf
mkdir -p "$(dirname "$CUSTOM_LOG_BASENAME")"
./hashrig mine --config "$CUSTOM_CONFIG_FILENAME" 2>&1 | tee --append "$CUSTOM_LOG_BASENAME.log"
