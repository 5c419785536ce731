/** Identity: Y = X, so dX = dY. */
import type { BackwardRule } from './rule.js';

export const identity: BackwardRule = { grad: (b) => [b.dY[0]] };
