"""A simulated cluster on this machine: one systemd container per node.

Each node is attached to a management network and a storage network (its
second NIC, left unconfigured as on a fresh server), reachable over SSH with a
generated key, and described by an inventory exactly like a real cluster's.
"""
