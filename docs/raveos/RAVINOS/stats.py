"""Fills RaveOS's statistics object from hashrig's /summary: each MPU's
hashrate (H/s), temperature and shares by its PCI bus id, the fans, and
the task's shares (accepted, invalid = hardware errors, rejected)."""

import json

import ravinos


def bus(pci):
    """'0000:01:00.0' and '01:00.0' alike, as '01:00.0'."""
    return ":".join(pci.lower().split(":")[-2:]) if pci else None


def fill(stats, summary):
    devices = {bus(d.get("pci_bus_id")): d for d in summary.get("devices", [])}
    for mpu in stats.get("mpu") or []:
        d = devices.get(bus(mpu.get("pci")))
        if d is None:
            continue
        mpu["hash_rate1"] = float(d["hashrate"]["60s"])
        if d.get("temperature_c") is not None:
            mpu["temp"] = int(round(d["temperature_c"]))
        mpu["shares"] = {
            "accepted": d["shares"]["accepted"],
            "invalid": d["hardware_errors"],
            "rejected": d["shares"]["rejected"],
        }
    stats["fans"] = [
        {"percent": int(round(d.get("fan_percent") or 0)), "rpm": int(d.get("fan_rpm") or 0)}
        for d in summary.get("devices", [])
        if d.get("kind") == "gpu"
    ]
    total = summary["total"]
    stats["shares"] = {
        "accepted": total["shares"]["accepted"],
        "invalid": total["hardware_errors"],
        "rejected": total["shares"]["rejected"],
    }
    return stats


if __name__ == "__main__":
    stats = ravinos.get_stats()
    try:
        summary = json.loads(
            ravinos.get_http_data("http://127.0.0.1:%d/summary" % int(stats["api_port"]))
        )
    except Exception as e:  # hashrig not answering yet: say so, keep the rest
        stats.setdefault("errors", []).append("hashrig API: %s" % e)
    else:
        fill(stats, summary)
    ravinos.set_stats(stats)
