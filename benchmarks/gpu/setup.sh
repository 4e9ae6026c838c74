# Source this on a JAX/PyTorch GPU machine without TensorFlow or Jupyter (the course GPU
# machines of this project), from the repository root, after carrying the wheels:
#   python3 -m pip download --only-binary=:all: --python-version 3.12 ... -d .whl \
#       keras==3.15.1 papermill nbconvert ipykernel nbclient
# (README, "GPU runs"). It installs them beside the machine's own packages and puts the
# kit on the path; KERAS_BACKEND defaults to jax.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || return 1
export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH JUPYTER_PATH=/tmp/site/share/jupyter
export KERAS_BACKEND=${KERAS_BACKEND:-jax} PYTHONUNBUFFERED=1 MPLBACKEND=Agg
export FER_KIT_CACHE=/tmp/fer_kit_cache FER_KIT_RUNS=/tmp/fer_kit_runs
nvidia-smi -L
