"""The JAX peer of mirl's train_step benchmark (`mirl bench --peer jax`).

Builds the model of one bench case (bench/cases.ts) exactly as mirl does (ml/encoders.ts,
ml/critics.ts, ml/estimators.ts, ml/realnvp.ts): same widths, float32, batch 128, same
initialisers, InfoNCE, Adam(1e-4, 0.9, 0.999, eps 1e-7). One jit-compiled function does
what one mirl step does on the device: forward, backward, Adam update. As in mirl's
measure.ts, each timed step also assembles its batch on the host (row gather, noise),
hands it to the device, and waits for the loss; compilation falls in the warm-up.

Timing does not depend on pixel values, so the data are random numbers in [0, 1] shaped
like the two 392-pixel MNIST half-views (the peer must not need mirl's data files).

Usage: python jax_step.py --case mlp+bilinear --steps 50 --warmup 10 --seed 0
Prints one JSON object on stdout: case, ms_per_step_median, ms_per_step_min, steps,
warmup, jax_version, devices, initial_loss, log_k, compile_s.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np

BATCH = 128
VIEW = 392
LR, BETA1, BETA2, EPS = 1e-4, 0.9, 0.999, 1e-7  # mirl's TrialState.adam: Keras' epsilon

# Each case names the same model as its namesake in bench/cases.ts (defaults from ml/config.ts).
CASES = {
    # g1, g2: Dense 300 relu, 300 relu, 100 (glorot, zero bias); f = x^T W y, W 100x100, no bias.
    "mlp+bilinear": dict(encoder="mlp", critic="bilinear"),
    # phi1, phi2: Dense 100 relu, Dense 100 on each 100-d code; f = phi1(x) . phi2(y).
    "mlp+separable": dict(encoder="mlp", critic="separable"),
    # phi([x; y]) = Dense(200 relu) then Dense(1) over all 128 x 128 pairs; the first layer
    # split as x Wx + (y Wy + b) with glorot fans (200, 200), as mirl's concat critic.
    "mlp+concat": dict(encoder="mlp", critic="concat", critic_hidden=[200]),
    # Five residual Dense 392 layers (truncated normal 1e-4), N(0, 0.05^2) noise drawn on the
    # host for each view separately, as MnistPairSource.next does; bilinear 392 x 392.
    "mlp-shortcut+bilinear": dict(encoder="mlp-shortcut", critic="bilinear", noise=0.05),
    # 30 shift couplings per encoder: MLP 196-512-512-196 (truncated normal 1e-4, zero
    # biases) on the first half shifts the second, then a fixed random permutation; bilinear 392 x 392.
    "realnvp-shift+bilinear": dict(encoder="realnvp", critic="bilinear"),
    # Two strided 5x5 'same' convolutions (64, 128), layer norm over (h, w, c) with eps 1e-3
    # and per-element gamma/beta, global mean pool, Dense 100; loss |I_NCE - 4|.
    "convnet+bilinear": dict(encoder="convnet", critic="bilinear", target=4.0),
    # Identity encoders on 2-d Gaussian samples drawn on the host; concat critic 5 x 10 hidden.
    "gaussian+concat5x10": dict(encoder="identity", critic="concat", critic_hidden=[10] * 5, data="gaussian"),
}


# ---- initialisers (mirl's ParamStore: glorot uniform, truncated normal at +-2 std, zeros) ----

def glorot(rng, shape, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def trunc_normal(rng, shape, std):
    v = rng.standard_normal(size=shape)
    bad = np.abs(v) >= 2
    while bad.any():
        v[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(v) >= 2
    return (std * v).astype(np.float32)


def dense(rng, din, dout, std=None, bias=True):
    w = trunc_normal(rng, (din, dout), std) if std else glorot(rng, (din, dout), din, dout)
    return {"w": w, "b": np.zeros(dout, np.float32)} if bias else {"w": w}


def mlp(rng, dims, std=None):
    return [dense(rng, a, b, std) for a, b in zip(dims[:-1], dims[1:])]


# ---- models: each builder returns (params, apply) with apply(params, x) pure ----

def build_encoder(kind, rng, din, jnp, jax):
    relu = jax.nn.relu

    def apply_mlp(layers, h):
        for i, l in enumerate(layers):
            h = h @ l["w"] + l["b"]
            h = relu(h) if i < len(layers) - 1 else h
        return h

    if kind == "identity":
        return {}, lambda p, x: x, din
    if kind == "mlp":
        return mlp(rng, [din, 300, 300, 100]), apply_mlp, 100
    if kind == "mlp-shortcut":
        def shortcut(layers, h):
            for i, l in enumerate(layers):
                y = h @ l["w"] + l["b"]
                h = (relu(y) if i < len(layers) - 1 else y) + h
            return h
        return [dense(rng, din, din, 1e-4) for _ in range(5)], shortcut, din
    if kind == "convnet":
        return build_convnet(rng, jnp, jax), convnet_apply(jnp, jax), 100
    if kind == "realnvp":
        half = din // 2
        nets = [mlp(rng, [half, 512, 512, half], 1e-4) for _ in range(30)]
        perms = [rng.permutation(din) for _ in range(30)]  # static: constants of the jit

        def flow(params, h):
            for net, perm in zip(params, perms):
                a, b = h[:, :half], h[:, half:]
                h = jnp.concatenate([a, b + apply_mlp(net, a)], axis=1)[:, perm]
            return h
        return nets, flow, din
    raise SystemExit(f"unknown encoder {kind}")


def build_convnet(rng, jnp, jax):
    return {
        "k1": glorot(rng, (5, 5, 1, 64), 25, 25 * 64), "b1": np.zeros(64, np.float32),
        "k2": glorot(rng, (5, 5, 64, 128), 25 * 64, 25 * 128), "b2": np.zeros(128, np.float32),
        "gamma": np.ones((4, 7, 128), np.float32), "beta": np.zeros((4, 7, 128), np.float32),
        "head": dense(rng, 128, 100),
    }


def convnet_apply(jnp, jax):
    def conv(x, k):
        return jax.lax.conv_general_dilated(x, k, (2, 2), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def apply(p, x):
        img = x.reshape(x.shape[0], 14, 28, 1)
        h = jax.nn.relu(conv(img, p["k1"]) + p["b1"])
        h = jax.nn.relu(conv(h, p["k2"]) + p["b2"])
        mean = h.mean(axis=(1, 2, 3), keepdims=True)
        var = ((h - mean) ** 2).mean(axis=(1, 2, 3), keepdims=True)
        h = (h - mean) / jnp.sqrt(var + 1e-3) * p["gamma"] + p["beta"]
        return h.mean(axis=(1, 2)) @ p["head"]["w"] + p["head"]["b"]
    return apply


def build_critic(kind, rng, dx, dy, hidden, jnp, jax):
    relu = jax.nn.relu
    if kind == "bilinear":
        return {"w": glorot(rng, (dx, dy), dx, dy)}, lambda p, x, y: (x @ p["w"]) @ y.T
    if kind == "separable":
        def phi(layers, h):
            h = relu(h @ layers[0]["w"] + layers[0]["b"])
            return h @ layers[1]["w"] + layers[1]["b"]
        params = {"phi1": mlp(rng, [dx, 100, 100]), "phi2": mlp(rng, [dy, 100, 100])}
        return params, lambda p, x, y: phi(p["phi1"], x) @ phi(p["phi2"], y).T
    if kind == "concat":
        h0 = hidden[0]
        params = {
            "wx": glorot(rng, (dx, h0), dx + dy, h0), "wy": glorot(rng, (dy, h0), dx + dy, h0),
            "b0": np.zeros(h0, np.float32), "tail": mlp(rng, hidden + [1]),
        }

        def scores(p, x, y):
            k, m = x.shape[0], y.shape[0]
            h = relu((x @ p["wx"])[:, None, :] + (y @ p["wy"] + p["b0"])[None, :, :]).reshape(k * m, h0)
            for i, l in enumerate(p["tail"]):
                h = h @ l["w"] + l["b"]
                h = relu(h) if i < len(p["tail"]) - 1 else h
            return h.reshape(k, m)
        return params, scores
    raise SystemExit(f"unknown critic {kind}")


# ---- the data a step draws on the host, as ml/data/pairs.ts does ----

class Batches:
    def __init__(self, spec, rng):
        self.rng, self.noise, self.gaussian = rng, spec.get("noise", 0.0), spec.get("data") == "gaussian"
        # A pool stands in for the 60,000 training images; a step copies 128 rows of it.
        self.pool = rng.random((8192, 2 * VIEW), dtype=np.float32)
        self.order, self.pos = rng.permutation(len(self.pool)), 0

    def next(self):
        if self.gaussian:  # Z ~ N(0, [[1,-.5],[-.5,1]]) + eps ~ N(0, [[1,.9],[.9,1]]) per row (i.i.d.)
            z = self.rng.multivariate_normal([0, 0], [[1, -0.5], [-0.5, 1]], BATCH)
            e = self.rng.multivariate_normal([0, 0], [[1, 0.9], [0.9, 1]], BATCH)
            s = (z + e).astype(np.float32)
            return s[:, :1], s[:, 1:]
        if self.pos + BATCH > len(self.pool):
            self.order, self.pos = self.rng.permutation(len(self.pool)), 0
        rows = self.pool[self.order[self.pos:self.pos + BATCH]]
        self.pos += BATCH
        x, y = rows[:, :VIEW], rows[:, VIEW:]
        if self.noise:
            x = x + self.noise * self.rng.standard_normal(x.shape, dtype=np.float32)
            y = y + self.noise * self.rng.standard_normal(y.shape, dtype=np.float32)
        return np.ascontiguousarray(x), np.ascontiguousarray(y)


def make_step(spec, rng, jnp, jax):
    """(params, adam state, jitted step(params, m, v, t, x, y) -> (params, m, v, t, loss))."""
    din = 1 if spec.get("data") == "gaussian" else VIEW
    p1, g1, d1 = build_encoder(spec["encoder"], rng, din, jnp, jax)
    p2, g2, d2 = build_encoder(spec["encoder"], rng, din, jnp, jax)
    pc, critic = build_critic(spec["critic"], rng, d1, d2, spec.get("critic_hidden", [200]), jnp, jax)
    params = jax.tree_util.tree_map(jnp.asarray, {"g1": p1, "g2": p2, "critic": pc})
    target = spec.get("target")

    def loss_fn(p, x, y):
        s = critic(p["critic"], g1(p["g1"], x), g2(p["g2"], y))
        i_nce = math.log(s.shape[0]) + jnp.mean(jnp.diagonal(s) - jax.nn.logsumexp(s, axis=1))
        return -i_nce if target is None else jnp.abs(i_nce - target)

    def step(p, m, v, t, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        t = t + 1
        m = jax.tree_util.tree_map(lambda a, b: BETA1 * a + (1 - BETA1) * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: BETA2 * a + (1 - BETA2) * b * b, v, g)
        c1, c2 = 1 - BETA1 ** t, 1 - BETA2 ** t
        p = jax.tree_util.tree_map(lambda w, a, b: w - LR * (a / c1) / (jnp.sqrt(b / c2) + EPS), p, m, v)
        return p, m, v, t, loss

    def zeros():  # two distinct sets of buffers: m and v are both donated
        return jax.tree_util.tree_map(jnp.zeros_like, params)
    # Donating the old parameters and moments lets XLA update them in place, as tfjs' Adam does.
    return params, (zeros(), zeros(), jnp.zeros((), jnp.float32)), jax.jit(step, donate_argnums=(0, 1, 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    import jax
    import jax.numpy as jnp
    # Each round is a fresh process: the on-disk cache spares it the RealNVP compile.
    jax.config.update("jax_compilation_cache_dir", os.path.join(sys.prefix, "xla-cache"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)

    rng = np.random.default_rng(a.seed)
    params, (m, v, t), step = make_step(CASES[a.case], rng, jnp, jax)
    batches = Batches(CASES[a.case], rng)
    times, first_loss, compile_s = [], None, 0.0
    for i in range(a.warmup + max(a.steps, 1)):
        t0 = time.perf_counter()
        x, y = batches.next()
        params, m, v, t, loss = step(params, m, v, t, x, y)
        jax.block_until_ready((params, m, v))
        loss = float(loss)  # mirl reads the loss every step too (dataSync)
        dt = time.perf_counter() - t0
        if i == 0:
            first_loss, compile_s = loss, dt
        if i >= a.warmup:
            times.append(dt * 1000)
    print(json.dumps({
        "case": a.case, "ms_per_step_median": statistics.median(times), "ms_per_step_min": min(times),
        "steps": len(times), "warmup": a.warmup, "jax_version": jax.__version__,
        "devices": [str(d) for d in jax.devices()], "initial_loss": first_loss,
        "log_k": math.log(BATCH), "compile_s": compile_s,
    }))


if __name__ == "__main__":
    main()
