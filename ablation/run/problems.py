"""Bad input named by its fields: the one shape of the errors the command line reports with exit 2,
whether a scenario cannot be loaded (:class:`ablation.input.scenario.ScenarioError`) or its run left
physical temperatures (:class:`ablation.run.time_loop.UnphysicalRun`)."""
from __future__ import annotations


class FieldProblems(Exception):
    """``errors``: a list of (field path, message); ``source``: the file or scenario they belong to."""

    def __init__(self, errors, source: str = ""):
        self.errors = list(errors)
        self.source = source
        super().__init__(self.format())

    def __reduce__(self):        # rebuilt from its parts when it crosses from a worker process
        return (type(self), (self.errors, self.source))

    def format(self) -> str:
        head = f"{self.source}: " if self.source else ""
        lines = [f"{head}{len(self.errors)} problem(s) in the scenario:"]
        lines += [f"  {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)
