"""Patient anatomy from files: label maps (NIfTI, NRRD), surfaces (STL, VTP, OBJ) and vessel centre
lines with their radius, resolved into a :class:`ablation.geometry.patient.PatientAnatomy`; and the
checks of probe trajectories against it. The readers are the only modules here that touch files;
the numerical parts live in :mod:`ablation.geometry` (label volumes, vessel trees) and
:mod:`ablation.physics.vessel_wall` (the wall's heat transfer)."""
