"""The modality registry: scenario ``modality = NAME`` picks ``MODALITIES[NAME]``."""
from . import cryo, thermal

MODALITIES = {"thermal": thermal, "cryo": cryo}
