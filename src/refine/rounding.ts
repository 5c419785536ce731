/**
 * AdaRound's rounding variable and regulariser (Nagel et al. 2020, "Up or Down? Adaptive Rounding for
 * Post-Training Quantization", ICML, eqs. 21–24): each weight rounds down or up by h(V) ∈ [0, 1],
 *     h(V) = clip(σ(V)·(ζ − γ) + γ, 0, 1),  ζ = 1.1, γ = −0.1   (the rectified sigmoid),
 *     f_reg(V) = Σ 1 − |2h(V) − 1|^β,
 * β annealed from 20 to 2 once a warm-up without the regulariser is over, so that h is first free to
 * move and then pushed to 0 or 1. V starts where h(V) equals the fractional part of W/s, which makes
 * the first W̃ equal to W.
 */

export const ZETA = 1.1;
export const GAMMA = -0.1;

export interface Annealing {
  /** Share of the iterations without the regulariser (the paper's and AIMET's 0.2). */
  warmup: number;
  /** β at the end of the warm-up and at the last iteration (20 → 2). */
  betaStart: number;
  betaEnd: number;
}

export const ANNEALING: Annealing = { warmup: 0.2, betaStart: 20, betaEnd: 2 };

function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

export function rectifiedSigmoid(v: number): number {
  return Math.min(1, Math.max(0, sigmoid(v) * (ZETA - GAMMA) + GAMMA));
}

/** V with h(V) = frac: σ(V) = (frac − γ)/(ζ − γ), which lies in (0, 1) for frac ∈ [0, 1]. */
export function initialV(frac: number): number {
  const p = (frac - GAMMA) / (ZETA - GAMMA);
  return Math.log(p / (1 - p));
}

/** β at iteration t of `total` (0-based), or 0 during the warm-up: no regulariser then. */
export function betaAt(t: number, total: number, a: Annealing = ANNEALING): number {
  const start = Math.floor(a.warmup * total);
  if (t < start) return 0;
  // Linear decay, as AIMET's and BRECQ's LinearTempDecay.
  const progress = total - start <= 1 ? 1 : (t - start) / (total - start - 1);
  return a.betaStart + (a.betaEnd - a.betaStart) * progress;
}

/** The regulariser's value Σ 1 − |2h − 1|^β over the entries where `free` is set (all when absent). */
export function regularizer(v: Float32Array, beta: number, free?: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) if (!free || free[i]) sum += 1 - Math.abs(2 * rectifiedSigmoid(v[i]!) - 1) ** beta;
  return sum;
}

/**
 * Adds λ·∂f_reg/∂V to `grad`: ∂/∂h (1 − |2h − 1|^β) = −2β·|2h − 1|^(β−1)·sign(2h − 1), and
 * ∂h/∂V = (ζ − γ)·σ(V)(1 − σ(V)) where the clip is not active, else 0.
 */
export function addRegularizerGradient(grad: Float32Array, v: Float32Array, beta: number, lambda: number, free?: Uint8Array): void {
  for (let i = 0; i < v.length; i++) {
    if (free && !free[i]) continue;
    const s = sigmoid(v[i]!);
    const r = s * (ZETA - GAMMA) + GAMMA;
    if (r <= 0 || r >= 1) continue;
    const d = 2 * r - 1;
    const dReg = -2 * beta * Math.abs(d) ** (beta - 1) * Math.sign(d);
    grad[i] = grad[i]! + lambda * dReg * (ZETA - GAMMA) * s * (1 - s);
  }
}
