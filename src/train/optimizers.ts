/**
 * Optimizers over parameters held in Float32Arrays, updated in place (tight loops, no allocation per step):
 * - SGD with momentum (PyTorch's form): v ← μv + g (+ λθ); θ ← θ − η·v.
 * - Adam (Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1):
 *   m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
 * - Cosine schedule after linear warm-up (Loshchilov & Hutter 2017, SGDR): η_t = η_min + ½(η₀ − η_min)(1 + cos(π·t'/T')).
 */
export interface Optimizer {
  /** One update of every parameter by its gradient, at learning rate `lr`. */
  step(params: ReadonlyMap<string, Float32Array>, grads: ReadonlyMap<string, Float32Array>, lr: number): void;
}

export interface SgdOptions {
  momentum?: number;
  weightDecay?: number;
}

export function sgd(options: SgdOptions = {}): Optimizer {
  const mu = options.momentum ?? 0.9;
  const decay = options.weightDecay ?? 0;
  const velocity = new Map<string, Float32Array>();
  return {
    step(params, grads, lr) {
      for (const [name, theta] of params) {
        const g = grads.get(name)!;
        let v = velocity.get(name);
        if (!v) velocity.set(name, (v = new Float32Array(theta.length)));
        for (let i = 0; i < theta.length; i++) {
          const vi = mu * v[i]! + g[i]! + decay * theta[i]!;
          v[i] = vi;
          theta[i] = theta[i]! - lr * vi;
        }
      }
    },
  };
}

export interface AdamOptions {
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): θ ← θ − η·λ·θ. */
  weightDecay?: number;
}

export function adam(options: AdamOptions = {}): Optimizer {
  const [b1, b2, eps, decay] = [options.beta1 ?? 0.9, options.beta2 ?? 0.999, options.epsilon ?? 1e-8, options.weightDecay ?? 0];
  const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
  let t = 0;
  return {
    step(params, grads, lr) {
      t++;
      const c1 = 1 - b1 ** t;
      const c2 = 1 - b2 ** t;
      for (const [name, theta] of params) {
        const g = grads.get(name)!;
        let s = moments.get(name);
        if (!s) moments.set(name, (s = { m: new Float32Array(theta.length), v: new Float32Array(theta.length) }));
        const { m, v } = s;
        for (let i = 0; i < theta.length; i++) {
          const gi = g[i]!;
          const mi = b1 * m[i]! + (1 - b1) * gi;
          const vi = b2 * v[i]! + (1 - b2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          theta[i] = theta[i]! - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + decay * theta[i]!);
        }
      }
    },
  };
}

export interface CosineOptions {
  lr: number;
  steps: number;
  warmup?: number;
  minLr?: number;
}

/** The learning rate at step t (0-based): linear warm-up to `lr`, then cosine decay to `minLr` at `steps`. */
export function cosineSchedule(options: CosineOptions): (t: number) => number {
  const { lr, steps } = options;
  const warmup = options.warmup ?? 0;
  const min = options.minLr ?? 0;
  return (t) => {
    if (t < warmup) return (lr * (t + 1)) / warmup;
    const progress = Math.min(1, (t - warmup) / Math.max(1, steps - warmup));
    return min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * progress));
  };
}
