"""The tables through which the generic runtime reaches optional features
(copied last into every emitted module; numpy and scipy only).

The sweep, the data binding and ``predict`` call a feature's code only through
these tables, and an emitted module lists only the entries of the features
its model has (emit/assemble.py trims the rest), so a model without a
rotation, a sliced plate, a chain, a k-means start or a block of local
latents carries none of their code.
"""
from .chains import _predict_chain, bind_slice_masks
from .kmeans import delete_and_merge, kmeans_start
from .local_restart import (gated_dirichlet, gated_loop, gated_start, local_layout,
                            restarted_block)
from .new_data import _predict_mixture, _predict_regression
from .rotate import rotate_pairs

# Steps run when the model's table of that name (before a dot) is not empty:
# the rotation step of the sweep (ROTATIONS), the masks of sliced plates
# (SLICE_MASKS), the k-means start of mixture indicators and its delete and
# merge moves (KMEANS_STARTS); and when the local block has two latents or
# more, its per-group restarts (LOCAL_BLOCK: local_loop.py).
FEATURES = {
    "ROTATIONS": rotate_pairs,
    "SLICE_MASKS": bind_slice_masks,
    "KMEANS_STARTS.start": kmeans_start,
    "KMEANS_STARTS.moves": delete_and_merge,
    "LOCAL_BLOCK.layout": local_layout,
    "LOCAL_BLOCK.restarts": restarted_block,
    "LOCAL_BLOCK.gated": gated_dirichlet,
    "LOCAL_BLOCK.gated_loop": gated_loop,
    "LOCAL_BLOCK.start": gated_start,
}

# predict's answer for each shape of model, PREDICTIVE[0] (predict.py's plan).
PREDICTORS = {
    "regression": _predict_regression,
    "mixture": _predict_mixture,
    "chain": _predict_chain,
}
