import pytest, torch

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; none on this machine")

@pytest.fixture(params=['cpu', pytest.param('cuda', marks=cuda)])
def device(request):
    "Every device test runs on the CPU, and on CUDA where it exists."
    return torch.device(request.param)
