"""Generator control laws of radiofrequency ablation (docs/physics.md section 2).

Each controller is asked once per time step, before the step, for the generator power over the
step, given what a generator measures at that moment: the impedance it sees (ohm) and the hottest
tip temperature (degC). Controllers know nothing of grids or files; they keep their own state and
a record of the roll-off events (``rolloff_times``).

A *roll-off* is the impedance rise that follows desiccation next to the electrode: the impedance
exceeds its running minimum (the baseline) by ``rise`` ohm, or exceeds an absolute ``threshold``.
The modelled impedance covers the tissue between electrode and ground only, so a rise over the
baseline is the robust default (docs/physics.md section 2).

Laws
----
* :class:`ConstantPower`: P = P_set (optionally ramped up linearly over ``ramp_time``).
* :class:`ImpedanceControl`: P_set until a roll-off, then 0 for ``off_time``, then P_set again
  (Cool-tip style pulsing; MITA model uses an absolute 120 ohm threshold and 15 s off).
* :class:`TemperatureControl`: PI law P = clamp(Kp e + Ki int(e dt), 0, P_max),
  e = T_target - T_tip, Kp in W/K, Ki in W/(K s), with conditional-integration anti-windup and
  integral separation (the integral runs only within a band around the target) (RITA style;
  Go-Smart encodes a proportional law only).
* :class:`LeVeen`: Boston Scientific algorithm as encoded by Go-Smart: ramp to P_max; a roll-off
  within the first 5 min gives 30 s off, then half the roll-off power for up to 300 s; a second
  roll-off, a first roll-off after 5 min, the end of the reduced phase or 900 s end the delivery.
"""
from __future__ import annotations

import abc

import math


class RolloffDetector:
    """Rising-edge roll-off events: Z > Z_baseline + rise, or Z > threshold when one is given.

    The baseline is the running minimum of the impedance (it falls at first as sigma rises with
    temperature); only impedances measured while power was on update it.
    """

    def __init__(self, rise: float | None = 30.0, threshold: float | None = None):
        if rise is None and threshold is None:
            raise ValueError("a roll-off needs a rise over baseline or an absolute threshold")
        self.rise, self.threshold = rise, threshold
        self.baseline = math.inf
        self.times: list[float] = []
        self._above = False

    def limit(self) -> float:
        if self.threshold is not None:
            return self.threshold
        return self.baseline + self.rise

    def margin(self, impedance: float) -> float:
        """How far (ohm) a powered measurement of ``impedance`` now would be past the limit of a new
        roll-off (> 0: it would fire; no state change); -inf while still above from the last one."""
        if self._above:
            return -math.inf
        if self.threshold is not None:
            return impedance - self.threshold
        return impedance - (min(self.baseline, impedance) + self.rise)

    def would_fire(self, impedance: float) -> bool:
        """Whether a powered measurement of ``impedance`` now would be a new roll-off (no state change)."""
        return self.margin(impedance) > 0.0

    def check(self, t: float, impedance: float, powered: bool) -> bool:
        """True at the first measurement of a new roll-off (a rising edge over the limit)."""
        if not powered:
            # while the power is off nothing is detected; at resumption an impedance still above
            # the limit counts as a new roll-off (the generator switches off again)
            self._above = False
            return False
        if impedance < self.baseline:
            self.baseline = impedance
        above = impedance > self.limit()
        event = above and not self._above
        self._above = above
        if event:
            self.times.append(t)
        return event


def ramp(power: float, ramp_time: float, t: float) -> float:
    """P_set reached linearly over ``ramp_time`` seconds (0: at once)."""
    if ramp_time <= 0.0:
        return power
    return power * min(1.0, t / ramp_time)


class Controller(abc.ABC):
    """Base class: ``power(t, dt, impedance, tip_temperature)`` returns the generator power (W).

    For the time loop's step control a controller also tells the next time its law changes by
    itself (:meth:`next_event`: end of a ramp or an off period; steps end there) and whether an
    impedance would start a roll-off now (:meth:`rolloff_pending`: a step that ends past such a
    crossing is cut until the crossing is resolved to ``resolution`` seconds, the impedance sampling
    seconds: the generator is treated as watching the impedance continuously, so that a pulse's
    length does not depend on the time step)."""
    name = "base"
    resolution = 0.02   # s
    #: s; the generator re-sets its output from its measurements this often (assumption: several
    #: times a second; manufacturers do not publish their sampling rate). While powered, time steps
    #: are at most this long (scaled with the step in the time loop's comparison runs): holding one
    #: power longer misrepresents the control, and the coupled solution near a vaporising electrode
    #: only reaches its first-order range below about this step (measured in
    #: benchmarks/verification/time_step.py: with 1 s the lesion's step error was under-estimated 4.5x).
    control_interval = 0.25
    #: s the generator stays off after a roll-off (None: a law that does not switch off)
    off_time = None
    #: the electrode channel selected last (:meth:`select`)
    active: int | None = 0

    def __init__(self, detector: RolloffDetector):
        self.detector = detector
        self._powered = True

    @property
    def rolloff_times(self) -> list[float]:
        return self.detector.times

    def powered(self, t: float) -> bool:
        """Whether the generator would deliver power (and so watch the impedance) at ``t``."""
        return True

    def select(self, t: float, impedance_of) -> int | None:
        """The electrode channel that delivers from ``t`` (:mod:`ablation.modalities.channels`); a
        single-channel law always drives channel 0."""
        return 0

    def channel_rolloffs(self) -> list[int]:
        """Roll-offs per channel."""
        return [len(self.rolloff_times)]

    #: whether the law reacts to a roll-off (constant power and temperature control only report it,
    #: so the time loop need not locate it)
    acts_on_rolloff = True

    def rolloff_margin(self, t: float, impedance: float) -> float:
        """Impedance minus the roll-off limit (ohm) if the generator watches at ``t`` and reacts to
        a roll-off, else -inf."""
        return self.detector.margin(impedance) if self.acts_on_rolloff and self.powered(t) else -math.inf

    def rolloff_pending(self, t: float, impedance: float) -> bool:
        return self.rolloff_margin(t, impedance) > 0.0

    def next_event(self, t: float) -> float:
        """The next time after ``t`` at which the law changes by itself (inf: none known)."""
        ramp_time = getattr(self, "ramp_time", 0.0)
        return ramp_time if t < ramp_time - 1e-9 else math.inf

    @abc.abstractmethod
    def power(self, t: float, dt: float, impedance: float, tip_temperature: float) -> float:
        """Generator power (W) for the step ending at ``t + dt``."""


class ConstantPower(Controller):
    name = "constant_power"
    acts_on_rolloff = False

    def __init__(self, power: float, ramp_time: float = 0.0, detector: RolloffDetector | None = None):
        super().__init__(detector or RolloffDetector())
        self.set_power, self.ramp_time = power, ramp_time

    def power(self, t, dt, impedance, tip_temperature):
        self.detector.check(t, impedance, True)   # reported, not acted on
        return ramp(self.set_power, self.ramp_time, t)


class ImpedanceControl(Controller):
    """P_set, switched off for ``off_time`` seconds at each roll-off."""
    name = "impedance_control"

    def __init__(self, power: float, off_time: float = 15.0, ramp_time: float = 0.0,
                 detector: RolloffDetector | None = None):
        super().__init__(detector or RolloffDetector())
        self.set_power, self.off_time, self.ramp_time = power, off_time, ramp_time
        self.off_until = -math.inf

    def powered(self, t):
        return t >= self.off_until - 1e-9

    def next_event(self, t):
        end = self.off_until if t < self.off_until - 1e-9 else math.inf
        return min(end, super().next_event(t))

    def power(self, t, dt, impedance, tip_temperature):
        on = t >= self.off_until - 1e-9
        if on and self.detector.check(t, impedance, True):
            self.off_until = t + self.off_time
            return 0.0
        if not on:
            self.detector.check(t, impedance, False)
            return 0.0
        return ramp(self.set_power, self.ramp_time, t)


#: temperature_control: a tip below its target that rises slower than this (K/s) has settled under
#: the proportional term alone, and the integral term resumes (tuned here: a plain 17 G needle in
#: perfused liver approaches its proportional-only temperature at 0.17 K/s after 20 s, 0.04 K/s
#: after 40 s)
STALL_RATE = 0.05


class TemperatureControl(Controller):
    """PI control of the hottest tip temperature with anti-windup by conditional integration.

    P = clamp(Kp e + Ki I, 0, P_max), e = T_target - T_tip (K), dI/dt = e except while the output is
    saturated and e would drive it further into saturation. Far from the target (|e| >= integral
    band) the integral waits, against overshoot, until the tip stops approaching the target
    (rising under :data:`STALL_RATE`): the proportional term alone settles at e = P / Kp, which
    for a needle that needs more than Kp x band (5 W by default) lies outside the band, where a
    band alone would hold the tip below its target for good.
    """
    name = "temperature_control"
    acts_on_rolloff = False

    def __init__(self, target: float, kp: float, ki: float, max_power: float, ramp_time: float = 0.0,
                 detector: RolloffDetector | None = None, integral_band: float = math.inf):
        super().__init__(detector or RolloffDetector())
        self.target, self.kp, self.ki, self.max_power, self.ramp_time = target, kp, ki, max_power, ramp_time
        self.integral_band = integral_band
        self.integral = 0.0
        self._last = None          # (t, tip temperature) at the previous call

    def power(self, t, dt, impedance, tip_temperature):
        limit = ramp(self.max_power, self.ramp_time, t)
        e = self.target - tip_temperature
        trial = self.kp * e + self.ki * (self.integral + e * dt)
        saturated_high = trial > limit and e > 0
        saturated_low = trial < 0.0 and e < 0
        last, self._last = self._last, (t, tip_temperature)
        stalled = (last is not None and t > last[0] and e > 0
                   and (tip_temperature - last[1]) / (t - last[0]) < STALL_RATE)
        # integral separation: far from the target the integral would only store an overshoot (a
        # sensor next to vaporising tissue then sticks at ~100 degC while the integral unwinds)
        if not (saturated_high or saturated_low) and (abs(e) < self.integral_band or stalled):
            # outside the band at most the band's error accumulates: a slow approach, little overshoot
            self.integral += min(e, self.integral_band) * dt
        p = min(max(self.kp * e + self.ki * self.integral, 0.0), limit)
        self.detector.check(t, impedance, p > 0)
        return p


class LeVeen(Controller):
    """Boston Scientific LeVeen roll-off algorithm as encoded by Go-Smart (docs/physics.md section 2)."""
    name = "leveen"

    def __init__(self, max_power: float, ramp_time: float = 0.0, window: float = 300.0, off_time: float = 30.0,
                 reduced_fraction: float = 0.5, reduced_time: float = 300.0, max_time: float = 900.0,
                 detector: RolloffDetector | None = None):
        super().__init__(detector or RolloffDetector())
        self.max_power, self.ramp_time = max_power, ramp_time
        self.window, self.off_time = window, off_time
        self.reduced_fraction, self.reduced_time, self.max_time = reduced_fraction, reduced_time, max_time
        self.phase = "ramp"
        self.phase_start = 0.0
        self.reduced_power = 0.0

    def powered(self, t):
        return self.phase in ("ramp", "reduced") and t < self.max_time - 1e-9

    def next_event(self, t):
        times = [self.max_time, super().next_event(t)]
        if self.phase == "ramp":
            times.append(self.window)
        elif self.phase == "off":
            times.append(self.phase_start + self.off_time)
        elif self.phase == "reduced":
            times.append(self.phase_start + self.reduced_time)
        later = [x for x in times if x > t + 1e-9]
        return min(later) if later else math.inf

    def power(self, t, dt, impedance, tip_temperature):
        if t >= self.max_time - 1e-9:
            self.phase = "done"
        if self.phase == "ramp":
            p = ramp(self.max_power, self.ramp_time, t)
            if self.detector.check(t, impedance, True):
                if t < self.window:
                    self.phase, self.phase_start = "off", t
                    self.reduced_power = self.reduced_fraction * p
                else:
                    self.phase = "done"
                return 0.0
            return p
        if self.phase == "off":
            self.detector.check(t, impedance, False)
            if t >= self.phase_start + self.off_time - 1e-9:
                self.phase, self.phase_start = "reduced", t
            else:
                return 0.0
        if self.phase == "reduced":
            if t >= self.phase_start + self.reduced_time - 1e-9 or self.detector.check(t, impedance, True):
                self.phase = "done"
                return 0.0
            return self.reduced_power
        self.detector.check(t, impedance, False)
        return 0.0


def build_controller(spec) -> Controller:
    """The controller of a loaded ``[rfa]`` section (see :data:`ablation.rfa.SECTION_SPEC`)."""
    if spec.rolloff_criterion == "absolute":
        detector = RolloffDetector(rise=None, threshold=spec.rolloff_impedance)
    else:
        detector = RolloffDetector(rise=spec.rolloff_rise)
    if spec.protocol == "constant_power":
        return ConstantPower(spec.power, spec.ramp_time, detector)
    if spec.protocol == "impedance_control":
        return ImpedanceControl(spec.power, spec.off_time, spec.ramp_time, detector)
    if spec.protocol == "temperature_control":
        return TemperatureControl(spec.target_temperature, spec.proportional_gain, spec.integral_gain, spec.power,
                                  spec.ramp_time, detector, spec.integral_band)
    if spec.protocol == "leveen":
        return LeVeen(spec.power, spec.ramp_time, spec.leveen_window, spec.leveen_off_time,
                      spec.leveen_reduced_fraction, spec.leveen_reduced_time, spec.leveen_max_time, detector)
    raise ValueError(f"unknown protocol {spec.protocol!r}")
