/** Element type and shape of a value, read from (or written to) a ValueInfoProto. */
import { create } from '@bufbuild/protobuf';
import {
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type ValueInfoProto,
} from 'onnx-buf';

/** A dimension is a number, a symbolic name, or unknown (null). */
export type Dim = number | string | null;

export interface ValueType {
  dtype: number;
  /** Undefined when the rank is unknown. */
  shape?: Dim[];
}

export function typeOf(info: ValueInfoProto | undefined): ValueType | undefined {
  const tv = info?.type?.value;
  if (!tv || tv.case !== 'tensorType') return undefined;
  const t = tv.value;
  const shape = t.shape
    ? t.shape.dim.map((d): Dim =>
        d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' && d.value.value ? d.value.value : null,
      )
    : undefined;
  return { dtype: t.elemType, shape };
}

export function makeValueInfo(name: string, type: ValueType): ValueInfoProto {
  const shape = type.shape
    ? create(TensorShapeProtoSchema, {
        dim: type.shape.map((d) =>
          create(TensorShapeProto_DimensionSchema, {
            value:
              typeof d === 'number'
                ? { case: 'dimValue', value: BigInt(d) }
                : typeof d === 'string'
                  ? { case: 'dimParam', value: d }
                  : { case: undefined },
          }),
        ),
      })
    : undefined;
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: type.dtype, shape }) },
    }),
  });
}

export function formatShape(shape: Dim[] | undefined): string {
  return shape ? `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]` : '[?]';
}
