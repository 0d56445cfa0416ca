#!/usr/bin/env bash
# Sets $khs (the total hashrate in kH/s) and $stats (HiveOS's JSON) from
# hashrig's /summary. HiveOS's agent sources this every few seconds; when
# hashrig does not answer, both say so (0 and null) instead of failing.

. "$(dirname "${BASH_SOURCE[0]}")/h-manifest.conf"
hashrig_summary=$(curl --silent --fail --max-time 3 "http://127.0.0.1:${HASHRIG_API_PORT}/summary")
if [[ -z $hashrig_summary ]]; then
	khs=0
	stats=null
else
	khs=$(jq -r '[.devices[].hashrate["60s"] // 0] | add // 0 | . / 1000' <<<"$hashrig_summary")
	stats=$(jq -c '
		def hex: ascii_downcase | explode
			| map(if . >= 97 then . - 87 else . - 48 end)
			| reduce .[] as $d (0; . * 16 + $d);
		# 0000:0a:00.0 (or 0a:00.0) is bus 10.
		def bus: if . == null then null else split(":") | .[length - 2] | hex end;
		{
			hs: [.devices[] | (.hashrate["60s"] // 0) / 1000],
			hs_units: "khs",
			temp: [.devices[] | .temperature_c // 0 | round],
			fan: [.devices[] | .fan_percent // 0 | round],
			uptime: (.uptime_s | floor),
			ver: .version,
			ar: [.total.shares.accepted, .total.shares.rejected],
			algo: "sha256d",
			bus_numbers: [.devices[] | .pci_bus_id | bus]
		}' <<<"$hashrig_summary")
	[[ -n $khs && -n $stats ]] || { khs=0; stats=null; }
fi
