"""ureport: SMS/USSD safety polls for young people, anonymous by construction."""

__version__ = "0.1.0"
