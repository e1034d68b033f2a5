"""Generic thermal probe: the active wall follows a temperature, fluid-temperature (convection) or
heat-flux schedule, or is adiabatic. It lets any heating or cooling protocol run end to end before
a device model exists, and it is the simplest case the verification benchmarks embed."""
from __future__ import annotations

import math

from ablation.modalities.base import Model as BaseModel, schedule_breakpoint, schedule_value

class Model(BaseModel):
    def before_step(self, t, dt, heat, damage):
        t_end = t + dt  # backward Euler: the wall condition at the end of the step
        for i, probe in enumerate(self.scenario.probes):
            spec = probe.thermal
            surface = heat.surface("probe_active", i)
            surface.bc = spec.wall
            if spec.wall in ("temperature", "convection"):
                surface.value = schedule_value(spec.temperature_schedule, t_end)
                surface.h = spec.heat_transfer_coefficient or 0.0
                heat.set_held_temperature(surface, surface.value)
            elif spec.wall == "heat_flux":
                surface.value = schedule_value(spec.heat_flux_schedule, t_end)

    def next_event(self, t):
        """The wall schedules' breakpoints (kinks of the driving condition)."""
        times = [math.inf]
        for probe in self.scenario.probes:
            spec = probe.thermal
            if spec.wall in ("temperature", "convection"):
                times.append(schedule_breakpoint(spec.temperature_schedule, t))
            elif spec.wall == "heat_flux":
                times.append(schedule_breakpoint(spec.heat_flux_schedule, t))
        return min(times)

    def initial_row(self, heat, damage):
        row = {}
        for i, probe in enumerate(self.scenario.probes):
            spec = probe.thermal
            row[f"probe{i + 1}_power_W"] = 0.0
            row[f"probe{i + 1}_wall_C"] = (schedule_value(spec.temperature_schedule, 0.0)
                                           if spec.wall in ("temperature", "convection") else float("nan"))
        return row

    def after_step(self, t, dt, heat, damage, report):
        row = {}
        for i, probe in enumerate(self.scenario.probes):
            surface = heat.surface("probe_active", i)
            row[f"probe{i + 1}_power_W"] = surface.last_power
            row[f"probe{i + 1}_wall_C"] = surface.value if surface.bc in ("temperature", "convection") else float("nan")
        return row

    def device_summary(self, timeseries):
        out = {}
        time = timeseries["time_s"]
        for i, _ in enumerate(self.scenario.probes):
            power = timeseries.get(f"probe{i + 1}_power_W")
            if power is None:
                continue
            energy = 0.0
            for k in range(1, len(time)):
                energy += power[k] * (time[k] - time[k - 1])
            out[f"probe{i + 1}_energy_J"] = energy
        out["energy_J"] = sum(v for k, v in out.items() if k.endswith("_energy_J"))
        return out
