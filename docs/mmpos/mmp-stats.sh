#!/usr/bin/env bash
# Prints the figures mmpOS's agent wants (busid, hash, units, air,
# miner_name, miner_version, per-device shares) as hashrig's API serves
# them at /mmpos, or says that the API does not answer. The agent passes
# the device count and the log file; hashrig needs neither.
cd "$(dirname "$0")" || exit 1
. ./mmp-external.conf
stats_json=$(curl --silent --fail --max-time 5 --header 'Accept: application/json' \
	"http://127.0.0.1:${CUSTOM_API_PORT:-4068}/mmpos")
if [[ $? -ne 0 || -z $stats_json ]]; then
	echo "Miner API connection failed"
else
	echo "$stats_json"
fi
