"""Pure cost formulas: functions of ints and tuples, standard library only.

Each op family lives in its own module; every function returns an :class:`OpCost` (the
contract's cost fields plus the output shape) and states its counting rule in its docstring.
``docs/conventions.md`` collects the rules in one table.
"""

from convcost.formulas._core import (
    COST_FIELDS,
    INDEX_ITEMSIZE,
    ITEMSIZE,
    Cost,
    OpCost,
    Shape,
    broadcast_shapes,
    itemsize_of,
    numel,
)
from convcost.formulas.attention import attention, multi_head_attention, transformer_encoder_layer
from convcost.formulas.conv import (
    CONV_KINDS,
    ConvKind,
    conv,
    conv_kind,
    conv_output_size,
    conv_transpose,
    depthwise_multiplier,
    is_spatially_separable_pair,
)
from convcost.formulas.design import LayerDesign, SeparableComparison, separable_comparison
from convcost.formulas.elementwise import (
    ACTIVATION_FLOPS,
    activation,
    binary,
    gate,
    select,
    unary,
)
from convcost.formulas.indexing import (
    EMBEDDING_BAG_MODES,
    embedding,
    embedding_bag,
    gather,
    indexed_elems,
    nonzero,
    scatter,
)
from convcost.formulas.linear import einsum, linear, matmul, matmul_shape
from convcost.formulas.memory_access import (
    ChannelPair,
    channels_for_ratio,
    grouped_pointwise_mac,
    pointwise_mac,
    pointwise_mac_lower_bound,
    pointwise_madds,
)
from convcost.formulas.movement import (
    channel_shuffle,
    chunk,
    col2im,
    concat,
    copy,
    im2col,
    pad,
    repeat,
    split,
    upsample,
)
from convcost.formulas.multipliers import (
    MultiplierEffect,
    make_divisible,
    multiplier_effect,
    scale_channels,
    scale_size,
)
from convcost.formulas.norm import batch_norm, group_norm, layer_norm
from convcost.formulas.pool import adaptive_bins, adaptive_pool, global_pool, pool
from convcost.formulas.recurrent import RNN_GATES, recurrent, rnn_cell
from convcost.formulas.reduction import reduction, scan, sort, topk, variance, vector_norm

__all__ = [
    "ACTIVATION_FLOPS",
    "CONV_KINDS",
    "COST_FIELDS",
    "EMBEDDING_BAG_MODES",
    "INDEX_ITEMSIZE",
    "ITEMSIZE",
    "RNN_GATES",
    "ChannelPair",
    "ConvKind",
    "Cost",
    "LayerDesign",
    "MultiplierEffect",
    "OpCost",
    "SeparableComparison",
    "Shape",
    "activation",
    "adaptive_bins",
    "adaptive_pool",
    "attention",
    "batch_norm",
    "binary",
    "broadcast_shapes",
    "channel_shuffle",
    "channels_for_ratio",
    "chunk",
    "col2im",
    "concat",
    "conv",
    "conv_kind",
    "conv_output_size",
    "conv_transpose",
    "copy",
    "depthwise_multiplier",
    "einsum",
    "embedding",
    "embedding_bag",
    "gate",
    "gather",
    "global_pool",
    "group_norm",
    "grouped_pointwise_mac",
    "im2col",
    "indexed_elems",
    "is_spatially_separable_pair",
    "itemsize_of",
    "layer_norm",
    "linear",
    "make_divisible",
    "matmul",
    "matmul_shape",
    "multi_head_attention",
    "multiplier_effect",
    "nonzero",
    "numel",
    "pad",
    "pointwise_mac",
    "pointwise_mac_lower_bound",
    "pointwise_madds",
    "pool",
    "recurrent",
    "reduction",
    "repeat",
    "rnn_cell",
    "scale_channels",
    "scale_size",
    "scan",
    "scatter",
    "select",
    "separable_comparison",
    "sort",
    "split",
    "topk",
    "transformer_encoder_layer",
    "unary",
    "upsample",
    "variance",
    "vector_norm",
]
