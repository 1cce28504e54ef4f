"""One formula, two uses: the compiled NumPy function agrees with the forward operation's adjoint."""
import numpy as np
import pytest

import verify
from verify import ops


@pytest.mark.parametrize("m, n, p", [(4, 4, 2), (5, 3, 3), (6, 9, 1)])
def test_compiled_formulas_are_the_adjoint_of_the_forward(m, n, p):
    rng = np.random.default_rng(m * n * p)
    X, W, b, delta = rng.standard_normal((m, n)), rng.standard_normal((p, p)), 0.3, rng.standard_normal((m - p + 1, n - p + 1))
    V = rng.standard_normal((m, n))
    assert np.isclose(np.sum(verify.formula("t1.dX")(X, W, b, delta) * V), np.sum(delta * ops.correlate_valid(V, W)))
    K = rng.standard_normal((p, p))
    assert np.isclose(np.sum(verify.formula("t1.dW")(X, W, b, delta) * K), np.sum(delta * ops.correlate_valid(X, K)))


def test_forward_operations_run_on_exact_and_complex_arrays():
    X = np.arange(9, dtype=float).reshape(3, 3)
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    exact = ops.conv2d(X.astype(object), W.astype(object), 1)
    assert exact.dtype == object and np.array_equal(exact.astype(float), ops.conv2d(X, W, 1.0))
    assert np.iscomplexobj(ops.conv2d(X + 1e-30j, W, 1.0))
