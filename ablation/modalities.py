"""The modality registry: scenario ``modality = NAME`` picks ``MODALITIES[NAME]``."""
from . import cryo, rfa, thermal

MODALITIES = {"thermal": thermal, "rfa": rfa, "cryo": cryo}
