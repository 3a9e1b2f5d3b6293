"""The built wheel works on its own: grammar shipped as package data, console script.

Builds a wheel, installs it (without dependencies) into a fresh virtual
environment that sees the running interpreter's packages, and runs `vmpdsl`
from a directory outside the source tree, so nothing can come from the checkout.
"""
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(cmd, cwd, timeout=600):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    done = _run([sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "-w", out], cwd=out)
    wheels = sorted(out.glob("vmpdsl-*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        pytest.skip("cannot build a wheel here (pip wheel failed): " + " | ".join(tail))
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv with the wheel; the dependencies come from the running interpreter."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home / "env", system_site_packages=True, with_pip=False)
    python = home / "env" / ("Scripts" if sys.platform == "win32" else "bin") / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                cwd=home).stdout.strip()
    # numpy, lark, ... of the interpreter running the tests (a venv's packages are not
    # "system site packages"); a .pth path line does not run that dir's own .pth
    # files, so an editable install of vmpdsl there stays invisible.
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    done = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                 wheel], cwd=home)
    if done.returncode != 0:  # pip older than 22.3 has no --python
        done = _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", site,
                     wheel], cwd=home)
    assert done.returncode == 0, done.stderr
    return python, home


def test_wheel_ships_the_grammar(wheel):
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert "vmpdsl/grammar/vmp.lark" in names


def test_installed_wheel_checks_a_model_outside_the_repo(installed):
    python, home = installed
    model = home / "gmm.vmp"
    model.write_text((ROOT / "models" / "gmm.vmp").read_text())
    # (the module via sys.modules: vmpdsl.language.parse is also the name of the function)
    where = _run([python, "-c", "import sys, vmpdsl.language; "
                  "print(sys.modules['vmpdsl.language.parse'].__file__)"], cwd=home)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout and str(home) in where.stdout
    script = python.parent / ("vmpdsl.exe" if sys.platform == "win32" else "vmpdsl")
    done = _run([script, "check", model], cwd=home)
    assert done.returncode == 0, done.stderr
    assert "model gmm" in done.stdout and "Wishart" in done.stdout
    bad = home / "bad.vmp"
    bad.write_text("dim N\nmu ~ Gama(1.0, 1.0)\n")
    done = _run([script, "check", bad], cwd=home)
    assert done.returncode == 2 and "did you mean Gamma?" in done.stderr
