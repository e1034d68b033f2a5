"""How one RF generator shares its power between electrode channels (docs/physics.md section 2).

A *channel* is a set of electrodes the generator drives together at one potential: one needle, or
the three needles of a cluster electrode. Multi-electrode systems deliver in one of three ways:

* ``simultaneous``: every electrode on one channel at one potential (one controller, as for a
  single probe). The current divides by itself, so tissue between distant electrodes sees little
  field: the electrical interference that left the centre of a 3-cluster array at 41 degC in
  Lee et al., Radiology 2005;234:549 (doi 10.1148/radiol.2342031122).
* ``sequential`` (consecutive monopolar): the channels in turn, each for ``channel_time`` under the
  scenario's own control law (impedance control, temperature control, ...), as separate ablations
  made one after another with the electrodes left in place.
* ``switching`` (rapid switching, switching monopolar): the generator's power goes to one channel at
  a time and moves to the next when the active channel rolls off (its impedance rises
  ``rolloff_rise`` over its own baseline) or has delivered for ``switch_time``; a channel that
  rolled off is skipped for ``off_time``. When every channel is resting the power is off.

Electrodes of inactive channels are disconnected from the generator: floating metal conductors that
carry no net current (the RF model gives their cells a metal's conductivity). The controllers
here know only channels, times and impedances; the RF model owns grids and solves.
"""
from __future__ import annotations

import copy
import math

from ablation.modalities.protocols import Controller, ImpedanceControl, RolloffDetector, ramp

ACTIVATIONS = ("simultaneous", "sequential", "switching")

#: S/m given to the cells of a disconnected (floating) electrode in the electric problem: a metal
#: in effect (a 30 mm x 1.5 mm needle then has 0.17 ohm along it, against 50-100 ohm of tissue),
#: kept far below steel's 1.4e6 S/m, which would only slow the iterative solver
FLOATING_ELECTRODE_CONDUCTIVITY = 1e5


def probe_channels(activation: str, channel_numbers: list) -> list[int]:
    """The channel index (0, 1, ...) of each probe from its ``rfa.channel`` number (None: a channel
    of its own): probes with the same number share one, numbered in the order of the numbers, then
    the probes without one in probe order. Under 'simultaneous' activation all are on channel 0."""
    if activation == "simultaneous":
        return [0] * len(channel_numbers)
    keys = [(0, number) if number is not None else (1, i) for i, number in enumerate(channel_numbers)]
    order = {key: k for k, key in enumerate(sorted(set(keys)))}
    return [order[key] for key in keys]


class Sequential(Controller):
    """Channel k runs the scenario's control law from k T to (k + 1) T, T = ``channel_time``, on its
    own clock (a ramp or an off period restarts with each channel); after the last channel the
    generator is off."""
    name = "sequential"

    def __init__(self, prototype: Controller, channels: int, channel_time: float):
        super().__init__(prototype.detector)
        self.name = f"sequential {prototype.name}"
        self.channel_time = float(channel_time)
        self.laws = [copy.deepcopy(prototype) for _ in range(channels)]
        self.acts_on_rolloff = prototype.acts_on_rolloff
        self.off_time = prototype.off_time
        self.control_interval = prototype.control_interval
        self.resolution = prototype.resolution
        self.active: int | None = 0

    def _local(self, t: float) -> tuple[int | None, float]:
        k = int(math.floor(t / self.channel_time + 1e-9))
        if k >= len(self.laws):
            return None, 0.0
        return k, t - k * self.channel_time

    def select(self, t, impedance_of) -> int | None:
        self.active = self._local(t)[0]
        return self.active

    @property
    def rolloff_times(self) -> list[float]:
        return sorted(k * self.channel_time + x for k, law in enumerate(self.laws) for x in law.rolloff_times)

    def channel_rolloffs(self) -> list[int]:
        return [len(law.rolloff_times) for law in self.laws]

    def powered(self, t):
        k, local = self._local(t)
        return k is not None and self.laws[k].powered(local)

    def rolloff_margin(self, t, impedance):
        """The margin of the channel last selected, on its own clock (a step's end may be the
        start of the next channel's time)."""
        k = self.active
        return -math.inf if k is None else self.laws[k].rolloff_margin(t - k * self.channel_time, impedance)

    def next_event(self, t):
        k, local = self._local(t)
        if k is None:
            return math.inf
        start = k * self.channel_time
        inner = self.laws[k].next_event(local)
        return min(start + inner, start + self.channel_time)

    def power(self, t, dt, impedance, tip_temperature):
        k, local = self._local(t)
        if k is None:
            return 0.0
        return self.laws[k].power(local, dt, impedance, tip_temperature)


class Switching(Controller):
    """One generator at ``power`` moved between channels (module docstring). Each channel keeps its
    own roll-off detector, so its baseline is the lowest impedance measured while it was active."""
    name = "switching"

    def __init__(self, power: float, channels: int, switch_time: float, off_time: float, rise: float | None,
                 threshold: float | None = None, ramp_time: float = 0.0):
        self.detectors = [RolloffDetector(rise, threshold) for _ in range(channels)]
        super().__init__(self.detectors[0])
        self.set_power, self.ramp_time = power, ramp_time
        self.switch_time, self.off_time = float(switch_time), float(off_time)
        self.active: int | None = 0
        self.active_since = 0.0
        self.resting_until = [-math.inf] * channels
        self._times: list[float] = []
        self._counts = [0] * channels

    @property
    def rolloff_times(self) -> list[float]:
        return self._times

    def channel_rolloffs(self) -> list[int]:
        return list(self._counts)

    def _available(self, t: float) -> list[int]:
        return [c for c, until in enumerate(self.resting_until) if t >= until - 1e-9]

    def _next_after(self, current: int | None, t: float) -> int | None:
        """The next available channel after ``current`` in channel order (itself last)."""
        available = set(self._available(t))
        n = len(self.detectors)
        start = -1 if current is None else current
        for step in range(1, n + 1):
            c = (start + step) % n
            if c in available:
                return c
        return None

    def _activate(self, channel: int | None, t: float) -> None:
        if self.active is not None and channel != self.active:
            self.detectors[self.active].check(t, math.inf, False)   # not watched while inactive
        self.active, self.active_since = channel, t
        if channel is not None:
            self.detector = self.detectors[channel]

    def select(self, t, impedance_of) -> int | None:
        """The channel that delivers from ``t``: the active one, unless it has just rolled off
        (it then rests ``off_time``) or its ``switch_time`` is over; then the next available one,
        itself checked for a roll-off in turn. None while every channel rests.
        ``impedance_of(channel)`` is the impedance the generator measures on a channel (ohm)."""
        if self.active is None:
            self._activate(self._next_after(None, t), t)
        elif t >= self.active_since + self.switch_time - 1e-9:
            self._activate(self._next_after(self.active, t), t)
        for _ in range(len(self.detectors)):
            c = self.active
            if c is None or not self.detectors[c].check(t, impedance_of(c), True):
                break
            self._times.append(t)
            self._counts[c] += 1
            self.resting_until[c] = t + self.off_time
            self._activate(self._next_after(c, t), t)
        return self.active

    def powered(self, t):
        return self.active is not None or bool(self._available(t))

    def rolloff_margin(self, t, impedance):
        if self.active is None:
            return -math.inf
        return self.detectors[self.active].margin(impedance)

    def next_event(self, t):
        times = list(self.resting_until) + [self.ramp_time]
        if self.active is not None:
            times.append(self.active_since + self.switch_time)
        later = [x for x in times if x > t + 1e-9]
        return min(later) if later else math.inf

    def power(self, t, dt, impedance, tip_temperature):
        return 0.0 if self.active is None else ramp(self.set_power, self.ramp_time, t)


def build_delivery(spec, prototype: Controller, channels: int, duration: float) -> Controller:
    """The controller of the scenario's ``rfa.activation`` over ``channels`` channels; ``prototype``
    is the single-channel law of the ``[rfa]`` section (``protocols.build_controller``)."""
    if spec.activation == "simultaneous" or channels <= 1:
        return prototype
    if spec.activation == "sequential":
        channel_time = spec.channel_time if spec.channel_time is not None else duration / channels
        return Sequential(prototype, channels, channel_time)
    if spec.activation == "switching":
        if not isinstance(prototype, ImpedanceControl):
            raise ValueError(f"switching moves the power on impedance; protocol {prototype.name!r} is not "
                             "impedance_control")
        detector = prototype.detector
        return Switching(spec.power, channels, spec.switch_time, spec.off_time, detector.rise, detector.threshold,
                         spec.ramp_time)
    raise ValueError(f"unknown activation {spec.activation!r}")
