"""The tables through which the generic runtime reaches optional features
(copied last into every emitted module; numpy and scipy only).

The sweep, the data binding and ``predict`` call a feature's code only through
these tables, and an emitted module lists only the entries of the features
its model has (emit/assemble.py trims the rest), so a model without a
rotation, a sliced plate or a chain carries none of their code.
"""
from .chains import _predict_chain, bind_slice_masks
from .new_data import _predict_mixture, _predict_regression
from .rotate import rotate_pairs

# Steps run when the model's table of that name is not empty: the rotation
# step of the sweep (ROTATIONS), the masks of sliced plates (SLICE_MASKS).
FEATURES = {
    "ROTATIONS": rotate_pairs,
    "SLICE_MASKS": bind_slice_masks,
}

# predict's answer for each shape of model, PREDICTIVE[0] (predict.py's plan).
PREDICTORS = {
    "regression": _predict_regression,
    "mixture": _predict_mixture,
    "chain": _predict_chain,
}
