"""examples/seed.ipynb: the seed notebook with its class cell replaced by `from recur import
RNN`, executed by nbclient in a fresh kernel, prints the seed's own numbers."""
import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "seed.ipynb"

# As the seed (../shared/seed/notebook.txt) printed them.
SEED_LOSSES = ["9.2975", "5.6213", "0.3721", "0.0429", "0.0329", "0.0289", "0.0255", "0.0227",
               "0.0204", "0.0184"]
SEED_PREDICTIONS = """预测值 y_pred:
 [[ 1.04348767]
 [-0.32104181]
 [ 1.36640077]
 [ 2.98100245]
 [-0.51198748]
 [-0.5150128 ]
 [ 3.06108598]
 [ 1.61297415]
 [-0.94754366]
 [ 1.14039697]]"""


def test_the_seed_notebook_runs_on_recur(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert "class RNN" not in "".join(c.source for c in notebook.cells)
    # The kernel inherits PYTHONPATH, which points at this tree's build of the module.
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(output.get("text", "") for cell in notebook.cells
                      if cell.cell_type == "code" for output in cell.outputs)
    assert "x_data:\n [[ 0.49671415]" in printed
    losses = [line.split("Loss = ")[1] for line in printed.splitlines() if "Loss = " in line]
    assert losses == SEED_LOSSES
    assert SEED_PREDICTIONS in printed
