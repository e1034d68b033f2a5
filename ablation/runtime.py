"""Process-wide settings the solvers rely on, applied where they take effect.

* BLAS threads: the conjugate-gradient loops call BLAS on vectors of 1e4-1e6 entries, where extra
  BLAS threads only contend for the cores (measured here: a cryo run 22.3 s with 2 threads, 16.9 s
  with 1). :func:`single_blas_thread` limits them through threadpoolctl, which works after numpy
  is loaded (a notebook), unlike environment variables.
* FiPy's solver suite: petsc4py, if installed, makes FiPy pick PETSc, whose serial pip build fails
  here (docs/design.md); :func:`import_fipy` pins the scipy suite unless the user chose one.
* VTK's own error output: its readers print an object dump, a logged error and a Python warning on
  a damaged file; :func:`quiet_vtk` silences them while the reader's exception names the file.
"""
from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def single_blas_thread():
    """BLAS limited to one thread inside the block (the previous limits are restored after)."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def limit_blas_threads() -> None:
    """One BLAS thread for the rest of the process (the command line)."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=1, user_api="blas")


def import_fipy():
    os.environ.setdefault("FIPY_SOLVERS", "scipy")
    import fipy
    return fipy


@contextlib.contextmanager
def quiet_vtk():
    """VTK's error display, the root logger (pyvista relays VTK's errors through it) and Python
    warnings off inside the block; restored after."""
    import logging
    import warnings
    from vtkmodules.vtkCommonCore import vtkObject
    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)
        vtkObject.SetGlobalWarningDisplay(shown)
