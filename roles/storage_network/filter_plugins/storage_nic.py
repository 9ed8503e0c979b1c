"""Pick the storage NIC out of `ip -j addr` output.

Kept in Python rather than Jinja so the choice (name, else MAC, else current
address) and its error message are plain, testable code.
"""

from __future__ import annotations

from typing import Any


def _describe(links: list[dict[str, Any]]) -> str:
    return ", ".join(f"{link.get('ifname')} {link.get('address', '')}".strip() for link in links)


def storage_nic(
    links: list[dict[str, Any]], interface: str, mac: str, address: str
) -> dict[str, str]:
    """Return {"name": ifname, "mac": ..., "how": ...} or {"error": one-line reason}."""
    if interface:
        found = [link for link in links if link.get("ifname") == interface]
        how = f"storage_interface {interface}"
    elif mac:
        found = [link for link in links if str(link.get("address", "")).lower() == mac.lower()]
        how = f"storage_mac {mac}"
    else:
        found = [
            link
            for link in links
            if any(info.get("local") == address for info in link.get("addr_info", []))
        ]
        how = f"storage_address {address} (no storage_interface or storage_mac set)"
    if len(found) != 1:
        problem = "matches no interface" if not found else "matches several interfaces"
        return {"error": f"storage NIC not found: {how} {problem} (interfaces: {_describe(links)})"}
    link = found[0]
    return {"name": str(link["ifname"]), "mac": str(link.get("address", "")), "how": how}


def storage_nic_matches(links: list[dict[str, Any]], address: str, mtu: int) -> bool:
    """True when the (single) link carries the address with the wanted MTU."""
    return any(
        link.get("mtu") == mtu
        and any(info.get("local") == address for info in link.get("addr_info", []))
        for link in links
    )


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Any]:
        return {"storage_nic": storage_nic, "storage_nic_matches": storage_nic_matches}
