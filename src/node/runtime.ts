/**
 * Node's onnxruntime. Importing this module gives the core onnxruntime-node; src/index.ts and the
 * src/node helpers that run models import it, so that 'onnxq/core' itself never names a Node binary.
 */
import * as ort from 'onnxruntime-node';
import { useRuntime } from '../runtime/ort.js';

useRuntime(ort);
import './stage.js';
