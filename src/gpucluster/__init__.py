"""gpucluster: provision an on-premises GPU cluster from one inventory."""

__version__ = "0.1.0"
