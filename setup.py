"""Build step that pyproject.toml cannot declare: the notebooks and the stored benchmark
results travel inside the wheel as package data (``fer_kit/_data/``), so an installed kit
finds them with importlib.resources whatever layout pip chose (a virtual environment,
``--user``, ``--target DIR``, ``--prefix``). In a source checkout the kit reads
``notebooks/`` and ``benchmarks/results/`` directly (fer_kit/resources.py).
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: (folder in the checkout, glob, folder inside the package)
PACKAGE_DATA = [("notebooks", "[0-9][0-9]_*.ipynb", "_data/notebooks"),
                ("benchmarks/results", "*", "_data/results")]


class BuildWithData(build_py):
    def run(self):
        super().run()
        for src, pattern, dst in PACKAGE_DATA:
            files = sorted(p for p in (ROOT / src).glob(pattern) if p.is_file())
            if not files:
                raise SystemExit(f"setup.py: no {pattern} in {ROOT / src}: an incomplete "
                                 "source tree (MANIFEST.in carries them into an sdist)")
            target = Path(self.build_lib) / "fer_kit" / dst
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                shutil.copyfile(f, target / f.name)


setup(cmdclass={"build_py": BuildWithData})
