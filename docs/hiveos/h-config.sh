#!/usr/bin/env bash
# Writes hashrig's configuration from the flight sheet. HiveOS sources this
# after h-manifest.conf each time the miner starts, with:
#   CUSTOM_URL          pool URLs, space or newline separated, first choice
#                       first (stratum+tcp://, stratum+ssl://, stratum2+tcp://)
#   CUSTOM_TEMPLATE     the pool user, e.g. %WAL%.%WORKER_NAME% as filled in
#   CUSTOM_PASS         the pool password (default x)
#   CUSTOM_USER_CONFIG  TOML lines put first in the file as they are, e.g.
#                       cpu = "off"  or  [temperature] limit = 80
# and checks the result with `hashrig config --check`, so a mistake in the
# flight sheet shows in the miner's log before mining starts.

hashrig_toml_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

hashrig_write_config() {
	local url
	echo "# Written by h-config.sh from the HiveOS flight sheet at each start."
	if [[ -n $CUSTOM_USER_CONFIG ]]; then
		printf '%s\n' "$CUSTOM_USER_CONFIG"
	fi
	for url in $CUSTOM_URL; do
		echo
		echo "[[pool]]"
		echo "url = $(hashrig_toml_string "$url")"
		echo "user = $(hashrig_toml_string "$CUSTOM_TEMPLATE")"
		echo "pass = $(hashrig_toml_string "${CUSTOM_PASS:-x}")"
	done
	echo
	echo "[api]"
	echo "listen = \"127.0.0.1:${HASHRIG_API_PORT}\""
}

mkdir -p "$(dirname "$CUSTOM_CONFIG_FILENAME")"
hashrig_write_config >"$CUSTOM_CONFIG_FILENAME"
"$(dirname "${BASH_SOURCE[0]}")/hashrig" config --check "$CUSTOM_CONFIG_FILENAME" >/dev/null
