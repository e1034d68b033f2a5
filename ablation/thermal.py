"""Generic thermal probe: the active wall follows a temperature, fluid-temperature (convection) or
heat-flux schedule, or is adiabatic. It lets any heating or cooling protocol run end to end before
a device model exists, and it is the simplest case the verification benchmarks embed."""
from __future__ import annotations

from .model import Model as BaseModel, schedule_value
from .schema import Choice, Quantity, Schedule, Table

SECTION_SPEC = None

PROBE_SPEC = Table("generic thermal probe (modality 'thermal'): condition on the active wall", {}, fields={
    "wall": Choice("'temperature': wall follows temperature_schedule; 'convection': fluid at "
                   "temperature_schedule with heat_transfer_coefficient; 'heat_flux': heat_flux_schedule "
                   "(W/m^2 into tissue; negative cools); 'adiabatic'", "temperature",
                   options=("temperature", "convection", "heat_flux", "adiabatic")),
    "temperature_schedule": Schedule("wall or fluid temperature over time, piecewise linear, held after the "
                                     "last point", None, value_dimension="temperature"),
    "heat_flux_schedule": Schedule("heat flux into the tissue over time", None, value_dimension="heat_flux"),
    "heat_transfer_coefficient": Quantity("wall-to-fluid coefficient for 'convection'", None,
                                          dimension="heat_transfer_coefficient", nullable=True,
                                          minimum=0.0, exclusive_minimum=True),
})


def check_scenario(scenario, errors) -> None:
    for i, probe in enumerate(scenario.probes):
        spec = probe.thermal
        where = f"probes[{i}].thermal"
        if spec.wall in ("temperature", "convection") and spec.temperature_schedule is None:
            errors.append((f"{where}.temperature_schedule",
                           f"missing; wall = {spec.wall!r} needs a schedule such as [['0 s', '90 degC']]"))
        if spec.wall == "convection" and spec.heat_transfer_coefficient is None:
            errors.append((f"{where}.heat_transfer_coefficient", "missing; wall = 'convection' needs it"))
        if spec.wall == "heat_flux" and spec.heat_flux_schedule is None:
            errors.append((f"{where}.heat_flux_schedule",
                           "missing; wall = 'heat_flux' needs a schedule such as [['0 s', '5000 W/m^2']]"))


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
