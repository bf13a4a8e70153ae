// TensorBoard event files (events.out.tfevents.*): TFRecord framing around `Event` protos, decoded
// with protobufjs from the vendored subset of TensorBoard's .proto files. Scalars come as
// `simple_value` (torch's add_scalar) or as a one-element float tensor (TF2 / new_style writers);
// text summaries (add_text) as a DT_STRING tensor with the `text` plugin.
import * as protobuf from 'protobufjs';
// @ts-expect-error TS2823: tsc rejects import attributes under module=commonjs; esbuild bundles the text
import eventProto from './proto/event.proto' with { type: 'text' };
// @ts-expect-error TS2823: as above
import summaryProto from './proto/summary.proto' with { type: 'text' };

let eventType: protobuf.Type | undefined;
function eventMessage(): protobuf.Type {
  if (!eventType) {
    const root = new protobuf.Root();
    protobuf.parse(summaryProto, root, { keepCase: true });
    protobuf.parse(eventProto, root, { keepCase: true });
    root.resolveAll();
    eventType = root.lookupType('tensorboard.Event');
  }
  return eventType;
}

export interface TbEvent {
  step: number;
  wallTime: number;
  scalars: { tag: string; value: number }[];
  texts: { tag: string; text: string }[];
}

interface TensorObj { dtype?: number; tensor_content?: Uint8Array; float_val?: number[]; double_val?: number[]; int_val?: number[]; int64_val?: number[]; string_val?: Uint8Array[] }
interface ValueObj { tag?: string; simple_value?: number; tensor?: TensorObj; metadata?: { plugin_data?: { plugin_name?: string } } }
interface EventObj { wall_time?: number; step?: number; summary?: { value?: ValueObj[] } }

const DT_FLOAT = 1, DT_DOUBLE = 2, DT_INT32 = 3, DT_STRING = 7, DT_INT64 = 9;
const utf8 = new TextDecoder('utf-8');

/** One Event record; throws on bytes that are not an Event (the caller reports it). */
export function decodeEvent(bytes: Uint8Array): TbEvent {
  const type = eventMessage();
  const e = type.toObject(type.decode(bytes), { longs: Number }) as EventObj;
  const out: TbEvent = { step: e.step ?? 0, wallTime: e.wall_time ?? 0, scalars: [], texts: [] };
  for (const v of e.summary?.value ?? []) {
    const tag = v.tag ?? '';
    if (typeof v.simple_value === 'number') { out.scalars.push({ tag, value: v.simple_value }); continue; }
    if (!v.tensor) continue;
    const text = tensorText(v.tensor);
    if (text !== undefined) { out.texts.push({ tag, text }); continue; }
    const value = tensorScalar(v.tensor);
    if (value !== undefined && v.metadata?.plugin_data?.plugin_name !== 'histograms') out.scalars.push({ tag, value });
  }
  return out;
}

function tensorText(t: TensorObj): string | undefined {
  if (t.dtype !== DT_STRING || !t.string_val?.length) return undefined;
  return t.string_val.map((b) => utf8.decode(b)).join('\n');
}

/** A tensor with one number (or the first of its numbers: a scalar summary holds one). */
function tensorScalar(t: TensorObj): number | undefined {
  const first = t.float_val?.[0] ?? t.double_val?.[0] ?? t.int_val?.[0] ?? t.int64_val?.[0];
  if (first !== undefined) return first;
  const c = t.tensor_content;
  if (!c || c.length === 0) return undefined;
  const view = new DataView(c.buffer, c.byteOffset, c.byteLength);
  if (t.dtype === DT_FLOAT && c.length >= 4) return view.getFloat32(0, true);
  if (t.dtype === DT_DOUBLE && c.length >= 8) return view.getFloat64(0, true);
  if (t.dtype === DT_INT32 && c.length >= 4) return view.getInt32(0, true);
  if (t.dtype === DT_INT64 && c.length >= 8) return Number(view.getBigInt64(0, true));
  return undefined;
}
