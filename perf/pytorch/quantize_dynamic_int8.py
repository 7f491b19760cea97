#!/usr/bin/python3
"""ONNX Runtime's dynamic int8 quantisation of the anchor graphs, written out with python3-onnx.

ONNX Runtime's own tool (onnxruntime.quantization.quantize_dynamic) ships only in the onnxruntime package of
PyPI, which this machine cannot reach, and Debian has no python3-onnxruntime. This script applies the rewrite
that quantize_dynamic applies to a MatMul with a constant weight (its defaults: weight_type QInt8 symmetric
per tensor, activations uint8 through DynamicQuantizeLinear):

    x -> DynamicQuantizeLinear -> x_q (uint8), x_scale, x_zero_point
    MatMulInteger(x_q, W_q (int8), x_zero_point, 0) -> Cast(float) -> Mul(x_scale * W_scale) [-> Add(bias)]

W_scale = max|W| / 127, W_q = round(W / W_scale). ONNX Runtime's graph optimiser then fuses each of these
chains into its DynamicQuantizeMatMul kernel, so the int8 GEMMs that run are ONNX Runtime's own.
One difference from quantize_dynamic: it leaves Gemm nodes in fp32 (its integer-op registry has MatMul, Conv,
LSTM and Attention only), and torch.onnx exports the decoder's GRU cell and output projection as Gemm, which
would leave nearly every decoder weight in fp32. Here a Gemm with a constant weight (transB as exported, alpha =
beta = 1) is quantised the same way as a MatMul, with its bias added after the Mul. The encoder's GRU node stays
fp32: ONNX Runtime has no quantised GRU kernel (DynamicQuantizeLSTM is LSTM only). Embedding Gathers stay fp32
(quantize_dynamic would store them as uint8 and dequantize; a table lookup, no arithmetic).

Usage: quantize_dynamic_int8.py IN.onnx OUT.onnx   (or quantize_file from export_reference.py)
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def quantize_model(model):
    """Rewrites `model` in place; returns a summary: quantised node names, fp32 nodes left with weights."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, quantised, kept = [], [], []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        weight = node.input[1] if len(node.input) > 1 else None
        gemm_ok = node.op_type == "Gemm" and not attrs.get("transA", 0) and attrs.get("alpha", 1.0) == 1.0 \
            and attrs.get("beta", 1.0) == 1.0
        if weight not in inits or not (node.op_type == "MatMul" or gemm_ok):
            if node.op_type in ("GRU", "LSTM", "RNN", "Gemm", "MatMul"):
                kept.append(node.op_type + " " + node.name)
            nodes.append(node)
            continue
        W = numpy_helper.to_array(inits[weight]).astype(np.float32)
        if node.op_type == "Gemm" and attrs.get("transB", 0):
            W = W.T                                              # MatMulInteger wants [K, N]
        scale = np.float32(max(float(np.abs(W).max()), 1e-12) / 127.0)
        Wq = np.clip(np.round(W / scale), -127, 127).astype(np.int8)
        p = (node.name or weight).replace("/", "_").strip("_")
        graph.initializer.extend([
            numpy_helper.from_array(Wq, p + "_W_quantized"),
            numpy_helper.from_array(np.array(0, dtype=np.int8), p + "_W_zero_point"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), p + "_W_scale"),
        ])
        x = node.input[0]
        product = node.output[0] if node.op_type == "MatMul" or len(node.input) < 3 else p + "_product"
        nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [p + "_x_q", p + "_x_scale", p + "_x_zero_point"], p + "_quant"),
            helper.make_node("MatMulInteger", [p + "_x_q", p + "_W_quantized", p + "_x_zero_point", p + "_W_zero_point"],
                             [p + "_int32"], p + "_MatMulInteger"),
            helper.make_node("Cast", [p + "_int32"], [p + "_float"], p + "_cast", to=TensorProto.FLOAT),
            helper.make_node("Mul", [p + "_x_scale", p + "_W_scale"], [p + "_scale"], p + "_scales_mul"),
            helper.make_node("Mul", [p + "_float", p + "_scale"], [product], p + "_output_mul"),
        ]
        if product != node.output[0]:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]], p + "_bias_add"))
        quantised.append("%s %s [%d x %d]" % (node.op_type, node.name, W.shape[0], W.shape[1]))
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    onnx.checker.check_model(model)
    return {"quantised": quantised, "fp32_left": kept}


def quantize_file(src, dst):
    model = onnx.load(src)
    summary = quantize_model(model)
    onnx.save(model, dst)
    return summary


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: quantize_dynamic_int8.py IN.onnx OUT.onnx")
    print(quantize_file(sys.argv[1], sys.argv[2]))
