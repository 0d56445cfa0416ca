"""What pyasic, the library rig-monitoring tools are built on, reads from a
cgminer-compatible API: its generic cgminer backend (hashrate, uptime,
pools, through its own multicommand) and its RPC client (devs, for the
temperatures). Prints one JSON object on stdout.

Usage: python read_rig.py HOST PORT
"""

import asyncio
import json
import sys

from pyasic.miners.backends.cgminer import CGMiner
from pyasic.miners.data import DataOptions
from pyasic.rpc.cgminer import CGMinerRPCAPI


async def main(host: str, port: int) -> None:
    miner = CGMiner(host)
    miner.rpc = CGMinerRPCAPI(host, port=port)
    data = await miner.get_data(
        include=[DataOptions.HASHRATE, DataOptions.UPTIME, DataOptions.POOLS]
    )
    devs = await miner.rpc.devs()
    stats = await miner.rpc.stats()
    out = {
        "hashrate_hs": (
            data.hashrate.into(data.hashrate.unit.H).rate
            if data.hashrate is not None
            else None
        ),
        "uptime": data.uptime,
        "pools": [
            {
                "url": str(p.url) if p.url is not None else None,
                "accepted": p.accepted,
                "rejected": p.rejected,
                "active": p.active,
                "alive": p.alive,
                "user": p.user,
            }
            for p in data.pools
        ],
        "temperatures": [d.get("Temperature") for d in devs.get("DEVS", [])],
        "stats_elapsed": stats["STATS"][1].get("Elapsed"),
        "api_ver": await miner.get_api_ver(),
        "fw_ver": await miner.get_fw_ver(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
