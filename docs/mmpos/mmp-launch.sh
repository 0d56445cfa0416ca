#!/usr/bin/env bash
# Runs hashrig with the arguments of an mmpOS miner profile: mmpOS's
# generic --pool, --user, --password and --api-port become hashrig's
# --pool, --user, --pass and --api 127.0.0.1:PORT (--algo must be sha256d,
# the only one hashrig mines); any other argument is hashrig's own, e.g.
# --backend gpu. Point the profile's executable at this script.
cd "$(dirname "$0")" || exit 1
conf=mmp-external.conf
api_port=${CUSTOM_API_PORT:-4068}
args=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--password)
		args+=(--pass "$2")
		shift 2
		;;
	--api-port)
		[[ -n $2 && $2 != 0 ]] && api_port=$2
		shift 2
		;;
	--algo)
		case ${2,,} in
		sha256d | sha256 | sha-256d) ;;
		*)
			echo "hashrig mines sha256d, not $2" >&2
			exit 2
			;;
		esac
		shift 2
		;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
# mmp-stats.sh reads the port from here.
if grep -q '^CUSTOM_API_PORT=' "$conf"; then
	sed -i "s/^CUSTOM_API_PORT=.*/CUSTOM_API_PORT=$api_port/" "$conf"
else
	echo "CUSTOM_API_PORT=$api_port" >>"$conf"
fi
trap 'kill "$miner" 2>/dev/null; wait "$miner"; exit 0' TERM INT
./hashrig mine --api "127.0.0.1:$api_port" "${args[@]}" &
miner=$!
wait "$miner"
