"""``vmpdsl check`` runs the derivation: a model that is not conjugate fails
there with the same located error (line, caret, hint) as ``equations`` and
``fit``, not only later."""
import pytest

import vmpdsl
from vmpdsl import cli
from vmpdsl.errors import VmpConjugacyError

HEAD = "dim N\ndata x[N]\n"
NOT_CONJUGATE = {
    "normal-prior-on-a-precision": "tau ~ Normal(0.0, 1.0)\nfor n in N:\n    x[n] ~ Normal(0.0, tau)\n",
    "latent-gamma-shape": "a ~ Gamma(1.0, 1.0)\nfor n in N:\n    x[n] ~ Gamma(a, 1.0)\n",
    "squared-mean": "mu ~ Normal(0.0, 1.0)\nfor n in N:\n    x[n] ~ Normal(mu * mu, 1.0)\n",
}


@pytest.mark.parametrize("body", NOT_CONJUGATE.values(), ids=NOT_CONJUGATE)
def test_check_reports_what_fit_reports(body, tmp_path, capsys):
    path = tmp_path / "m.vmp"
    path.write_text(HEAD + body)
    with pytest.raises(VmpConjugacyError) as caught:
        vmpdsl.load(str(path))
    assert cli.main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == str(caught.value).strip()
    assert err.startswith(f"{path}:5:5: not conjugate: ") and "^^^" in err


def test_check_still_prints_the_table_for_a_conjugate_model(tmp_path, capsys):
    path = tmp_path / "m.vmp"
    path.write_text(HEAD + "tau ~ Gamma(1.0, 1.0)\nfor n in N:\n    x[n] ~ Normal(0.0, tau)\n")
    assert cli.main(["check", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"model m ({path}): ok")
