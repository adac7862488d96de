"""Synthetic 3-axis accelerometer signals (units of g) for the gesture task.

The model is an MPU6050-style sensor on a hand-held or table-top device,
sampled at 50 Hz:

* physics is simulated at 1 kHz (20x oversampling): gravity projected through
  a slowly wandering orientation, plus the linear acceleration of gestures
  and of idle "clutter" (hand tremor, fidgeting, small knocks on the table);
* the sensor adds a per-device zero-g offset, an occasional slow bias drift,
  a causal 2nd-order low-pass (like the chip's DLPF at ~20 Hz), then keeps
  every 20th sample, adds white noise (~0.02 g) and quantizes to the
  +-4 g range's 1/8192 g steps.

Classes: 0 idle, 1 shake (x, 6-9 Hz), 2 wave (y/z, 1.5-3 Hz, with the device
rolling), 3 tap (short sharp spikes, mainly on z).

A Scene is one continuous stream; gestures are placed on it in seconds. The
same code builds the short training windows and the 60 s recording, so what
the model is trained on is what the replayed recording looks like.
"""

import numpy as np
from scipy import signal

FS = 50                   # output sample rate, Hz
OVS = 20                  # physics oversampling factor
FS_HI = FS * OVS          # 1 kHz
LSB_G = 1.0 / 8192.0      # MPU6050 at +-4 g full scale
FULL_SCALE_G = 4.0
PREROLL = 25              # output samples simulated (and dropped) before t=0

CLASS_NAMES = ["idle", "shake", "wave", "tap"]

# Sensor low-pass: 2nd-order Butterworth at 20 Hz, run causally at 1 kHz.
_LP_B, _LP_A = signal.butter(2, 20.0, fs=FS_HI)


def _smooth_walk(rng, n_hi, knot_s, step_sigma):
    """A random walk with knots every knot_s seconds, linearly interpolated."""
    n_knots = int(np.ceil(n_hi / (knot_s * FS_HI))) + 2
    knots = np.cumsum(rng.normal(0.0, step_sigma, n_knots))
    knots -= knots[0]
    x = np.arange(n_hi) / (knot_s * FS_HI)
    return np.interp(x, np.arange(n_knots), knots)


def _smooth_noise(rng, n_hi, knot_s, sigma):
    """Bounded, slowly varying noise: independent N(0, sigma) knots every
    knot_s seconds, linearly interpolated (unlike _smooth_walk it does not
    wander off over a long recording)."""
    n_knots = int(np.ceil(n_hi / (knot_s * FS_HI))) + 2
    knots = rng.normal(0.0, sigma, n_knots)
    x = np.arange(n_hi) / (knot_s * FS_HI)
    return np.interp(x, np.arange(n_knots), knots)


def _ramp_envelope(t, dur, ramp):
    """1 inside [0,dur], raised-cosine ramps of length `ramp` at both ends, 0 outside."""
    env = np.zeros_like(t)
    inside = (t >= 0) & (t <= dur)
    env[inside] = 1.0
    r = max(ramp, 1e-3)
    up = inside & (t < r)
    env[up] = 0.5 - 0.5 * np.cos(np.pi * t[up] / r)
    down = inside & (t > dur - r)
    env[down] = 0.5 - 0.5 * np.cos(np.pi * (dur - t[down]) / r)
    return env


class Scene:
    """One continuous stream of n output samples starting at t = 0 s."""

    def __init__(self, rng, n, held_in_hand=None, tremor_max=0.06):
        self.rng = rng
        self.n = n
        self.n_hi = (n + PREROLL) * OVS
        # Time of every 1 kHz step, in seconds; t = 0 is output sample 0.
        self.t = np.arange(self.n_hi) / FS_HI - PREROLL / FS
        self.lin = np.zeros((3, self.n_hi))      # linear acceleration, g
        self.roll_extra = np.zeros(self.n_hi)    # gesture-driven rotation, rad
        self.tap_peaks = []                      # times (s) of tap impacts
        self.in_hand = rng.random() < 0.5 if held_in_hand is None else held_in_hand

        # Resting orientation: mostly flat (gravity on +z), sometimes tilted.
        tilt_sigma = np.radians(25.0 if rng.random() < 0.2 else 8.0)
        self.roll0 = rng.normal(0.0, tilt_sigma)
        self.pitch0 = rng.normal(0.0, tilt_sigma)
        wander = np.radians(1.0 if self.in_hand else 0.2)
        self.roll_walk = _smooth_walk(rng, self.n_hi, 0.5, wander)
        self.pitch_walk = _smooth_walk(rng, self.n_hi, 0.5, wander)

        # Sensor imperfections that stay with the stream.
        self.bias = rng.normal(0.0, 0.025, 3)
        self.noise_sigma = rng.uniform(0.015, 0.025, 3)
        self.drift = np.zeros((3, self.n_hi))
        if rng.random() < 0.3:   # occasional slow bias drift (e.g. thermal)
            for ax in range(3):
                self.drift[ax] = _smooth_walk(rng, self.n_hi, 2.0, 0.006)

        if self.in_hand:
            self._tremor(0.0 - PREROLL / FS, n / FS + PREROLL / FS, tremor_max)

    # -- idle clutter ---------------------------------------------------------
    def _tremor(self, start, dur, amp_max):
        """Physiological hand tremor: tiny 8-12 Hz wobble on all axes."""
        rng = self.rng
        f = rng.uniform(6.5, 12.0)
        amp = np.exp(rng.uniform(np.log(0.004), np.log(amp_max)))
        mod = 1.0 + 0.5 * _smooth_noise(rng, self.n_hi, 0.4, 0.3)
        env = _ramp_envelope(self.t - start, dur, 0.2) * np.clip(mod, 0.2, 2.0)
        for ax in range(3):
            self.lin[ax] += amp * rng.uniform(0.3, 1.0) * env * np.sin(
                2 * np.pi * f * self.t + rng.uniform(0, 2 * np.pi))

    def fidget(self, start):
        """A slow, small nudge of the device (0.2-0.8 s bump)."""
        rng = self.rng
        dur = rng.uniform(0.2, 0.8)
        amp = rng.uniform(0.03, 0.25)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        tt = self.t - start
        # One full sine period: push then stop, so velocity returns to zero.
        shape = np.where((tt >= 0) & (tt <= dur), np.sin(2 * np.pi * tt / dur), 0.0)
        self.lin += amp * direction[:, None] * shape[None, :]

    def sway(self, start, dur):
        """Slow, gentle swaying of a hand-held device (0.8-2 Hz, small)."""
        rng = self.rng
        tt = self.t - start
        env = _ramp_envelope(tt, dur, 0.3)
        f = rng.uniform(0.8, 2.0)
        ph = 2 * np.pi * f * self.t + rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(0.02, 0.1)
        self.lin[1] += amp * env * np.sin(ph)
        self.lin[2] += amp * rng.uniform(0.2, 0.8) * env * np.sin(ph + rng.uniform(0, 6.3))
        self.roll_extra += np.radians(rng.uniform(0, 4)) * env * np.sin(ph)

    def knock(self, start):
        """Something bumps the table: a small spike, weaker than a tap."""
        self._impulse(start, self.rng.uniform(0.08, 0.45), record=False)

    # -- gestures -------------------------------------------------------------
    def shake(self, start, dur, amp=None):
        rng = self.rng
        tt = self.t - start
        env = _ramp_envelope(tt, dur, rng.uniform(0.08, 0.25))
        f0 = rng.uniform(6.0, 9.0)
        f = f0 * np.clip(1.0 + 0.04 * _smooth_noise(rng, self.n_hi, 0.3, 1.0), 0.92, 1.08)
        phase = 2 * np.pi * np.cumsum(f) / FS_HI + rng.uniform(0, 2 * np.pi)
        if amp is None:
            amp = np.exp(rng.uniform(np.log(0.06), np.log(1.4)))
        amp_mod = np.clip(1.0 + 0.15 * _smooth_noise(rng, self.n_hi, 0.25, 1.0), 0.5, 1.5)
        a = amp * env * amp_mod
        self.lin[0] += a * (np.sin(phase) + rng.uniform(0.0, 0.2) * np.sin(2 * phase + rng.uniform(0, 6.3)))
        self.lin[1] += a * rng.uniform(0.05, 0.3) * np.sin(phase + rng.uniform(0, 6.3))
        self.lin[2] += a * rng.uniform(0.05, 0.25) * np.sin(phase + rng.uniform(0, 6.3))
        # A shaken device also rocks a little.
        self.roll_extra += np.radians(rng.uniform(0, 6)) * env * np.sin(phase + rng.uniform(0, 6.3))

    def wave(self, start, dur, amp=None):
        rng = self.rng
        tt = self.t - start
        env = _ramp_envelope(tt, dur, rng.uniform(0.15, 0.35))
        f0 = rng.uniform(1.5, 3.0)
        f = f0 * np.clip(1.0 + 0.05 * _smooth_noise(rng, self.n_hi, 0.5, 1.0), 0.9, 1.1)
        phase = 2 * np.pi * np.cumsum(f) / FS_HI + rng.uniform(0, 2 * np.pi)
        amp_y = rng.uniform(0.06, 1.0) if amp is None else amp
        amp_z = amp_y * rng.uniform(0.3, 0.9)
        lag = rng.uniform(np.pi / 4, 3 * np.pi / 4) * rng.choice([-1, 1])
        self.lin[1] += amp_y * env * np.sin(phase)
        self.lin[2] += amp_z * env * np.sin(phase + lag)
        self.lin[0] += amp_y * rng.uniform(0.03, 0.2) * env * np.sin(phase + rng.uniform(0, 6.3))
        # The wrist rolls with the wave, swinging gravity between y and z.
        self.roll_extra += np.radians(rng.uniform(3, 40)) * env * np.sin(phase + rng.uniform(-0.5, 0.5))

    def taps(self, start, count, peak_range=(0.3, 2.5)):
        """`count` taps starting at `start`; returns the time of the last one."""
        t = start
        for i in range(count):
            if i:
                t += self.rng.uniform(0.12, 0.45)
            lo, hi = peak_range
            self._impulse(t, np.exp(self.rng.uniform(np.log(lo), np.log(hi))), record=True)
        return t

    def _impulse(self, start, peak, record):
        """An impact, mostly on z: a 12-35 ms half-sine and a smaller rebound.

        `peak` is roughly the height the spike keeps after the sensor's
        low-pass and 50 Hz sampling (it varies +-30% with where the impact
        falls between two samples, as it does on real hardware).
        """
        rng = self.rng
        tt = self.t - start
        d = rng.uniform(0.012, 0.035)
        # Measured gain of the low-pass + decimation for a half-sine of width d.
        gain = np.interp(d, [0.01, 0.02, 0.03, 0.04], [0.27, 0.51, 0.69, 0.81])
        main = np.where((tt >= 0) & (tt <= d), np.sin(np.pi * tt / d), 0.0)
        d2 = 1.5 * d
        t2 = tt - d
        rebound = np.where((t2 >= 0) & (t2 <= d2), np.sin(np.pi * t2 / d2), 0.0)
        pulse = (peak / gain) * (main - rng.uniform(0.2, 0.5) * rebound)
        sign = -1.0 if rng.random() < 0.8 else 1.0
        self.lin[2] += sign * pulse
        self.lin[0] += rng.uniform(-0.3, 0.3) * pulse
        self.lin[1] += rng.uniform(-0.3, 0.3) * pulse
        # Pressing the device moves it a little (slow dip afterwards).
        dip_d = rng.uniform(0.08, 0.2)
        dip = np.where((tt >= 0) & (tt <= dip_d), np.sin(2 * np.pi * tt / dip_d), 0.0)
        self.lin[2] += sign * rng.uniform(0.01, 0.06) * dip
        if record:
            self.tap_peaks.append(start)

    # -- the sensor -----------------------------------------------------------
    def render(self):
        """Return float32 samples [n, 3] in g, quantized like the real sensor."""
        roll = self.roll0 + self.roll_walk + self.roll_extra
        pitch = self.pitch0 + self.pitch_walk
        grav = np.stack([-np.sin(pitch), np.sin(roll) * np.cos(pitch), np.cos(roll) * np.cos(pitch)])
        true_acc = grav + self.lin + self.bias[:, None] + self.drift
        # The sensor measures specific force; the sign convention matches a
        # device lying flat reading +1 g on z.
        filtered = signal.lfilter(_LP_B, _LP_A, true_acc, axis=1)
        out = filtered[:, PREROLL * OVS::OVS][:, :self.n]
        out = out + self.rng.normal(0.0, 1.0, out.shape) * self.noise_sigma[:, None]
        q = np.clip(np.round(out / LSB_G), -32768, 32767) * LSB_G
        q = np.clip(q, -FULL_SCALE_G, FULL_SCALE_G - LSB_G)
        return q.T.astype(np.float32)


def add_idle_clutter(scene, start, dur, rate_scale=1.0):
    """Sprinkle fidgets and knocks over an idle stretch [start, start+dur)."""
    rng = scene.rng
    n_fidget = rng.poisson(0.25 * dur * rate_scale)
    for _ in range(n_fidget):
        scene.fidget(start + rng.uniform(-0.4, dur))
    if scene.in_hand and rng.random() < 0.3 * rate_scale:
        scene.sway(start + rng.uniform(-1.0, 0.5 * dur), rng.uniform(1.0, 4.0))
    n_knock = rng.poisson(0.12 * dur * rate_scale)
    for _ in range(n_knock):
        scene.knock(start + rng.uniform(0, max(dur, 1e-3)))


# ------------------------------------------------------------------ windows

WIN = 64
MIN_COVER = 40      # samples of a shake/wave a window must hold to be labelled with it
MAX_EDGE = 10       # an idle window may hold at most this many gesture samples
TAP_MARGIN = 2      # a tap must land at least this many samples inside the window


def make_window(rng, cls):
    """One labelled 64-sample window [64,3] for class `cls`."""
    win_s = WIN / FS
    scene = Scene(rng, WIN)
    if cls == 0:
        add_idle_clutter(scene, -PREROLL / FS, win_s + PREROLL / FS, rate_scale=2.0)
        if rng.random() < 0.15:
            # The tail (or head) of a gesture just touching the window edge.
            edge = rng.integers(1, MAX_EDGE + 1) / FS
            dur = rng.uniform(1.0, 3.0)
            kind = scene.shake if rng.random() < 0.5 else scene.wave
            if rng.random() < 0.5:
                kind(edge - dur, dur)
            else:
                kind(win_s - edge, dur)
    elif cls in (1, 2):
        dur = rng.uniform(1.0, 4.0)
        lo = MIN_COVER / FS - dur          # earliest start keeping MIN_COVER inside
        hi = win_s - MIN_COVER / FS        # latest start keeping MIN_COVER inside
        start = rng.uniform(lo, hi)
        (scene.shake if cls == 1 else scene.wave)(start, dur)
        if start > 0.3:
            add_idle_clutter(scene, -PREROLL / FS, start, rate_scale=1.0)
    else:
        count = rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])
        # Pick where the first tap lands; at least one must be inside.
        first = rng.uniform(-0.8, win_s - TAP_MARGIN / FS - 0.02)
        scene.taps(first, count)
        inside = [p for p in scene.tap_peaks if TAP_MARGIN / FS <= p < win_s - TAP_MARGIN / FS]
        if not inside:
            return make_window(rng, cls)
        add_idle_clutter(scene, -PREROLL / FS, win_s + PREROLL / FS, rate_scale=0.5)
    return scene.render()


def make_dataset(rng, per_class):
    xs, ys = [], []
    for cls in range(4):
        for _ in range(per_class):
            xs.append(make_window(rng, cls))
            ys.append(cls)
    x = np.stack(xs)                     # [N, 64, 3]
    y = np.array(ys, dtype=np.int64)
    order = rng.permutation(len(y))
    return x[order], y[order]


# ---------------------------------------------------------------- recording

def make_recording(rng, seconds=60.0):
    """A continuous recording with a scripted gesture sequence.

    Returns (samples [n,3] float32 g, intervals [(start_sample, end_sample, label)],
    tap times in seconds).
    """
    n = int(round(seconds * FS))
    # A demo-style recording: gestures are done clearly (the weakest ones the
    # training set contains are left out) and the hand is steady.
    scene = Scene(rng, n, held_in_hand=True, tremor_max=0.02)
    # Every gesture class appears several times, in a shuffled order.
    order = list(rng.permutation([1, 2, 3] * 4))
    intervals = []
    t = 0.0
    end_s = n / FS

    def idle(until):
        nonlocal t
        if until > t:
            add_idle_clutter(scene, t, until - t, rate_scale=1.0)
            intervals.append([t, until, 0])
            t = until

    while order:
        idle(t + rng.uniform(1.5, 3.0))
        cls = order.pop(0)
        if cls == 3:
            count = int(rng.choice([1, 2, 3], p=[0.4, 0.4, 0.2]))
            first = t + 0.1
            last = scene.taps(first, count, peak_range=(0.7, 2.5))
            stop = last + 0.2
        else:
            dur = rng.uniform(1.5, 3.5)
            if cls == 1:
                scene.shake(t, dur, amp=np.exp(rng.uniform(np.log(0.35), np.log(1.4))))
            else:
                scene.wave(t, dur, amp=rng.uniform(0.35, 1.0))
            stop = t + dur
        if stop > end_s - 1.0:
            raise RuntimeError("script ran past the end of the recording")
        intervals.append([t, stop, cls])
        t = stop
    idle(end_s)

    # Snap interval edges to sample boundaries; keep them contiguous.
    snapped = []
    for s, e, c in intervals:
        a, b = int(round(s * FS)), int(round(e * FS))
        if snapped and snapped[-1][2] == c:
            snapped[-1][1] = b
        elif b > a:
            snapped.append([a, b, c])
    snapped[0][0] = 0
    for i in range(1, len(snapped)):
        snapped[i][0] = snapped[i - 1][1]
    snapped[-1][1] = n
    return scene.render(), snapped, list(scene.tap_peaks)


def window_truth(start, intervals, tap_peaks):
    """Ground truth of the window [start, start+64) on the recording.

    Uses the same rules the training windows were made with; returns -1 when
    the window is ambiguous (e.g. half a shake).
    """
    end = start + WIN
    cover = np.zeros(4, dtype=int)
    for a, b, c in intervals:
        cover[c] += max(0, min(b, end) - max(a, start))
    taps_inside = [p for p in tap_peaks
                   if start + TAP_MARGIN <= p * FS < end - TAP_MARGIN]
    if taps_inside:
        return 3
    moving = cover[1] + cover[2]
    if cover[1] >= MIN_COVER and cover[2] <= MAX_EDGE:
        return 1
    if cover[2] >= MIN_COVER and cover[1] <= MAX_EDGE:
        return 2
    if moving <= MAX_EDGE and cover[3] == 0:
        return 0
    return -1
