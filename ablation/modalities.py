"""The modality registry: scenario ``modality = NAME`` picks ``MODALITIES[NAME]``."""
from . import rfa, thermal

MODALITIES = {"thermal": thermal, "rfa": rfa}
