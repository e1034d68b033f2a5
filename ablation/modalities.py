"""The modality registry: scenario ``modality = NAME`` picks ``MODALITIES[NAME]``."""
from . import thermal

MODALITIES = {"thermal": thermal}
