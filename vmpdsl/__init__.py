"""vmpdsl: a modelling language that derives variational message passing.

    import vmpdsl
    model = vmpdsl.load("models/gmm.vmp")
    fit = model.fit({"x": x, "K": 6})
    fit.elbo, fit.posterior["pi"], fit.mean("mu"), model.equations(), model.code
"""
from .api import Fit, Model, load, load_fit
from .errors import VmpError
from .svi import OnlineVI

__version__ = "0.1.0"
__all__ = ["load", "load_fit", "Model", "Fit", "OnlineVI", "VmpError", "__version__"]
