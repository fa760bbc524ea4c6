"""Builds recur's Python module for pip: CMake configures this tree without the program, tests
and benchmarks, builds the _recur target, and the extension lands in the package."""
import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build = pathlib.Path(self.build_temp).resolve() / "cmake"
        package = build / "package"
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DRECUR_BUILD_TESTS=OFF", "-DRECUR_BUILD_BENCH=OFF",
                        f"-DPython3_EXECUTABLE={sys.executable}",
                        f"-DRECUR_PYTHON_DIR={package}"], check=True)
        jobs = os.environ.get("RECUR_JOBS", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build), "--target", "_recur", "-j", jobs],
                       check=True)
        built = next((package / "recur").glob("_recur*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)


setup(ext_modules=[Extension("recur._recur", sources=[])],
      cmdclass={"build_ext": CMakeBuild},
      # Out of the way of the CMake build folder `build` that make uses.
      options={"build": {"build_base": "build/pip"}, "egg_info": {"egg_base": "build/pip"}})
