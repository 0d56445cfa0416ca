"""Starts hashrig for a RaveOS task: the primary coin's pools (first
choice first) as --pool/--user/--pass, the task's API port as hashrig's
API on loopback (stats.py reads it), the task's GPUs by PCI bus id, and
the task's extra arguments as they are (hashrig's own flags)."""

import shlex

import ravinos


def command_line(cfg):
    miner = cfg.get("miner_dir") or "."
    cmd = [miner.rstrip("/") + "/hashrig", "mine"]
    coins = cfg.get("coins") or []
    if not coins or not coins[0].get("pools"):
        ravinos.error("hashrig: the task names no pool")
    for pool in coins[0]["pools"]:
        cmd += ["--pool", pool["url"], "--user", pool.get("user") or "x"]
        cmd += ["--pass", pool.get("password") or "x"]
    cmd += ["--api", "127.0.0.1:%d" % int(cfg["api_port"])]
    for mpu in cfg.get("mpus") or []:
        if mpu.get("pci"):
            cmd += ["--device", "0000:" + mpu["pci"] if mpu["pci"].count(":") == 1 else mpu["pci"]]
    cmd += shlex.split(cfg.get("args") or "")
    return " ".join(shlex.quote(part) for part in cmd)


if __name__ == "__main__":
    ravinos.run(command_line(ravinos.get_config()))
